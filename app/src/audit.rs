//! The audit trail as people and scripts read it: who did what to which instances, when, with
//! which result.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::model::InstanceId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    /// `kill`, `rerun`, `batch_rerun`, `login`, `user.add`, …
    pub action: String,
    pub dry_run: bool,
    /// `ok`, `partial` or `refused`.
    pub outcome: String,
    pub message: Option<String>,
    /// How many instances the request named, and how many changed.
    pub requested: i64,
    pub changed: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub items: Vec<AuditRecord>,
    pub next_cursor: Option<String>,
}

/// One instance's result within an audit entry: `ok` or the reason it was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditResult {
    pub instance_id: InstanceId,
    pub result: String,
}

/// An entry with its per-instance results (`GET /api/v1/audit/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditDetail {
    #[serde(flatten)]
    pub entry: AuditRecord,
    pub instances: Vec<AuditResult>,
}

/// Filters of the audit trail; newest first, keyset paged by id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<InstanceId>,
    /// `ok`, `partial` or `refused`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The id the previous page ended with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
}

pub const OUTCOMES: [&str; 3] = ["ok", "partial", "refused"];

/// Every action the trail records, for the audit page's filter.
pub const ACTIONS: [&str; 14] = [
    "kill",
    "rerun",
    "set_success",
    "pause",
    "resume",
    "rerun_downstream",
    "batch_kill",
    "batch_rerun",
    "login",
    "logout",
    "user.add",
    "user.change",
    "token.create",
    "token.revoke",
];

impl AuditQuery {
    /// Reads `actor`, `action`, `instance`, `outcome`, `limit` and `cursor` from query pairs
    /// (the REST API and the page's URL): the one parser for both.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<AuditQuery, AppError> {
        let mut query = AuditQuery::default();
        for (key, value) in pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let number =
                |what: &str| {
                    value.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                        AppError::bad_request(format!("{what} '{value}' is not valid"))
                    })
                };
            match key {
                "actor" => query.actor = Some(value.to_string()),
                "action" => query.action = Some(value.to_string()),
                "instance" => query.instance = Some(InstanceId(number("instance")?)),
                "outcome" if OUTCOMES.contains(&value) => query.outcome = Some(value.to_string()),
                "outcome" => {
                    return Err(AppError::bad_request(format!(
                        "outcome '{value}' is not valid (expected ok, partial or refused)"
                    )));
                }
                "limit" => query.limit = Some(number("limit")?.min(u32::MAX as i64) as u32),
                "cursor" => query.before = Some(number("cursor")?),
                other => {
                    return Err(AppError::bad_request(format!(
                        "unknown filter '{other}' (expected actor, action, instance, outcome, \
                         limit, cursor)"
                    )));
                }
            }
        }
        Ok(query)
    }

    /// The filters as query pairs (without paging), for the page's URL.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(actor) = &self.actor {
            pairs.push(("actor", actor.clone()));
        }
        if let Some(action) = &self.action {
            pairs.push(("action", action.clone()));
        }
        if let Some(instance) = self.instance {
            pairs.push(("instance", instance.0.to_string()));
        }
        if let Some(outcome) = &self.outcome {
            pairs.push(("outcome", outcome.clone()));
        }
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_round_trips_through_query_pairs_and_refuses_nonsense() {
        let query = AuditQuery::from_pairs([
            ("actor", "alice"),
            ("action", "kill"),
            ("instance", "42"),
            ("outcome", "refused"),
            ("node_name_left_empty", ""),
        ])
        .unwrap();
        let pairs = query.to_pairs();
        let again = AuditQuery::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str()))).unwrap();
        assert_eq!(again, query);
        for (key, value, message) in [
            ("instance", "x", "instance 'x' is not valid"),
            ("outcome", "maybe", "outcome 'maybe' is not valid"),
            ("cursor", "-1", "cursor '-1' is not valid"),
            ("who", "me", "unknown filter 'who'"),
        ] {
            let error = AuditQuery::from_pairs([(key, value)]).unwrap_err();
            assert!(error.message.starts_with(message), "{}", error.message);
        }
    }
}
