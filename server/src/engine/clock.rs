//! Time, injected: the engine asks a [`Clock`] for "now" and sleeps through it, so tests drive
//! the 22:30 snapshot and waits for planned times with a [`ManualClock`] in milliseconds.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
    /// Resolves at or after `at` (it may resolve earlier; callers look at `now()` again).
    fn sleep_until(&self, at: DateTime<Utc>) -> BoxFuture;
}

pub type SharedClock = Arc<dyn Clock>;

/// The wall clock.
pub struct SystemClock;

/// The longest single sleep, so a wall-clock change is noticed within a minute.
const MAX_SLEEP: std::time::Duration = std::time::Duration::from_secs(60);

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> BoxFuture {
        let wait = (at - Utc::now()).to_std().unwrap_or_default().min(MAX_SLEEP);
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that only moves when told to.
pub struct ManualClock {
    now: watch::Sender<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Arc<ManualClock> {
        Arc::new(ManualClock { now: watch::Sender::new(start) })
    }

    pub fn set(&self, at: DateTime<Utc>) {
        self.now.send_replace(at);
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.now.send_modify(|now| *now += by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.borrow()
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> BoxFuture {
        let mut now = self.now.subscribe();
        Box::pin(async move {
            // The sender lives as long as the clock; if it is gone, nobody can wake us anyway.
            let _ = now.wait_for(|now| *now >= at).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_sleep_ends_exactly_when_time_is_advanced_past_it() {
        let start = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let clock = ManualClock::new(start);
        let mut sleep = clock.sleep_until(start + chrono::Duration::minutes(5));
        clock.advance(chrono::Duration::minutes(4));
        assert!(futures_poll_once(&mut sleep).await.is_none(), "not yet");
        clock.advance(chrono::Duration::minutes(1));
        sleep.await;
        assert_eq!(clock.now(), start + chrono::Duration::minutes(5));
    }

    async fn futures_poll_once(fut: &mut BoxFuture) -> Option<()> {
        tokio::select! {
            biased;
            _ = fut => Some(()),
            _ = tokio::task::yield_now() => None,
        }
    }
}
