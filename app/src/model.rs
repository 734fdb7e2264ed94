//! Typed models shared by the server and the browser. Everything here is wasm-safe: no I/O, no
//! clock, no database.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::i18n::{Locale, td_string};
use crate::reason::Reason;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = AppError;
            fn from_str(s: &str) -> Result<Self, AppError> {
                s.parse::<i64>().map($name).map_err(|_| {
                    AppError::bad_request(format!("'{s}' is not a valid {}", stringify!($name)))
                })
            }
        }
    };
}

id_type!(
    /// One run of one node for one planned time.
    InstanceId
);
id_type!(
    /// A node definition.
    NodeId
);

/// Where an instance is in its life. `Stopped` (killed by a person) counts as failed for every
/// operation rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum InstanceState {
    NotRun,
    #[serde(rename = "waiting_time")]
    WaitingTime,
    #[serde(rename = "waiting_resources")]
    WaitingResources,
    Running,
    Success,
    Failed,
    Stopped,
}

impl InstanceState {
    pub const ALL: [InstanceState; 7] = [
        InstanceState::NotRun,
        InstanceState::WaitingTime,
        InstanceState::WaitingResources,
        InstanceState::Running,
        InstanceState::Success,
        InstanceState::Failed,
        InstanceState::Stopped,
    ];

    /// The name used in JSON, URLs and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::NotRun => "not_run",
            InstanceState::WaitingTime => "waiting_time",
            InstanceState::WaitingResources => "waiting_resources",
            InstanceState::Running => "running",
            InstanceState::Success => "success",
            InstanceState::Failed => "failed",
            InstanceState::Stopped => "stopped",
        }
    }

    /// The words people read, in their language (the seed's terms in Chinese).
    pub fn label(self, locale: Locale) -> &'static str {
        match self {
            InstanceState::NotRun => td_string!(locale, common.state.not_run),
            InstanceState::WaitingTime => td_string!(locale, common.state.waiting_time),
            InstanceState::WaitingResources => td_string!(locale, common.state.waiting_resources),
            InstanceState::Running => td_string!(locale, common.state.running),
            InstanceState::Success => td_string!(locale, common.state.success),
            InstanceState::Failed => td_string!(locale, common.state.failed),
            InstanceState::Stopped => td_string!(locale, common.state.stopped),
        }
    }

    /// Failed or manually stopped: the seed treats both alike in every rule, and the UI counts
    /// and filters them together.
    pub const FAILURES: [InstanceState; 2] = [InstanceState::Failed, InstanceState::Stopped];

    pub fn is_failure(self) -> bool {
        InstanceState::FAILURES.contains(&self)
    }
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InstanceState {
    type Err = AppError;
    fn from_str(s: &str) -> Result<Self, AppError> {
        InstanceState::ALL.into_iter().find(|state| state.as_str() == s).ok_or_else(|| {
            AppError::because(Reason::UnknownState {
                value: s.to_string(),
                expected: InstanceState::ALL.map(InstanceState::as_str).join(", "),
            })
        })
    }
}

/// Why an instance exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum RunType {
    /// Made by the nightly snapshot.
    Cycle,
    /// A smoke test started by a person.
    Test,
    /// Backfill of past business dates.
    Backfill,
}

impl RunType {
    pub const ALL: [RunType; 3] = [RunType::Cycle, RunType::Test, RunType::Backfill];

    /// Dispatch order among instances waiting for the same slots: lower goes first, so
    /// production (cycle) work is never starved by tests or backfills.
    pub fn priority(self) -> i64 {
        match self {
            RunType::Cycle => 0,
            RunType::Test => 5,
            RunType::Backfill => 10,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunType::Cycle => "cycle",
            RunType::Test => "test",
            RunType::Backfill => "backfill",
        }
    }
}

impl RunType {
    /// The words people read, in their language.
    pub fn label(self, locale: Locale) -> &'static str {
        match self {
            RunType::Cycle => td_string!(locale, common.run_type.cycle),
            RunType::Test => td_string!(locale, common.run_type.test),
            RunType::Backfill => td_string!(locale, common.run_type.backfill),
        }
    }
}

impl fmt::Display for RunType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunType {
    type Err = AppError;
    fn from_str(s: &str) -> Result<Self, AppError> {
        RunType::ALL.into_iter().find(|run_type| run_type.as_str() == s).ok_or_else(|| {
            AppError::bad_request(format!(
                "unknown run_type '{s}' (expected cycle, test or backfill)"
            ))
        })
    }
}

/// The date the data belongs to: the run date minus one day.
pub fn bizdate_of(run_date: NaiveDate) -> NaiveDate {
    run_date.pred_opt().unwrap_or(run_date)
}

/// The first and last year a date people give may be in.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2999;

/// Parses a `YYYY-MM-DD` date given by a person (in [`YEARS`]), naming the field on error.
pub fn parse_date(field: &str, value: &str) -> Result<NaiveDate, AppError> {
    // By hand: chrono's format parser would add weight to the browser bundle.
    let parts: Vec<&str> = value.split('-').collect();
    let date = match parts.as_slice() {
        [y, m, d]
            if y.len() == 4
                && m.len() == 2
                && d.len() == 2
                && [y, m, d].iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())) =>
        {
            match (y.parse::<i32>(), m.parse::<u32>(), d.parse::<u32>()) {
                (Ok(y), Ok(m), Ok(d)) => NaiveDate::from_ymd_opt(y, m, d),
                _ => None,
            }
        }
        _ => None,
    };
    let date = date.ok_or_else(|| {
        AppError::because(Reason::BadDate { field: field.to_string(), value: value.to_string() })
    })?;
    if !YEARS.contains(&chrono::Datelike::year(&date)) {
        return Err(AppError::because(Reason::DateOutOfRange {
            field: field.to_string(),
            value: value.to_string(),
            from: *YEARS.start(),
            to: *YEARS.end(),
        }));
    }
    Ok(date)
}

/// One instance as the API and the UI see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub id: InstanceId,
    pub node: String,
    pub workflow: String,
    pub owner: String,
    pub state: InstanceState,
    pub paused: bool,
    pub run_type: RunType,
    pub bizdate: NaiveDate,
    pub run_date: NaiveDate,
    pub planned_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// How many times it has been started (0 before the first run).
    pub attempt: i32,
    pub exit_code: Option<i32>,
    pub host: Option<String>,
    pub resource_group: String,
    /// The last thing the engine had to say about it (why it failed, what it waits for).
    pub reason: Option<String>,
    /// The version of its node's definition it was made from (unknown for instances made
    /// before versions were kept).
    #[serde(default)]
    pub definition_version: Option<u32>,
    /// Made on a holiday of its node's business calendar: it succeeds at its planned time
    /// without running the command.
    #[serde(default)]
    pub dry_run: bool,
}

/// One start of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub exit_code: Option<i32>,
    pub host: String,
    pub pid: Option<i64>,
    pub log_path: String,
    pub outcome: Option<String>,
    pub reason: Option<String>,
}

/// A past run of the same node, for the duration chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPoint {
    pub id: InstanceId,
    pub bizdate: NaiveDate,
    pub run_type: RunType,
    pub state: InstanceState,
    pub started_at: DateTime<Utc>,
    /// Milliseconds from start to end; `None` while it runs.
    pub millis: Option<i64>,
}

impl crate::lang::Localize for InstanceDetail {
    /// The sentences in `locale`; the facts stay on the server.
    fn localize(mut self, locale: Locale) -> Self {
        self.waiting_for = self.waiting.iter().map(|w| w.describe(locale)).collect();
        self.waiting.clear();
        self
    }
}

/// Everything the detail page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceDetail {
    pub instance: Instance,
    pub attempts: Vec<Attempt>,
    /// "Why isn't it running?": one English sentence per thing it waits for (empty once it
    /// started)…
    pub waiting_for: Vec<String>,
    /// …and the same as facts (server functions put them into the page's language instead).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(not(feature = "ssr"), serde(skip_deserializing))]
    pub waiting: Vec<crate::waiting::Waiting>,
    /// The node's recent runs, newest first.
    pub history: Vec<HistoryPoint>,
    pub upstream: Vec<Instance>,
    pub downstream: Vec<Instance>,
}

/// Which piece of which attempt's log to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRequest {
    /// The attempt; the latest when left out.
    pub attempt: Option<i32>,
    /// The byte to start at.
    pub offset: u64,
}

/// A piece of an attempt's log, for live tailing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogChunk {
    /// 0 when the instance has no attempt yet.
    pub attempt: i32,
    pub text: String,
    /// Where the next chunk starts.
    pub next_offset: u64,
    /// The attempt has ended and everything was read.
    pub done: bool,
}

/// Filters of the instance list. Every field narrows the list; empty means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceFilter {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub state: Vec<InstanceState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Substring of the node name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_type: Option<RunType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bizdate: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_date: Option<NaiveDate>,
    /// The test or backfill job that made them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<i64>,
}

/// The most rows one page may hold.
pub const MAX_PAGE_SIZE: u32 = 500;
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// Keyset paging: `cursor` is the opaque `next_cursor` of the previous page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl PageRequest {
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE)
    }

    /// The instance id the next page starts below (lists are newest first).
    pub fn before_id(&self) -> Result<Option<InstanceId>, AppError> {
        match self.cursor.as_deref() {
            None | Some("") => Ok(None),
            Some(cursor) => cursor
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .map(|id| Some(InstanceId(id)))
                .ok_or_else(|| AppError::because(Reason::BadCursor { value: cursor.to_string() })),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstancePage {
    pub items: Vec<Instance>,
    pub next_cursor: Option<String>,
}

/// The most descendants the checked-downstream dialog lists, and so the most instances one
/// "rerun downstream" may check.
pub const MAX_DESCENDANTS: u32 = 5_000;

/// The instances downstream of one (`GET /instances/{id}/descendants`), at most
/// [`MAX_DESCENDANTS`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Descendants {
    pub items: Vec<Instance>,
    /// Some were left out.
    pub truncated: bool,
}

/// A query pair's value, or `None` when it is empty: an empty form field means "not given".
/// Anything else is read exactly as sent (` 5` is not a number, a lone space or U+0085 is not
/// blank), so the API accepts what its schema says and nothing more. The pages trim what people
/// type before it reaches a URL.
pub fn given(value: &str) -> Option<&str> {
    (!value.is_empty()).then_some(value)
}

/// A positive whole number of a query (an id, a job, a cursor), or its refusal naming `what`.
pub fn positive_number(what: &str, value: &str) -> Result<i64, AppError> {
    value.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
        AppError::because(Reason::NotValid { what: what.to_string(), value: value.to_string() })
    })
}

/// A page size of a query: 1 to [`MAX_PAGE_SIZE`].
/// A page size given as a number (a JSON field or a typed query): within 1 to the maximum, or
/// the default when left out.
pub fn page_size(limit: Option<u32>) -> Result<u32, AppError> {
    match limit {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(limit) => page_limit(&limit.to_string()),
    }
}

pub fn page_limit(value: &str) -> Result<u32, AppError> {
    value.parse::<u32>().ok().filter(|l| (1..=MAX_PAGE_SIZE).contains(l)).ok_or_else(|| {
        AppError::because(Reason::BadLimit { value: value.to_string(), max: MAX_PAGE_SIZE })
    })
}

impl InstanceFilter {
    /// Reads the filter and paging from URL query pairs (`state=failed,running&owner=...`).
    /// Unknown keys are refused so a typo does not silently widen the list.
    pub fn from_query<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(InstanceFilter, PageRequest), AppError> {
        let mut filter = InstanceFilter::default();
        let mut page = PageRequest::default();
        for (key, value) in pairs {
            let Some(value) = given(value) else {
                continue;
            };
            match key {
                // `any` says "every state" explicitly (a URL with no filter at all gets the
                // default view instead).
                "state" if value == ANY_STATE => filter.state.clear(),
                "state" => {
                    for part in value.split(',').filter(|p| !p.trim().is_empty()) {
                        let state: InstanceState = part.trim().parse()?;
                        if !filter.state.contains(&state) {
                            filter.state.push(state);
                        }
                    }
                }
                "owner" => filter.owner = Some(value.to_string()),
                "node" => filter.node = Some(value.to_string()),
                "workflow" => filter.workflow = Some(value.to_string()),
                "run_type" => filter.run_type = Some(value.parse()?),
                "bizdate" => filter.bizdate = Some(parse_date("bizdate", value)?),
                "run_date" => filter.run_date = Some(parse_date("run_date", value)?),
                "job" => filter.job = Some(positive_number("job", value)?),
                "limit" => page.limit = Some(page_limit(value)?),
                "cursor" => page.cursor = Some(value.to_string()),
                other => {
                    return Err(AppError::because(Reason::UnknownFilter {
                        key: other.to_string(),
                        expected: "state, owner, node, workflow, run_type, bizdate, run_date, \
                                   job, limit, cursor"
                            .into(),
                    }));
                }
            }
        }
        page.before_id()?;
        Ok((filter, page))
    }
}

/// The `state` value meaning "every state".
pub const ANY_STATE: &str = "any";

impl InstanceFilter {
    /// The filter as URL query pairs, the inverse of [`InstanceFilter::from_query`]. `state` is
    /// always there (`any` for every state), so a filtered URL is never empty.
    pub fn to_query_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if self.state.is_empty() {
            pairs.push(("state", ANY_STATE.to_string()));
        } else {
            let states: Vec<&str> = self.state.iter().map(|s| s.as_str()).collect();
            pairs.push(("state", states.join(",")));
        }
        let text = [("owner", &self.owner), ("node", &self.node), ("workflow", &self.workflow)];
        for (key, value) in text {
            if let Some(value) = value {
                pairs.push((key, value.clone()));
            }
        }
        if let Some(run_type) = self.run_type {
            pairs.push(("run_type", run_type.as_str().to_string()));
        }
        if let Some(date) = self.bizdate {
            pairs.push(("bizdate", date.to_string()));
        }
        if let Some(date) = self.run_date {
            pairs.push(("run_date", date.to_string()));
        }
        if let Some(job) = self.job {
            pairs.push(("job", job.to_string()));
        }
        pairs
    }
}

impl InstanceFilter {
    /// `?state=...&owner=...`, URL-encoded.
    pub fn to_query_string(&self) -> String {
        let pairs: Vec<String> = self
            .to_query_pairs()
            .into_iter()
            .map(|(k, v)| format!("{k}={}", url_encode(&v)))
            .collect();
        format!("?{}", pairs.join("&"))
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters and `,` stay as they are).
pub fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Counts per state for the statistics bar; `total` is their sum.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateCounts {
    pub total: u64,
    pub not_run: u64,
    pub waiting_time: u64,
    pub waiting_resources: u64,
    pub running: u64,
    pub success: u64,
    pub failed: u64,
    pub stopped: u64,
}

impl StateCounts {
    pub fn add(&mut self, state: InstanceState, count: u64) {
        let slot = match state {
            InstanceState::NotRun => &mut self.not_run,
            InstanceState::WaitingTime => &mut self.waiting_time,
            InstanceState::WaitingResources => &mut self.waiting_resources,
            InstanceState::Running => &mut self.running,
            InstanceState::Success => &mut self.success,
            InstanceState::Failed => &mut self.failed,
            InstanceState::Stopped => &mut self.stopped,
        };
        *slot += count;
        self.total += count;
    }

    pub fn get(&self, state: InstanceState) -> u64 {
        match state {
            InstanceState::NotRun => self.not_run,
            InstanceState::WaitingTime => self.waiting_time,
            InstanceState::WaitingResources => self.waiting_resources,
            InstanceState::Running => self.running,
            InstanceState::Success => self.success,
            InstanceState::Failed => self.failed,
            InstanceState::Stopped => self.stopped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_serialize_with_their_api_names() {
        for state in InstanceState::ALL {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
            assert_eq!(state.as_str().parse::<InstanceState>().unwrap(), state);
        }
        assert!("done".parse::<InstanceState>().is_err());
    }

    #[test]
    fn query_parses_every_filter_and_refuses_bad_input() {
        let (filter, page) = InstanceFilter::from_query([
            ("state", "failed,running"),
            ("owner", "alice"),
            ("bizdate", "2026-11-23"),
            ("run_type", "cycle"),
            ("limit", "20"),
            ("cursor", "1234"),
        ])
        .unwrap();
        assert_eq!(filter.state, vec![InstanceState::Failed, InstanceState::Running]);
        assert_eq!(filter.owner.as_deref(), Some("alice"));
        assert_eq!(filter.bizdate, NaiveDate::from_ymd_opt(2026, 11, 23));
        assert_eq!(filter.run_type, Some(RunType::Cycle));
        assert_eq!(page.limit(), 20);
        assert_eq!(page.before_id().unwrap(), Some(InstanceId(1234)));

        let pairs = filter.to_query_pairs();
        let round_trip =
            InstanceFilter::from_query(pairs.iter().map(|(k, v)| (*k, v.as_str()))).unwrap();
        assert_eq!(round_trip.0, filter);

        let every = InstanceFilter::default();
        assert_eq!(every.to_query_string(), "?state=any");
        let (parsed, _) = InstanceFilter::from_query([("state", "any")]).unwrap();
        assert_eq!(parsed, every);
        let spaced = InstanceFilter { node: Some("a b&c".into()), ..Default::default() };
        assert_eq!(spaced.to_query_string(), "?state=any&node=a%20b%26c");

        for (key, value, needle) in [
            ("state", "done", "unknown state 'done'"),
            ("bizdate", "2026-13-01", "YYYY-MM-DD"),
            ("run_date", "yesterday", "YYYY-MM-DD"),
            ("run_type", "adhoc", "unknown run_type"),
            ("limit", "0", "limit '0'"),
            ("limit", "100000", "limit '100000'"),
            ("cursor", "abc", "cursor 'abc'"),
            ("colour", "red", "unknown filter 'colour'"),
            // Only an empty value counts as left out: the fuzzer sent U+0085 (which `trim`
            // removes) as a limit and got a page; a space or a padded number is refused too.
            ("limit", "\u{85}", "limit '\u{85}'"),
            ("limit", " ", "limit ' '"),
            ("limit", " 5", "limit ' 5'"),
            ("bizdate", " 2026-11-30", "YYYY-MM-DD"),
        ] {
            let err = InstanceFilter::from_query([(key, value)]).unwrap_err();
            assert!(err.message.contains(needle), "{key}={value}: {}", err.message);
        }
    }

    #[test]
    fn dates_are_strict_yyyy_mm_dd() {
        assert_eq!(
            parse_date("d", "2026-02-28").unwrap(),
            NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
        );
        for bad in [
            "2026-02-30",
            "2026-2-28",
            "26-02-28",
            "2026/02/28",
            "",
            "2026-02-28x",
            "+026-02-28",
            " 2026-02-28",
        ] {
            assert!(parse_date("d", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bizdate_is_the_day_before_the_run_date() {
        let run = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(bizdate_of(run), NaiveDate::from_ymd_opt(2026, 2, 28).unwrap());
    }
}
