//! The dispatcher: woken by events (a state change, a new snapshot, an operation) or by a timer
//! set to the next planned time, never by a slow polling loop. Each wake-up releases the due
//! instances and fills the free slots of every resource group.

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::clock::SharedClock;
use super::executor::Executor;
use crate::store::{Result, Store};

pub struct Dispatcher {
    pub(super) store: Store,
    pub(super) clock: SharedClock,
    pub(super) executor: Arc<Executor>,
    pub(super) wake: Arc<Notify>,
    pub(super) attempts: TaskTracker,
}

impl Dispatcher {
    pub async fn run(self, cancel: CancellationToken) {
        loop {
            let next_due = match self.tick().await {
                Ok(()) => self.store.next_due_at().await.unwrap_or_else(|e| {
                    tracing::error!(error = %e, "could not read the next planned time");
                    None
                }),
                Err(e) => {
                    tracing::error!(error = %e, "dispatch failed; trying again in a second");
                    Some(self.clock.now() + chrono::Duration::seconds(1))
                }
            };
            let timer = async {
                match next_due {
                    Some(at) => self.clock.sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = timer => {}
            }
        }
    }

    /// Does everything that can be done right now.
    async fn tick(&self) -> Result<()> {
        let now = self.clock.now();
        self.store.release_due(now).await?;
        let host = self.executor.config().host.clone();
        for slots in self.store.free_slots().await? {
            for claim in self
                .store
                .claim(&slots.group, slots.free, &host, now)
                .await?
            {
                let executor = self.executor.clone();
                self.attempts
                    .spawn(async move { executor.run(claim).await });
            }
        }
        Ok(())
    }
}
