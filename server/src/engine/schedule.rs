//! Cron schedules: parsing (standard 5 fields or an `@daily`-style alias) and the fire times of
//! one run date in the configured time zone. Parsing is `croner`'s; this module only adds the
//! day window and the refusal of 6-field (seconds) expressions.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;

/// More fires than this on one day is refused (one per minute is the most cron can say anyway).
const MAX_FIRES_PER_DAY: usize = 24 * 60;

#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
}

impl Schedule {
    /// Parses a 5-field cron expression (`30 0 * * *`) or an alias (`@daily`, `@hourly`,
    /// `@weekly`, `@monthly`). The error says what is wrong in words.
    pub fn parse(expr: &str) -> Result<Schedule, String> {
        let expr = expr.trim();
        if expr.is_empty() {
            return Err("the schedule is empty".to_string());
        }
        let fields = expr.split_whitespace().count();
        if !expr.starts_with('@') && fields != 5 {
            return Err(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), found {fields}"
            ));
        }
        let cron = Cron::new(expr).parse().map_err(|e| e.to_string())?;
        Ok(Schedule { cron })
    }

    /// Refuses a schedule that never fires (`0 0 31 2 *`): planning it would search thousands
    /// of years for nothing. Every schedule that fires at all fires within 8 years (a leap day
    /// within 4, a weekday of a month within 7).
    pub fn check_fires(&self) -> Result<(), String> {
        let start = Utc.with_ymd_and_hms(2001, 1, 1, 0, 0, 0).single().expect("a valid time");
        match self.cron.find_next_occurrence(&start, true) {
            Ok(at) if at < start + Duration::days(8 * 366) => Ok(()),
            _ => Err("it never fires".to_string()),
        }
    }

    /// The shortest time between two of its fire times (looking at the first hundred, which
    /// hold every gap a cron expression has).
    pub fn shortest_gap(&self) -> Option<Duration> {
        let start = Utc.with_ymd_and_hms(2001, 1, 1, 0, 0, 0).single().expect("a valid time");
        let fires: Vec<DateTime<Utc>> = self.cron.iter_from(start).take(100).collect();
        fires.windows(2).map(|pair| pair[1] - pair[0]).min()
    }

    /// Every fire time on `run_date` (local midnight to midnight in `tz`), in order, as UTC.
    pub fn fire_times_on(&self, run_date: NaiveDate, tz: Tz) -> Vec<DateTime<Utc>> {
        let start = local_midnight(run_date, tz);
        let end = local_midnight(run_date + Duration::days(1), tz);
        self.cron
            .iter_from(start.with_timezone(&tz))
            .take_while(|at| at.with_timezone(&Utc) < end)
            .take(MAX_FIRES_PER_DAY)
            .map(|at| at.with_timezone(&Utc))
            .collect()
    }
}

/// The first instant of `date` in `tz` (a day that starts in a DST gap starts at the gap's end).
pub fn local_midnight(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    match tz.from_local_datetime(&midnight).earliest() {
        Some(at) => at.with_timezone(&Utc),
        None => tz
            .from_local_datetime(&(midnight + Duration::hours(1)))
            .earliest()
            .map(|at| at.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&midnight)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn daily_fires_once_at_its_local_time() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let times = Schedule::parse("30 0 * * *").unwrap().fire_times_on(date("2026-11-25"), tz);
        assert_eq!(times.len(), 1);
        // 00:30 in Shanghai is 16:30 UTC the day before.
        assert_eq!(times[0].to_rfc3339(), "2026-11-24T16:30:00+00:00");
    }

    #[test]
    fn hourly_fires_24_times() {
        let times =
            Schedule::parse("0 * * * *").unwrap().fire_times_on(date("2026-11-25"), Tz::UTC);
        assert_eq!(times.len(), 24);
        assert_eq!(times[23].to_rfc3339(), "2026-11-25T23:00:00+00:00");
    }

    #[test]
    fn weekly_fires_only_on_its_day() {
        let weekly = Schedule::parse("0 6 * * 1").unwrap(); // Mondays
        assert_eq!(weekly.fire_times_on(date("2026-11-23"), Tz::UTC).len(), 1);
        assert_eq!(weekly.fire_times_on(date("2026-11-24"), Tz::UTC).len(), 0);
        assert_eq!(
            Schedule::parse("@daily").unwrap().fire_times_on(date("2026-11-24"), Tz::UTC).len(),
            1
        );
    }

    #[test]
    fn dst_days_have_their_real_number_of_hours() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let hourly = Schedule::parse("0 * * * *").unwrap();
        assert_eq!(hourly.fire_times_on(date("2026-03-29"), tz).len(), 23);
        assert_eq!(hourly.fire_times_on(date("2026-10-25"), tz).len(), 24);
    }

    #[test]
    fn bad_expressions_are_refused_with_a_reason() {
        for bad in ["", "* * * *", "0 0 0 * * *", "61 * * * *", "0 25 * * *", "every day"] {
            assert!(Schedule::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
