//! "Why isn't it running?": what an instance that has not started waits for, in sentences.

use app::components::time::duration;
use app::model::{Instance, InstanceState, RunType};
use app::nodes::ResourceGroup;
use chrono::{DateTime, Utc};

use crate::store::WaitFacts;

/// One sentence per thing the instance waits for; empty once it has started or ended.
pub fn waiting_for(instance: &Instance, facts: &WaitFacts, now: DateTime<Utc>) -> Vec<String> {
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
            "It is frozen: its node is paused (its scheduling status), so this cycle does not run. \
             Resume this instance to run it once."
                .to_string()
        } else {
            "It is paused for this cycle; resume it to let it run.".to_string()
        });
    }
    match instance.state {
        InstanceState::NotRun => {
            let pending = &facts.pending_upstream;
            if pending.is_empty() {
                reasons.push(
                    "Its upstream instances are done; it moves on at the next dispatch.".into(),
                );
            } else {
                let listed: Vec<String> = pending
                    .iter()
                    .take(10)
                    .map(|(id, node, state, paused)| {
                        let paused = if *paused { ", paused" } else { "" };
                        format!("{node} (#{id}, {}{paused})", state.label())
                    })
                    .collect();
                let more = pending.len().saturating_sub(listed.len());
                let more = if more > 0 { format!(" and {more} more") } else { String::new() };
                reasons.push(format!(
                    "It waits for {} upstream instance{} to succeed: {}{more}.",
                    pending.len(),
                    if pending.len() == 1 { "" } else { "s" },
                    listed.join(", ")
                ));
                if pending.iter().any(|(_, _, state, _)| state.is_failure()) {
                    reasons.push(
                        "An upstream instance failed: rerun it or set it to success to let this one run."
                            .into(),
                    );
                }
            }
        }
        InstanceState::WaitingTime => {
            let at = facts.ready_at;
            let when = format!("{} UTC", at.format("%Y-%m-%d %H:%M:%S"));
            let left = (at - now).num_seconds();
            let left = if left > 0 { format!(" (in {})", duration(left)) } else { String::new() };
            if at > facts.planned_at {
                let why = instance.reason.as_deref().unwrap_or("the last attempt failed");
                reasons.push(format!(
                    "It waits to retry at {when}{left}: attempt {} {why}.",
                    instance.attempt,
                    why = if why.starts_with("exited") || why.starts_with("timed") {
                        why.to_string()
                    } else {
                        format!("ended: {why}")
                    }
                ));
            } else {
                reasons.push(format!("It waits for its planned time, {when}{left}."));
            }
        }
        InstanceState::WaitingResources => {
            reasons.push(format!(
                "It waits for a slot in resource group '{}': {} of {} in use{}.",
                facts.resource_group,
                facts.running_in_group,
                facts.slots,
                match facts.queued_ahead {
                    0 => ", and it is next in line".to_string(),
                    1 => ", 1 instance is ahead of it".to_string(),
                    n => format!(", {n} instances are ahead of it"),
                }
            ));
            let share = ResourceGroup::backfill_limit(facts.slots as u32, facts.backfill_slots);
            if instance.run_type == RunType::Backfill && facts.running_in_group as u32 >= share {
                reasons.push(format!(
                    "It is a backfill: backfills start only while at most {share} of the group's \
                     {} slots are in use, so cycle and test work always finds a free slot.",
                    facts.slots
                ));
            }
        }
        _ => {}
    }
    reasons
}
