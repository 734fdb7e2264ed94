//! Baselines: a promise that some nodes' instances of a run date succeed by a time of that date,
//! and the prediction of whether they will (status, predicted finish, critical path).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::alerts::{Channel, MAX_CHANNELS, parse_hhmm};
use crate::error::AppError;
use crate::model::{InstanceId, InstanceState};
use crate::reason::Reason;

/// The most nodes one baseline holds.
pub const MAX_NODES: usize = 200;
/// The widest margin: a day.
pub const MAX_MARGIN: u32 = 24 * 60;

/// A baseline as people write it: the body of `POST /baselines` and `PUT /baselines/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineSpec {
    #[serde(default)]
    pub name: String,
    pub nodes: Vec<String>,
    /// `HH:MM` of the run date, in the project time zone.
    pub commit_by: String,
    /// Warn this many minutes before the commitment (`at_risk`).
    #[serde(default)]
    pub margin_mins: u32,
    /// Where `at_risk` and `late` are said (none: the status is only shown).
    #[serde(default)]
    pub channels: Vec<Channel>,
}

impl BaselineSpec {
    pub fn normalized(mut self) -> BaselineSpec {
        self.name = self.name.trim().to_string();
        self.commit_by = self.commit_by.trim().to_string();
        self.nodes = self.nodes.iter().map(|n| n.trim().to_string()).collect();
        self.nodes.retain(|n| !n.is_empty());
        let mut seen = std::collections::HashSet::new();
        self.nodes.retain(|n| seen.insert(n.clone()));
        self
    }

    /// Everything that can be checked without the database.
    pub fn check(&self) -> Result<(), AppError> {
        if !crate::text::is_name(&self.name) {
            return Err(AppError::because(Reason::NotValid {
                what: "name".into(),
                value: self.name.clone(),
            })
            .on_field("name"));
        }
        if self.nodes.is_empty() || self.nodes.len() > MAX_NODES {
            return Err(AppError::because(Reason::TooManyBaselineNodes { max: MAX_NODES }));
        }
        if let Some(bad) = self.nodes.iter().find(|n| !crate::text::is_name(n)) {
            return Err(AppError::because(Reason::UnknownNode {
                field: "nodes".into(),
                name: bad.clone(),
            }));
        }
        parse_hhmm("commit_by", &self.commit_by)?;
        if self.margin_mins > MAX_MARGIN {
            return Err(AppError::because(Reason::Minutes {
                field: "margin_mins".into(),
                min: 0,
                max: MAX_MARGIN,
            }));
        }
        if self.channels.len() > MAX_CHANNELS {
            return Err(AppError::because(Reason::TooManyChannels { max: MAX_CHANNELS }));
        }
        self.channels.iter().try_for_each(Channel::check)
    }
}

/// A saved baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub name: String,
    pub nodes: Vec<String>,
    pub commit_by: String,
    pub margin_mins: u32,
    pub channels: Vec<Channel>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Baseline {
    pub fn spec(&self) -> BaselineSpec {
        BaselineSpec {
            name: self.name.clone(),
            nodes: self.nodes.clone(),
            commit_by: self.commit_by.clone(),
            margin_mins: self.margin_mins,
            channels: self.channels.clone(),
        }
    }
}

/// Where a baseline stands for a run date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineState {
    /// Predicted to finish before the commitment less the margin.
    OnTime,
    /// Predicted to finish after the commitment less the margin.
    AtRisk,
    /// The commitment passed before its nodes finished.
    Late,
    /// Every instance of its nodes succeeded.
    Done,
}

impl BaselineState {
    pub fn as_str(self) -> &'static str {
        match self {
            BaselineState::OnTime => "on_time",
            BaselineState::AtRisk => "at_risk",
            BaselineState::Late => "late",
            BaselineState::Done => "done",
        }
    }
}

/// One instance of the prediction: when it started or will, when it finished or will.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PredictedInstance {
    pub id: InstanceId,
    pub node: String,
    pub state: InstanceState,
    pub start: DateTime<Utc>,
    pub finish: DateTime<Utc>,
    /// One of the baseline's own nodes (not only upstream of them).
    pub promised: bool,
}

/// `GET /baselines/{name}/status?run_date=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineStatus {
    pub name: String,
    pub run_date: String,
    pub status: BaselineState,
    /// When the last of its nodes' instances finishes (finished, for `done`).
    pub predicted_finish: DateTime<Utc>,
    pub commit_by: DateTime<Utc>,
    pub margin_mins: u32,
    /// The chain of instances that decides the finish, first to last.
    pub critical_path: Vec<InstanceId>,
    /// Every instance the prediction walked (the nodes and everything upstream of them).
    pub instances: Vec<PredictedInstance>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> BaselineSpec {
        BaselineSpec {
            name: "daily_report".into(),
            nodes: vec!["a".into()],
            commit_by: "08:00".into(),
            margin_mins: 30,
            channels: vec![],
        }
    }

    #[test]
    fn baselines_are_refused_field_by_field() {
        assert!(spec().check().is_ok());
        let field = |s: BaselineSpec| s.normalized().check().unwrap_err().field;
        assert_eq!(field(BaselineSpec { name: "a b".into(), ..spec() }).as_deref(), Some("name"));
        assert_eq!(field(BaselineSpec { nodes: vec![], ..spec() }).as_deref(), Some("nodes"));
        assert_eq!(
            field(BaselineSpec { nodes: vec![" ".into()], ..spec() }).as_deref(),
            Some("nodes")
        );
        assert_eq!(
            field(BaselineSpec { commit_by: "8am".into(), ..spec() }).as_deref(),
            Some("commit_by")
        );
        assert_eq!(
            field(BaselineSpec { margin_mins: MAX_MARGIN + 1, ..spec() }).as_deref(),
            Some("margin_mins")
        );
        let hook = vec![Channel::Webhook("gopher://x".into())];
        assert_eq!(field(BaselineSpec { channels: hook, ..spec() }).as_deref(), Some("channels"));
        let twice = BaselineSpec { nodes: vec!["a".into(), "a".into()], ..spec() }.normalized();
        assert_eq!(twice.nodes, ["a"]);
    }
}
