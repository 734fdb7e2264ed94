//! Test runs and backfills: what people ask for and what they get back.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{RunType, StateCounts};

/// The most business dates one backfill may cover.
pub const MAX_BACKFILL_DAYS: i64 = 366;
/// How many dates of a backfill may run at once, at most.
pub const MAX_PARALLELISM: u32 = 10;

/// `POST /api/v1/tests`: a node (or a whole workflow) for one business date, run now without
/// waiting for upstream instances.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    pub bizdate: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateOrder {
    #[default]
    Asc,
    Desc,
}

fn one() -> u32 {
    1
}

/// `POST /api/v1/backfills`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackfillRequest {
    pub node: String,
    /// Descendants of `node` to backfill too ("this node and downstream").
    #[serde(default)]
    pub downstream: Vec<String>,
    /// First and last business date, `YYYY-MM-DD`.
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub order: DateOrder,
    /// How many dates run at once (1 to 10).
    #[serde(default = "one")]
    pub parallelism: u32,
    #[serde(default)]
    pub dry_run: bool,
}

/// How many instances one business date gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatePlan {
    pub bizdate: NaiveDate,
    pub instances: u64,
}

/// What a test or backfill made (or, as a dry run, would make).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobCreated {
    /// `None` for a dry run.
    pub job: Option<i64>,
    pub dry_run: bool,
    pub nodes: Vec<String>,
    pub dates: Vec<DatePlan>,
    pub instances: u64,
    /// The first instances it makes (or would), at most [`FIRST_PAGE`]: what a preview shows
    /// without anything being materialized.
    #[serde(default)]
    pub first: Vec<PlannedInstance>,
    /// Where to see the result in the UI.
    pub url: Option<String>,
}

/// How many planned instances a job's answer lists.
pub const FIRST_PAGE: usize = 50;

/// One instance a test or backfill makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedInstance {
    pub node: String,
    pub bizdate: NaiveDate,
    pub planned_at: DateTime<Utc>,
}

/// A test or backfill job with its progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: i64,
    pub kind: RunType,
    pub root: String,
    pub nodes: Vec<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub order: DateOrder,
    pub parallelism: u32,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub total: u64,
    /// Instances per state.
    pub counts: StateCounts,
}

impl Job {
    pub fn done(&self) -> u64 {
        self.counts.success
    }

    pub fn failed(&self) -> u64 {
        self.counts.failed + self.counts.stopped
    }
}

/// Which jobs to list: one kind, newest first, keyset-paged on the id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobQuery {
    pub kind: RunType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobPage {
    pub items: Vec<Job>,
    pub next_cursor: Option<String>,
}
