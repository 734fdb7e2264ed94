//! The audit trail: every entry is written with the change it records (operations in their
//! [`super::OperationTx`], definitions in their [`super::DefinitionTx`], jobs with the job) or
//! on its own (sign-ins, people, tokens); read a page at a time.

use app::audit::{AuditOutcome, AuditPage, AuditQuery, AuditRecord, AuditResultPage, FieldChange};
use app::model::InstanceId;
use chrono::{DateTime, Utc};

use super::Result;

/// One entry to write.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub dry_run: bool,
    pub outcome: AuditOutcome,
    /// What the request was about when it is not a list of instances: `node:<name>`,
    /// `resource_group:<name>`, `backfill:<id>`, `user:<name>`, `token:<id>`.
    pub subject: Option<String>,
    pub message: Option<&'a str>,
    /// How many instances the request named, and how many changed.
    pub requested: u64,
    pub changed: u64,
    /// Per named instance: `Ok` or the reason it was refused.
    pub results: &'a [(InstanceId, Result<(), String>)],
    /// The fields a definition change changed, before and after.
    pub changes: &'a [FieldChange],
    pub at: DateTime<Utc>,
}

#[async_trait::async_trait]
pub trait AuditStore: Send + Sync {
    /// Writes an entry that goes with no other change (a login, a refusal).
    async fn record_audit(&self, entry: &AuditEntry<'_>) -> Result<i64>;

    /// Newest first, keyset-paged on the id.
    async fn list_audit(&self, query: &AuditQuery) -> Result<AuditPage>;

    async fn audit_record(&self, id: i64) -> Result<Option<AuditRecord>>;

    /// A page of an entry's per-instance results, in instance order after `after`.
    async fn audit_results(
        &self,
        id: i64,
        after: Option<InstanceId>,
        limit: u32,
    ) -> Result<AuditResultPage>;
}
