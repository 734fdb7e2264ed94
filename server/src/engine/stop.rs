//! Stopping the commands of killed instances, and knowing they are gone.

use std::time::Duration;

use app::model::InstanceId;

use super::{Engine, process};

impl Engine {
    /// Stops the processes of killed running instances and returns once every one is gone.
    pub async fn stop_processes(&self, ids: &[InstanceId]) {
        let grace = self.config().kill_grace;
        let mut waits = Vec::new();
        for id in ids {
            match self.running().stop(*id) {
                Some(stopping) => waits.push(stopping),
                None => self.stop_orphan(*id, grace).await,
            }
        }
        let limit = grace + Duration::from_secs(15);
        for stopping in waits {
            if tokio::time::timeout(limit, stopping.wait()).await.is_err() {
                tracing::error!("a killed attempt did not end within {limit:?}");
            }
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
