//! Making a day's instances on demand (administrators).

use app::audit::AuditOutcome;
use app::error::AppError;
use app::rules::Permission;
use app::usecases::Input;
use chrono::NaiveDate;

use super::Service;
use crate::store::AuditEntry;

impl Service {
    /// `POST /snapshots`: the cycle instances of `run_date`, now (idempotent); how many are new.
    pub async fn snapshot(&self, run_date: Input<NaiveDate>) -> Result<u64, AppError> {
        let actor = self.allowed(Permission::ManageProject)?;
        let run_date = run_date?;
        let created = self.engine().snapshot(run_date).await?;
        let message = format!("run date {run_date}: {created} instances created");
        self.store()
            .record_audit(&AuditEntry {
                actor: &actor.name,
                action: "snapshot.create",
                dry_run: false,
                outcome: AuditOutcome::Ok,
                subject: Some(format!("snapshot:{run_date}")),
                message: Some(&message),
                requested: 0,
                changed: created,
                results: &[],
                changes: &[],
                at: self.now(),
            })
            .await?;
        Ok(created)
    }
}
