//! What operations answer: per-instance results, the changes (made, or that a dry run would
//! make) and the downstream instances that will be scheduled again. Shared by the REST API and
//! the UI's preview dialogs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::i18n::Locale;
use crate::model::{InstanceFilter, InstanceId, InstanceState};
use crate::reason::Reason;

/// Which instances a batch acts on: listed, or everything matching a list filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<InstanceId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<InstanceFilter>,
    #[serde(default)]
    pub dry_run: bool,
}

/// Whether an operation changes anything, or only reports what it would change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Apply,
    DryRun,
}

impl Mode {
    /// The mode a request's `"dry_run"` field asks for.
    pub fn from_dry_run(dry_run: bool) -> Mode {
        if dry_run { Mode::DryRun } else { Mode::Apply }
    }

    pub fn is_dry_run(self) -> bool {
        self == Mode::DryRun
    }
}

/// `POST /api/v1/instances/{id}/rerun-downstream`: the checked instances (the root and its
/// descendants) to rerun in dependency order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RerunDownstreamRequest {
    pub instance_ids: Vec<InstanceId>,
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchKind {
    Kill,
    /// Repair rerun of failed instances.
    Rerun,
}

/// One instance that changes (or would).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub id: InstanceId,
    pub node: String,
    pub from: InstanceState,
    pub to: InstanceState,
    pub paused: bool,
}

/// A not-run instance that will be scheduled again once the changed ones succeed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scheduled {
    pub id: InstanceId,
    pub node: String,
    pub state: InstanceState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Okay {
    #[serde(rename = "ok")]
    Ok,
}

/// Per instance: `"ok"` or `{"error": "...", "reason": {...}}` (the English sentence, and the
/// reason as a code and its parameters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ItemResult {
    Ok(Okay),
    Error {
        error: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(not(feature = "ssr"), serde(skip_deserializing))]
        reason: Option<Reason>,
        /// The reason in the language of the page that asked (server functions fill it in).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shown: Option<String>,
    },
}

impl ItemResult {
    pub fn ok() -> ItemResult {
        ItemResult::Ok(Okay::Ok)
    }

    /// The refusal of one instance.
    pub fn refused(error: crate::error::AppError) -> ItemResult {
        ItemResult::Error { error: error.message, reason: error.reason.map(|r| *r), shown: None }
    }

    pub fn error(&self) -> Option<&str> {
        match self {
            ItemResult::Ok(_) => None,
            ItemResult::Error { error, .. } => Some(error),
        }
    }

    /// Why it was refused, in the page's language.
    pub fn describe(&self, l: Locale) -> Option<String> {
        match self {
            ItemResult::Ok(_) => None,
            ItemResult::Error { reason: Some(reason), .. } => Some(reason.describe(l)),
            ItemResult::Error { shown: Some(shown), .. } => Some(shown.clone()),
            ItemResult::Error { error, .. } => Some(error.clone()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub dry_run: bool,
    /// Keyed by instance id (as text: JSON object keys).
    pub results: BTreeMap<String, ItemResult>,
    pub changes: Vec<Change>,
    pub downstream: Vec<Scheduled>,
}

impl crate::lang::Localize for Report {
    fn localize(mut self, l: Locale) -> Self {
        for result in self.results.values_mut() {
            if let ItemResult::Error { reason: Some(reason), shown, .. } = result {
                *shown = Some(reason.describe(l));
            }
        }
        self
    }
}

impl Report {
    /// The refused instances and why, in the page's language.
    pub fn refused(&self, l: Locale) -> impl Iterator<Item = (&str, String)> {
        self.results.iter().filter_map(move |(id, r)| r.describe(l).map(|e| (id.as_str(), e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_read_as_ok_or_an_error_object() {
        let json = r#"{"1": "ok", "2": {"error": "no instance 2"}}"#;
        let results: BTreeMap<String, ItemResult> = serde_json::from_str(json).unwrap();
        assert_eq!(results["1"], ItemResult::ok());
        assert_eq!(results["2"].error(), Some("no instance 2"));
        assert_eq!(
            serde_json::to_string(&results).unwrap(),
            json.replace(' ', "").replace("noinstance2", "no instance 2")
        );
    }
}
