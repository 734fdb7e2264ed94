//! "Why isn't it running?": what an instance that has not started waits for, as facts
//! ([`Waiting`], which the UI says in the page's language) found from the store's
//! [`WaitFacts`].

use app::model::{Instance, InstanceState, RunType};
use app::nodes::ResourceGroup;
use app::waiting::{Holding, Waiting};
use chrono::{DateTime, Utc};

use crate::store::WaitFacts;

/// The most upstream instances named.
const NAMED: usize = 10;

/// One fact per thing the instance waits for; none once it has started or ended.
pub fn waiting_for(instance: &Instance, facts: &WaitFacts, now: DateTime<Utc>) -> Vec<Waiting> {
    let mut reasons = Vec::new();
    let open = matches!(
        instance.state,
        InstanceState::NotRun | InstanceState::WaitingTime | InstanceState::WaitingResources
    );
    if !open {
        return reasons;
    }
    if instance.paused {
        reasons.push(if facts.node_paused && instance.reason.is_none() {
            Waiting::NodePaused
        } else {
            Waiting::Paused
        });
    }
    match instance.state {
        InstanceState::NotRun => {
            let pending = &facts.pending_upstream;
            if pending.is_empty() {
                reasons.push(Waiting::NextDispatch);
            } else {
                let first = pending
                    .iter()
                    .take(NAMED)
                    .map(|(id, node, state, paused, run_date)| Holding {
                        id: *id,
                        node: node.clone(),
                        state: *state,
                        paused: *paused,
                        run_date: *run_date,
                    })
                    .collect();
                reasons.push(Waiting::Upstream { count: pending.len(), first });
                if pending.iter().any(|(_, _, state, _, _)| state.is_failure()) {
                    reasons.push(Waiting::UpstreamFailed);
                }
            }
        }
        InstanceState::WaitingTime => {
            let at = facts.ready_at;
            let seconds_left = (at - now).num_seconds().max(0);
            if at > facts.planned_at {
                reasons.push(Waiting::Retry {
                    at,
                    seconds_left,
                    attempt: instance.attempt,
                    why: instance.reason.clone(),
                });
            } else {
                reasons.push(Waiting::PlannedTime { at, seconds_left });
            }
        }
        InstanceState::WaitingResources => {
            reasons.push(Waiting::Slot {
                group: facts.resource_group.clone(),
                running: facts.running_in_group,
                slots: facts.slots,
                ahead: facts.queued_ahead,
            });
            let share = ResourceGroup::backfill_limit(facts.slots as u32, facts.backfill_slots);
            if instance.run_type == RunType::Backfill && facts.running_in_group as u32 >= share {
                reasons.push(Waiting::BackfillShare { share, slots: facts.slots });
            }
        }
        _ => {}
    }
    reasons
}
