//! The audit trail as people and scripts read it: who did what to which instances or
//! definitions, when, with which result.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::model::InstanceId;

/// How a request ended, as the trail records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// Everything named changed (or would, in a dry run).
    Ok,
    /// Some of the named instances were refused, the others changed.
    Partial,
    /// Nothing changed: the request, or every instance it named, was refused.
    Refused,
}

impl AuditOutcome {
    pub const ALL: [AuditOutcome; 3] =
        [AuditOutcome::Ok, AuditOutcome::Partial, AuditOutcome::Refused];

    /// The outcome of a request that named `requested` instances of which `refused` were
    /// refused; a request refused as a whole is refused whatever it named.
    pub fn of(requested: usize, refused: usize, refused_whole: bool) -> AuditOutcome {
        if refused_whole || (requested > 0 && refused == requested) {
            AuditOutcome::Refused
        } else if refused > 0 {
            AuditOutcome::Partial
        } else {
            AuditOutcome::Ok
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Ok => "ok",
            AuditOutcome::Partial => "partial",
            AuditOutcome::Refused => "refused",
        }
    }
}

impl fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditOutcome {
    type Err = AppError;
    fn from_str(s: &str) -> Result<Self, AppError> {
        AuditOutcome::ALL.into_iter().find(|o| o.as_str() == s).ok_or_else(|| {
            AppError::because(crate::reason::Reason::NotValid {
                what: "outcome".into(),
                value: s.to_string(),
            })
        })
    }
}

/// One field a change of definitions changed (`None`: it did not exist before, or no longer
/// does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// `command`, `schedule`, … (prefixed `<node>.` when one request changed several nodes).
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    /// `kill`, `rerun`, `batch_rerun`, `node.update`, `backfill.create`, `login`, `user.add`, …
    pub action: String,
    pub dry_run: bool,
    pub outcome: AuditOutcome,
    /// What the entry is about when it is not a list of instances: `node:<name>`,
    /// `resource_group:<name>`, `test:<id>`, `backfill:<id>`, `user:<name>`, `token:<id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub message: Option<String>,
    /// How many instances the request named, and how many changed.
    pub requested: i64,
    pub changed: i64,
    /// For changes of definitions: each changed field, before and after.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
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

/// A page of an entry's per-instance results, in instance order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditResultPage {
    pub items: Vec<AuditResult>,
    /// The instance id the next page starts after.
    pub next_cursor: Option<String>,
}

/// An entry with (a page of) its per-instance results (`GET /api/v1/audit/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditDetail {
    #[serde(flatten)]
    pub entry: AuditRecord,
    pub instances: Vec<AuditResult>,
    /// More results follow: `GET /api/v1/audit/{id}?cursor=<this>`.
    pub next_cursor: Option<String>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<AuditOutcome>,
    /// `node:<name>`, `backfill:<id>`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The id the previous page ended with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
}

/// Every action the trail records, for the audit page's filter.
pub const ACTIONS: [&str; 27] = [
    "kill",
    "rerun",
    "set_success",
    "pause",
    "resume",
    "rerun_downstream",
    "batch_kill",
    "batch_rerun",
    "node.create",
    "node.update",
    "node.delete",
    "node.pause",
    "node.unpause",
    "node.rollback",
    "node.import",
    "resource_group.change",
    "calendar.change",
    "calendar.delete",
    "snapshot.create",
    "test.create",
    "backfill.create",
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
            let Some(value) = crate::model::given(value) else {
                continue;
            };
            let number = |what: &str| crate::model::positive_number(what, value);
            match key {
                "actor" => query.actor = Some(value.to_string()),
                "action" => query.action = Some(value.to_string()),
                "instance" => query.instance = Some(InstanceId(number("instance")?)),
                "outcome" => query.outcome = Some(value.parse()?),
                "subject" => query.subject = Some(value.to_string()),
                "limit" => query.limit = Some(crate::model::page_limit(value)?),
                "cursor" => query.before = Some(number("cursor")?),
                other => {
                    return Err(AppError::because(crate::reason::Reason::UnknownFilter {
                        key: other.to_string(),
                        expected: "actor, action, instance, outcome, subject, limit, cursor".into(),
                    }));
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
        if let Some(outcome) = self.outcome {
            pairs.push(("outcome", outcome.as_str().to_string()));
        }
        if let Some(subject) = &self.subject {
            pairs.push(("subject", subject.clone()));
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
            ("subject", "node:load_orders"),
            ("node_name_left_empty", ""),
        ])
        .unwrap();
        let pairs = query.to_pairs();
        let again = AuditQuery::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str()))).unwrap();
        assert_eq!(again, query);
        assert_eq!(query.outcome, Some(AuditOutcome::Refused));
        for (key, value, message) in [
            ("instance", "x", "instance 'x' is not valid"),
            ("outcome", "maybe", "outcome 'maybe' is not valid"),
            ("cursor", "-1", "cursor '-1' is not valid"),
            ("who", "me", "unknown filter 'who'"),
            ("limit", "\u{85}", "limit '\u{85}'"),
            ("instance", " 7", "instance ' 7' is not valid"),
        ] {
            let error = AuditQuery::from_pairs([(key, value)]).unwrap_err();
            assert!(error.message.starts_with(message), "{}", error.message);
        }
    }
}

#[cfg(test)]
mod outcome_tests {
    use super::AuditOutcome::{self, *};

    #[test]
    fn the_outcome_follows_what_was_refused() {
        // (requested, refused, refused as a whole) → outcome
        for (requested, refused, whole, expected) in [
            (0, 0, false, Ok),
            (3, 0, false, Ok),
            (3, 1, false, Partial),
            (3, 3, false, Refused),
            (3, 0, true, Refused),
            (0, 0, true, Refused),
        ] {
            assert_eq!(
                AuditOutcome::of(requested, refused, whole),
                expected,
                "{requested} {refused} {whole}"
            );
        }
    }
}
