//! Business calendars: the dates on which their nodes do not run. On such a date a node still
//! gets its instances, but they are dry runs (DataWorks' 空跑): they succeed at their planned
//! time without running the command, so downstream is not held up.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::model::{RunType, parse_date};
use crate::reason::Reason;

/// The most entries (dates and ranges) one calendar holds.
pub const MAX_HOLIDAYS: usize = 1_000;
/// The most calendars a project holds (the list is read whole).
pub const MAX_CALENDARS: u64 = 200;

/// A calendar as people write it and as the API shows it: the body of `POST /calendars` and
/// `PUT /calendars/{name}`, and a `[[calendars]]` table of a definition file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    /// Empty when left out: `PUT /calendars/{name}` takes it from the path.
    #[serde(default)]
    pub name: String,
    /// The dates on which its nodes do not run: a date, or a range of dates (both ends in).
    #[serde(default)]
    pub holidays: Vec<Holiday>,
}

/// One entry of a calendar: `"2026-10-01"`, or `{ from = "2026-10-01", to = "2026-10-07" }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holiday {
    Day(NaiveDate),
    Range { from: NaiveDate, to: NaiveDate },
}

/// In date order: by first day, then by last.
impl Ord for Holiday {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.first(), self.last()).cmp(&(other.first(), other.last()))
    }
}

impl PartialOrd for Holiday {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Holiday {
    pub fn first(self) -> NaiveDate {
        match self {
            Holiday::Day(day) | Holiday::Range { from: day, .. } => day,
        }
    }

    pub fn last(self) -> NaiveDate {
        match self {
            Holiday::Day(day) | Holiday::Range { to: day, .. } => day,
        }
    }

    pub fn contains(self, date: NaiveDate) -> bool {
        self.first() <= date && date <= self.last()
    }

    /// `2026-10-01`, or `2026-10-01..2026-10-07` (the form's text, one per line).
    pub fn to_text(self) -> String {
        match self {
            Holiday::Day(day) => day.to_string(),
            Holiday::Range { from, to } => format!("{from}..{to}"),
        }
    }

    /// Reads one line of the form's text (the inverse of [`Holiday::to_text`]).
    pub fn from_text(text: &str) -> Result<Holiday, AppError> {
        match text.trim().split_once("..") {
            None => Ok(Holiday::Day(parse_date("holidays", text.trim())?)),
            Some((from, to)) => Holiday::range(
                parse_date("holidays", from.trim())?,
                parse_date("holidays", to.trim())?,
            ),
        }
    }

    /// A range, refused when it ends before it starts; a range of one day is that day.
    pub fn range(from: NaiveDate, to: NaiveDate) -> Result<Holiday, AppError> {
        if to < from {
            return Err(AppError::because(Reason::FromAfterTo {
                from: from.to_string(),
                to: to.to_string(),
            })
            .on_field("holidays"));
        }
        Ok(if from == to { Holiday::Day(from) } else { Holiday::Range { from, to } })
    }
}

impl Calendar {
    /// As it is stored: the entries in date order, each once (a range of one day as that
    /// day). The name is kept as sent (the form trims what people type).
    pub fn normalized(mut self) -> Calendar {
        for holiday in &mut self.holidays {
            if let Holiday::Range { from, to } = *holiday
                && from == to
            {
                *holiday = Holiday::Day(from);
            }
        }
        self.holidays.sort();
        self.holidays.dedup();
        self
    }

    /// Everything that can be checked on its own (the dates were checked as they were read).
    pub fn check(&self) -> Result<(), AppError> {
        if !crate::text::is_name(&self.name) {
            return Err(AppError::because(Reason::NotValid {
                what: "name".into(),
                value: self.name.clone(),
            })
            .on_field("name"));
        }
        if self.holidays.len() > MAX_HOLIDAYS {
            return Err(AppError::because(Reason::TooManyHolidays { max: MAX_HOLIDAYS }));
        }
        self.holidays.iter().try_for_each(|h| Holiday::range(h.first(), h.last()).map(|_| ()))
    }

    /// Whether its nodes do not run on `date`.
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holidays.iter().any(|h| h.contains(date))
    }

    /// The entries as the form's text: one per line.
    pub fn holidays_text(&self) -> String {
        self.holidays.iter().map(|h| h.to_text()).collect::<Vec<_>>().join("\n")
    }

    /// Reads the form's text: one date or `from..to` per line, blank lines ignored.
    pub fn holidays_from_text(text: &str) -> Result<Vec<Holiday>, AppError> {
        text.lines().filter(|l| !l.trim().is_empty()).map(Holiday::from_text).collect()
    }
}

/// Whether an instance of `run_type` made for `run_date` is a dry run: the run date is a
/// holiday of its node's calendar. Tests always run their command: a person asked for them.
pub fn dry_run(run_type: RunType, calendar: Option<&Calendar>, run_date: NaiveDate) -> bool {
    run_type != RunType::Test && calendar.is_some_and(|c| c.is_holiday(run_date))
}

const HOLIDAY_EXPECTED: &str =
    "a date \"YYYY-MM-DD\" or a range {\"from\": \"YYYY-MM-DD\", \"to\": \"YYYY-MM-DD\"}";

impl Serialize for Holiday {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        match self {
            Holiday::Day(day) => serializer.serialize_str(&day.to_string()),
            Holiday::Range { from, to } => {
                let mut range = serializer.serialize_struct("Range", 2)?;
                range.serialize_field("from", &from.to_string())?;
                range.serialize_field("to", &to.to_string())?;
                range.end()
            }
        }
    }
}

/// A date of a holiday entry: a string, or a TOML date written without quotes.
struct DateText(NaiveDate);

impl<'de> Deserialize<'de> for DateText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = DateText;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a date \"YYYY-MM-DD\"")
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
                date_of(value).map(DateText)
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                match map.next_key::<String>()? {
                    Some(key) if key == TOML_DATE_KEY => {
                        date_of(&map.next_value::<String>()?).map(DateText)
                    }
                    _ => Err(serde::de::Error::custom("expected a date \"YYYY-MM-DD\"")),
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

fn date_of<E: serde::de::Error>(value: &str) -> Result<NaiveDate, E> {
    parse_date("holidays", value).map_err(|e| E::custom(e.message))
}

/// The toml crate hands a bare date (`2026-10-01` without quotes) to a visitor as a map of one
/// private key: read it as the date it is.
const TOML_DATE_KEY: &str = "$__toml_private_datetime";

impl<'de> Deserialize<'de> for Holiday {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Holiday;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(HOLIDAY_EXPECTED)
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
                date_of(value).map(Holiday::Day)
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                use serde::de::Error;
                let (mut from, mut to) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        TOML_DATE_KEY => {
                            let text: String = map.next_value()?;
                            return date_of(&text).map(Holiday::Day);
                        }
                        "from" if from.is_none() => from = Some(map.next_value::<DateText>()?.0),
                        "to" if to.is_none() => to = Some(map.next_value::<DateText>()?.0),
                        "from" | "to" => return Err(A::Error::duplicate_field("from or to")),
                        other => return Err(A::Error::unknown_field(other, &["from", "to"])),
                    }
                }
                // Its order is checked with the rest ([`Calendar::check`]).
                match (from, to) {
                    (Some(from), Some(to)) => Ok(Holiday::Range { from, to }),
                    (None, _) => Err(A::Error::missing_field("from")),
                    (_, None) => Err(A::Error::missing_field("to")),
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn holidays_read_as_dates_and_ranges() {
        let calendar: Calendar = serde_json::from_str(
            r#"{"name": "cn", "holidays": ["2026-10-08", {"from": "2026-10-01", "to": "2026-10-07"}, "2026-10-08"]}"#,
        )
        .unwrap();
        let calendar = calendar.normalized();
        assert_eq!(
            calendar.holidays,
            [
                Holiday::Range { from: day("2026-10-01"), to: day("2026-10-07") },
                Holiday::Day(day("2026-10-08"))
            ]
        );
        assert!(calendar.is_holiday(day("2026-10-01")));
        assert!(calendar.is_holiday(day("2026-10-07")));
        assert!(calendar.is_holiday(day("2026-10-08")));
        assert!(!calendar.is_holiday(day("2026-10-09")));
        assert!(!calendar.is_holiday(day("2026-09-30")));
        let back = serde_json::to_value(&calendar).unwrap();
        assert_eq!(
            back,
            serde_json::json!({"name": "cn", "holidays": [
                {"from": "2026-10-01", "to": "2026-10-07"}, "2026-10-08"]})
        );
    }

    #[test]
    fn malformed_holidays_are_refused_with_what_is_wrong() {
        let refused = |body: &str| serde_json::from_str::<Calendar>(body).unwrap_err().to_string();
        for (body, words) in [
            (r#"{"name": "c", "holidays": ["2026-02-30"]}"#, "not a date"),
            (r#"{"name": "c", "holidays": ["2026-1-1"]}"#, "not a date"),
            (r#"{"name": "c", "holidays": [20260101]}"#, "a date"),
            (r#"{"name": "c", "holidays": [null]}"#, "a date"),
            (r#"{"name": "c", "holidays": [{"from": "2026-10-07"}]}"#, "missing field `to`"),
            (
                r#"{"name": "c", "holidays": [{"from": "2026-10-07", "till": "x"}]}"#,
                "unknown field",
            ),
            (r#"{"name": "c", "holidays": "2026-10-01"}"#, "sequence"),
            (r#"{"name": "c", "days": []}"#, "unknown field"),
        ] {
            let message = refused(body);
            assert!(message.contains(words), "{body}: {message}");
        }
        let long = Calendar {
            name: "c".into(),
            holidays: (0..=MAX_HOLIDAYS as i64)
                .map(|k| Holiday::Day(day("2026-01-01") + chrono::Duration::days(k)))
                .collect(),
        };
        assert!(long.check().is_err());
        let backwards: Calendar = serde_json::from_str(
            r#"{"name": "c", "holidays": [{"from": "2026-10-07", "to": "2026-10-01"}]}"#,
        )
        .unwrap();
        let refusal = backwards.normalized().check().unwrap_err();
        assert_eq!(refusal.field.as_deref(), Some("holidays"));
        assert!(matches!(refusal.reason.as_deref(), Some(Reason::FromAfterTo { .. })));
        assert!(Calendar { name: "a b".into(), holidays: vec![] }.check().is_err());
    }

    #[test]
    fn the_form_text_reads_back_what_it_shows() {
        let holidays =
            Calendar::holidays_from_text("2026-10-01..2026-10-07\n\n 2026-12-25 \n").unwrap();
        let calendar = Calendar { name: "c".into(), holidays };
        assert_eq!(calendar.holidays_text(), "2026-10-01..2026-10-07\n2026-12-25");
        assert!(Calendar::holidays_from_text("2026-10-07..2026-10-01").is_err());
        assert!(Calendar::holidays_from_text("tomorrow").is_err());
        assert_eq!(
            Calendar::holidays_from_text("2026-10-01..2026-10-01").unwrap(),
            [Holiday::Day(day("2026-10-01"))]
        );
    }

    #[test]
    fn only_cycle_and_backfill_instances_of_a_holiday_are_dry_runs() {
        let calendar =
            Calendar { name: "c".into(), holidays: vec![Holiday::Day(day("2026-10-01"))] };
        let holiday = day("2026-10-01");
        assert!(dry_run(RunType::Cycle, Some(&calendar), holiday));
        assert!(dry_run(RunType::Backfill, Some(&calendar), holiday));
        assert!(!dry_run(RunType::Test, Some(&calendar), holiday));
        assert!(!dry_run(RunType::Cycle, Some(&calendar), day("2026-10-02")));
        assert!(!dry_run(RunType::Cycle, None, holiday));
    }
}
