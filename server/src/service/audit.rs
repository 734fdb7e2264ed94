//! Reading the audit trail.

use app::audit::{AuditDetail, AuditPage, AuditQuery};
use app::error::AppError;
use app::model::{DEFAULT_PAGE_SIZE, InstanceId};
use app::reason::{Reason, Thing};
use app::rules::Permission;
use app::usecases::AuditTrail;

use super::Service;

/// How many per-instance results one read of an entry carries.
pub const RESULTS_PAGE: u32 = 1_000;

#[async_trait::async_trait]
impl AuditTrail for Service {
    async fn audit(&self, query: AuditQuery) -> Result<AuditPage, AppError> {
        self.allowed(Permission::Read)?;
        let query = AuditQuery { limit: Some(query.limit.unwrap_or(DEFAULT_PAGE_SIZE)), ..query };
        Ok(self.store().list_audit(&query).await?)
    }

    async fn audit_entry(&self, id: i64, cursor: Option<String>) -> Result<AuditDetail, AppError> {
        self.allowed(Permission::Read)?;
        let after = match cursor.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(cursor) => Some(InstanceId(super::parse_id("a valid cursor", cursor)?)),
            None => None,
        };
        let store = self.store();
        let entry = store.audit_record(id).await?.ok_or_else(|| {
            AppError::because(Reason::NotFound { thing: Thing::AuditEntry, name: id.to_string() })
        })?;
        let page = store.audit_results(id, after, RESULTS_PAGE).await?;
        Ok(AuditDetail { entry, instances: page.items, next_cursor: page.next_cursor })
    }
}
