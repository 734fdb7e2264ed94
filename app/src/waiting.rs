//! "Why isn't it running?": what an instance that has not started waits for, as facts the
//! server finds (`server::explain`) and sentences people read in their language. The REST API
//! gives both the facts and the English sentences.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::components::time::{duration, timestamp};
use crate::i18n::{Locale, td_string};
use crate::model::{InstanceId, InstanceState};

/// An upstream instance that holds one back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    pub id: InstanceId,
    pub node: String,
    pub state: InstanceState,
    pub paused: bool,
    /// Its run date, when it is not the waiting instance's (a previous cycle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_date: Option<NaiveDate>,
}

/// One thing an instance waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Waiting {
    /// Its node's scheduling is paused, so this cycle's instance is frozen.
    NodePaused,
    /// Paused for this cycle.
    Paused,
    /// Its upstream is done; the next dispatch moves it on.
    NextDispatch,
    /// Upstream instances that have not succeeded: the first few, and how many in all.
    Upstream { count: usize, first: Vec<Holding> },
    /// One of them failed.
    UpstreamFailed,
    /// A retry after a failed attempt; `why` is how the attempt ended, as the engine said it.
    Retry { at: DateTime<Utc>, seconds_left: i64, attempt: i32, why: Option<String> },
    /// Its planned time.
    PlannedTime { at: DateTime<Utc>, seconds_left: i64 },
    /// A slot in its resource group.
    Slot { group: String, running: i64, slots: i64, ahead: i64 },
    /// A backfill starts only while the group keeps free slots for the rest.
    BackfillShare { share: u32, slots: i64 },
}

impl Waiting {
    /// The sentence people read, in their language.
    pub fn describe(&self, l: Locale) -> String {
        let when = |at: &DateTime<Utc>, seconds_left: i64| {
            let at = timestamp(*at);
            if seconds_left > 0 {
                td_string!(l, detail.waiting.when_in, at, left = duration(l, seconds_left))
            } else {
                td_string!(l, detail.waiting.when, at)
            }
        };
        match self {
            Waiting::NodePaused => td_string!(l, detail.waiting.node_paused).into(),
            Waiting::Paused => td_string!(l, detail.waiting.paused).into(),
            Waiting::NextDispatch => td_string!(l, detail.waiting.next_dispatch).into(),
            Waiting::Upstream { count, first } => {
                let separator = td_string!(l, common.list.separator);
                let mut listed: Vec<String> = first
                    .iter()
                    .map(|h| {
                        let (id, state) = (h.id, h.state.label(l));
                        let node = match h.run_date {
                            Some(day) => td_string!(l, detail.waiting.node_of, node = &h.node, day),
                            None => h.node.clone(),
                        };
                        if h.paused {
                            td_string!(l, detail.waiting.holding_paused, node, id, state)
                        } else {
                            td_string!(l, detail.waiting.holding, node, id, state)
                        }
                    })
                    .collect();
                let more = count.saturating_sub(first.len());
                if more > 0 {
                    listed.push(td_string!(l, common.list.and_more, count = more));
                }
                let listed = listed.join(separator);
                if *count == 1 {
                    td_string!(l, detail.waiting.upstream_singular, count, listed)
                } else {
                    td_string!(l, detail.waiting.upstream_plural, count, listed)
                }
            }
            Waiting::UpstreamFailed => td_string!(l, detail.waiting.upstream_failed).into(),
            Waiting::Retry { at, seconds_left, attempt, why } => {
                let when = when(at, *seconds_left);
                match why {
                    Some(why) => td_string!(l, detail.waiting.retry, when, attempt, why),
                    None => td_string!(l, detail.waiting.retry_failed, when, attempt),
                }
            }
            Waiting::PlannedTime { at, seconds_left } => {
                td_string!(l, detail.waiting.planned, when = when(at, *seconds_left))
            }
            Waiting::Slot { group, running, slots, ahead } => match ahead {
                0 => td_string!(l, detail.waiting.slot_next, group, running, slots),
                1 => td_string!(l, detail.waiting.slot_one_ahead, group, running, slots),
                _ => td_string!(l, detail.waiting.slot_ahead, group, running, slots, ahead),
            },
            Waiting::BackfillShare { share, slots } => {
                td_string!(l, detail.waiting.backfill_share, share, slots)
            }
        }
    }
}
