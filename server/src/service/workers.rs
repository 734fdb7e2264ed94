//! The processes serving the project: `GET /workers` and the Workers page.

use app::error::AppError;
use app::rules::Permission;
use app::usecases::Processes;
use app::workers::WorkerInfo;

use super::Service;

#[async_trait::async_trait]
impl Processes for Service {
    async fn workers(&self) -> Result<Vec<WorkerInfo>, AppError> {
        self.allowed(Permission::Read)?;
        let now = self.engine().clock().now();
        Ok(self
            .store()
            .workers()
            .await?
            .into_iter()
            .map(|(w, running)| {
                let age = (now - w.heartbeat_at).num_seconds().max(0);
                WorkerInfo {
                    roles: w.roles.split(',').map(str::to_string).collect(),
                    alive: w.alive_at(now),
                    heartbeat_age_secs: age,
                    name: w.name,
                    groups: w.groups,
                    host: w.host,
                    pid: w.pid,
                    started_at: w.started_at,
                    heartbeat_at: w.heartbeat_at,
                    lease_secs: w.lease_secs,
                    running,
                }
            })
            .collect())
    }
}
