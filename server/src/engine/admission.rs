//! Which waiting instances a resource group may start now: production first. Instances wait in
//! dispatch order (priority: cycle 0, test 5, backfill 10; then ready time; then id), and a
//! backfill instance starts only while the group would still have
//! `slots − backfill_slots` slots free after it starts. So backfills never hold more than
//! `backfill_slots` slots, and never take the slots kept free for cycle and test work, however
//! busy the group is.

use app::model::{InstanceId, RunType};
use app::nodes::ResourceGroup;

use crate::store::{GroupLoad, Queued};

/// The instances of `queued` (in dispatch order) to start now, given the group's load.
pub fn admit(load: &GroupLoad, queued: &[Queued]) -> Vec<InstanceId> {
    let backfill_limit = ResourceGroup::backfill_limit(load.slots, load.backfill_slots);
    let mut running = load.running;
    let mut chosen = Vec::new();
    for waiting in queued {
        if running >= load.slots {
            break;
        }
        if waiting.run_type == RunType::Backfill && running + 1 > backfill_limit {
            // Everything after it in the queue is a backfill too (they go last).
            continue;
        }
        running += 1;
        chosen.push(waiting.id);
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(kinds: &[RunType]) -> Vec<Queued> {
        kinds
            .iter()
            .enumerate()
            .map(|(i, run_type)| Queued {
                id: InstanceId(i as i64 + 1),
                run_type: *run_type,
                since: chrono::DateTime::default(),
            })
            .collect()
    }

    fn load(slots: u32, backfill_slots: Option<u32>, running: u32) -> GroupLoad {
        GroupLoad { slots, backfill_slots, running }
    }

    use RunType::{Backfill, Cycle, Test};

    #[test]
    fn an_idle_group_keeps_one_slot_free_of_backfills_by_default() {
        let chosen = admit(&load(4, None, 0), &queue(&[Backfill; 6]));
        assert_eq!(chosen.len(), 3);
    }

    #[test]
    fn a_busy_group_gives_a_backfill_no_slot_that_production_needs() {
        // 4 slots, 3 cycle instances running: the last free slot is not a backfill's.
        assert!(admit(&load(4, None, 3), &queue(&[Backfill])).is_empty());
        // With two free, one goes to the backfill and one stays free.
        assert_eq!(admit(&load(4, None, 2), &queue(&[Backfill, Backfill])).len(), 1);
        // Cycle and test work takes every slot.
        assert_eq!(admit(&load(4, None, 3), &queue(&[Cycle, Test])).len(), 1);
        assert_eq!(admit(&load(4, None, 0), &queue(&[Cycle, Test, Cycle, Cycle])).len(), 4);
    }

    #[test]
    fn production_goes_first_and_backfills_fill_what_is_left_up_to_their_share() {
        let chosen = admit(
            &load(8, Some(5), 0),
            &queue(&[Cycle, Cycle, Backfill, Backfill, Backfill, Backfill]),
        );
        // 2 cycle + 3 backfill = 5 in use: the backfill share ends there, 3 slots stay free.
        assert_eq!(chosen, [1, 2, 3, 4, 5].map(InstanceId).to_vec());
    }

    #[test]
    fn the_share_is_a_setting() {
        assert!(admit(&load(4, Some(0), 0), &queue(&[Backfill])).is_empty(), "0: no backfills");
        assert_eq!(admit(&load(4, Some(4), 0), &queue(&[Backfill; 5])).len(), 4, "all slots");
        // A one-slot group lets a backfill run when it is idle (its default share is 1).
        assert_eq!(admit(&load(1, None, 0), &queue(&[Backfill])).len(), 1);
        assert!(admit(&load(1, None, 1), &queue(&[Backfill])).is_empty());
    }
}
