//! The rule that turns node dependencies into instance dependencies for one run date.
//!
//! Let the upstream node fire at `u1 < u2 < … < un` and the downstream at `d1 < … < dm` on the
//! run date.
//! - If the upstream does not fire that day (a weekly node on another day), there is no edge.
//! - If the downstream fires once (`m = 1`), it waits for every upstream instance of the day.
//! - If both fire equally often (`m = n`, e.g. both hourly), instance `k` waits for instance `k`:
//!   each hour waits for the upstream of the same hour.
//! - Otherwise downstream instance `dk` waits for the upstream instances in `(d(k-1), dk]`
//!   (`d0` = the start of the day). If that
//!   window is empty it waits for the latest upstream instance before `dk`, and if there is none
//!   yet, for the first upstream instance of the day.

use chrono::{DateTime, Utc};

/// For each downstream fire time, the indexes (into `upstream`) of the instances it waits for.
/// Both slices must be sorted.
pub fn instance_edges(upstream: &[DateTime<Utc>], downstream: &[DateTime<Utc>]) -> Vec<Vec<usize>> {
    if upstream.is_empty() {
        return vec![Vec::new(); downstream.len()];
    }
    if downstream.len() == 1 {
        return vec![(0..upstream.len()).collect()];
    }
    if downstream.len() == upstream.len() {
        return (0..downstream.len()).map(|k| vec![k]).collect();
    }
    let mut edges = Vec::with_capacity(downstream.len());
    let mut low = 0;
    for &at in downstream {
        let high = upstream.partition_point(|u| *u <= at);
        let chosen: Vec<usize> =
            if low < high { (low..high).collect() } else { vec![high.saturating_sub(1)] };
        edges.push(chosen);
        low = high;
    }
    edges
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, h, m, 0).unwrap()
    }
    fn hourly(minute: u32) -> Vec<DateTime<Utc>> {
        (0..24).map(|h| at(h, minute)).collect()
    }

    #[test]
    fn daily_after_daily_is_one_to_one() {
        assert_eq!(instance_edges(&[at(0, 30)], &[at(1, 0)]), vec![vec![0]]);
        // Even when the upstream is planned later, the downstream waits for it.
        assert_eq!(instance_edges(&[at(5, 0)], &[at(1, 0)]), vec![vec![0]]);
    }

    #[test]
    fn daily_after_hourly_waits_for_all_24() {
        let edges = instance_edges(&hourly(0), &[at(2, 0)]);
        assert_eq!(edges, vec![(0..24).collect::<Vec<_>>()]);
    }

    #[test]
    fn hourly_after_hourly_pairs_the_same_hour() {
        let edges = instance_edges(&hourly(0), &hourly(0));
        assert_eq!(edges, (0..24).map(|h| vec![h]).collect::<Vec<_>>());
        // Same hour whatever the minutes: :30 after :00, and :00 after :30.
        let same_hour = (0..24).map(|h| vec![h]).collect::<Vec<_>>();
        assert_eq!(instance_edges(&hourly(0), &hourly(30)), same_hour);
        assert_eq!(instance_edges(&hourly(30), &hourly(0)), same_hour);
    }

    #[test]
    fn hourly_after_daily_all_wait_for_the_one() {
        let edges = instance_edges(&[at(0, 30)], &hourly(0));
        assert!(edges.iter().all(|e| e == &vec![0]), "{edges:?}");
    }

    #[test]
    fn every_two_hours_after_hourly_waits_for_the_hours_since_the_last() {
        let two_hourly: Vec<_> = (0..12).map(|k| at(2 * k, 0)).collect();
        let edges = instance_edges(&hourly(0), &two_hourly);
        assert_eq!(edges[0], vec![0]);
        assert_eq!(edges[1], vec![1, 2]);
        assert_eq!(edges[11], vec![21, 22]);
    }

    #[test]
    fn an_upstream_that_does_not_fire_that_day_adds_no_edge() {
        assert_eq!(instance_edges(&[], &[at(1, 0)]), vec![Vec::<usize>::new()]);
    }
}
