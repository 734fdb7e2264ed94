//! Stopping the commands of killed instances, and knowing they are gone.

use std::time::Duration;

use app::model::InstanceId;

use super::{Engine, EngineEvent, process};

impl Engine {
    /// Stops the processes of killed running instances and returns once every one is gone: the
    /// ones this process runs itself, and on a shared database the ones other workers run (told
    /// through the bus; their ends recorded by them).
    pub async fn stop_processes(&self, ids: &[InstanceId]) {
        let grace = self.config().kill_grace;
        let mut waits = Vec::new();
        let mut elsewhere = Vec::new();
        for id in ids {
            match self.running().stop(*id) {
                Some(stopping) => waits.push(stopping),
                None if self.store().is_shared() => elsewhere.push(*id),
                None => self.stop_orphan(*id, grace).await,
            }
        }
        let limit = grace + Duration::from_secs(15);
        if !elsewhere.is_empty() {
            self.announce(EngineEvent::Operated { instances: elsewhere.clone() });
            self.wait_ended_elsewhere(&elsewhere, limit).await;
        }
        for stopping in waits {
            if tokio::time::timeout(limit, stopping.wait()).await.is_err() {
                tracing::error!("a killed attempt did not end within {limit:?}");
            }
        }
    }

    /// Waits until the workers that ran these instances recorded their attempts' ends (not for
    /// workers whose lease lapsed: a scheduler closes their attempts).
    async fn wait_ended_elsewhere(&self, ids: &[InstanceId], limit: Duration) {
        let now = self.clock().now();
        let alive: Vec<String> = match self.store().workers().await {
            Ok(workers) => {
                workers.into_iter().filter(|(w, _)| w.alive_at(now)).map(|(w, _)| w.name).collect()
            }
            Err(_) => Vec::new(),
        };
        // Each instance's attempt and worker in one read; the ones already ended drop out at
        // the first check below.
        let mut attempts: Vec<(InstanceId, i32)> = match self.store().instances_by_ids(ids).await {
            Ok(instances) => instances
                .into_iter()
                .filter(|i| i.host.as_ref().is_some_and(|host| alive.contains(host)))
                .map(|i| (i.id, i.attempt))
                .collect(),
            Err(_) => Vec::new(),
        };
        let deadline = tokio::time::Instant::now() + limit;
        while !attempts.is_empty() {
            match self.store().unended(&attempts).await {
                Ok(open) if open.is_empty() => return,
                Ok(open) => attempts.retain(|(id, _)| open.contains(id)),
                Err(error) => tracing::warn!(%error, "could not check killed attempts"),
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::error!(count = attempts.len(), "killed attempts did not end in {limit:?}");
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A running instance this server does not run (it cannot normally happen: recovery
    /// reconciles the previous server's): stop the recorded process group if it is still there.
    async fn stop_orphan(&self, id: InstanceId, grace: Duration) {
        let Ok(attempts) = self.store().attempts(id).await else { return };
        if let Some(pid) = attempts.last().and_then(|a| a.pid)
            && process::group_alive(pid)
        {
            process::stop_group(pid, grace).await;
        }
    }
}
