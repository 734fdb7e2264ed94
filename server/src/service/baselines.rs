//! Baselines: who may promise what (a developer, for their own nodes), each change checked whole
//! and audited in its transaction, and the status of a run date (`alerts::baseline`).

use app::audit::FieldChange;
use app::baselines::{Baseline, BaselineSpec, BaselineStatus};
use app::error::AppError;
use app::people::Actor;
use app::reason::{Reason, Thing};
use app::rules::{self, Permission};
use app::usecases::{Baselines, Input};
use chrono::NaiveDate;

use super::Service;
use super::alerts::spec_changes;
use crate::store::WatchTx;

fn no_baseline(name: &str) -> AppError {
    AppError::because(Reason::NotFound { thing: Thing::Baseline, name: name.to_string() })
}

impl Service {
    /// A baseline as it will be saved: checked on its own, then every node exists and is the
    /// person's to watch.
    async fn checked_baseline(
        &self,
        actor: &Actor,
        spec: Input<BaselineSpec>,
    ) -> Result<BaselineSpec, AppError> {
        let spec = spec?.normalized();
        spec.check()?;
        for name in &spec.nodes {
            let node = self.store().get_node(name).await?.ok_or_else(|| {
                AppError::because(Reason::UnknownNode { field: "nodes".into(), name: name.clone() })
            })?;
            rules::authorize(actor, Permission::Watch { owner: &node.spec.owner })?;
        }
        Ok(spec)
    }

    fn shown_baseline(&self, baseline: Baseline) -> Baseline {
        let channels = self.visible(&baseline.created_by, baseline.channels.clone());
        Baseline { channels, ..baseline }
    }

    /// Audits a change of a baseline in its transaction.
    async fn audit_baseline(
        &self,
        tx: &mut Box<dyn WatchTx>,
        action: &str,
        name: &str,
        changes: &[FieldChange],
    ) -> Result<(), AppError> {
        let entry = self.change_entry(self.actor()?, action, format!("baseline:{name}"), changes);
        tx.audit(&entry).await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Baselines for Service {
    async fn baselines(&self) -> Result<Vec<Baseline>, AppError> {
        self.allowed(Permission::Read)?;
        let all = self.store().baselines().await?;
        Ok(all.into_iter().map(|b| self.shown_baseline(b)).collect())
    }

    async fn baseline(&self, name: String) -> Result<Baseline, AppError> {
        self.allowed(Permission::Read)?;
        let found = self.store().baseline(&name).await?.ok_or_else(|| no_baseline(&name))?;
        Ok(self.shown_baseline(found))
    }

    async fn create_baseline(&self, spec: Input<BaselineSpec>) -> Result<Baseline, AppError> {
        let actor = self.allowed(Permission::Operate)?;
        let spec = self.checked_baseline(actor, spec).await?;
        if self.store().watch_counts().await?.1 >= app::alerts::MAX_RULES {
            let max = app::alerts::MAX_RULES;
            return Err(AppError::because(Reason::TooManyBaselines { max }));
        }
        let mut tx = self.store().begin_watch().await?;
        let saved = tx.insert_baseline(&spec, &actor.name, self.now()).await?;
        let changes = spec_changes(None, Some(&saved.spec()));
        self.audit_baseline(&mut tx, "baseline.create", &saved.name, &changes).await?;
        tx.commit().await?;
        Ok(saved)
    }

    async fn put_baseline(
        &self,
        name: String,
        spec: Input<BaselineSpec>,
    ) -> Result<Baseline, AppError> {
        let actor = self.allowed(Permission::Operate)?;
        let mut tx = self.store().begin_watch().await?;
        let before = tx.baseline(&name).await?.ok_or_else(|| no_baseline(&name))?;
        rules::authorize(actor, Permission::Watch { owner: &before.created_by })?;
        let spec = spec.and_then(|mut spec| {
            spec.name = spec.name.trim().to_string();
            super::name_from_path(&mut spec.name, &name)?;
            Ok(spec)
        });
        let spec = self.checked_baseline(actor, spec).await?;
        let saved = tx.update_baseline(&spec, self.now()).await?;
        let changes = spec_changes(Some(&before.spec()), Some(&saved.spec()));
        self.audit_baseline(&mut tx, "baseline.update", &name, &changes).await?;
        tx.commit().await?;
        Ok(saved)
    }

    async fn delete_baseline(&self, name: String) -> Result<(), AppError> {
        let actor = self.allowed(Permission::Operate)?;
        let mut tx = self.store().begin_watch().await?;
        let found = tx.baseline(&name).await?.ok_or_else(|| no_baseline(&name))?;
        rules::authorize(actor, Permission::Watch { owner: &found.created_by })?;
        tx.delete_baseline(&name).await?;
        let changes = spec_changes(Some(&found.spec()), None);
        self.audit_baseline(&mut tx, "baseline.delete", &name, &changes).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn baseline_status(
        &self,
        name: String,
        run_date: Option<NaiveDate>,
    ) -> Result<BaselineStatus, AppError> {
        self.allowed(Permission::Read)?;
        let found = self.store().baseline(&name).await?.ok_or_else(|| no_baseline(&name))?;
        let now = self.now();
        let tz = self.engine().config().tz;
        let run_date = run_date.unwrap_or_else(|| now.with_timezone(&tz).date_naive());
        crate::alerts::baseline::status(self.store(), &found, run_date, tz, now).await?.ok_or_else(
            || {
                AppError::because(Reason::BaselineNoInstances {
                    name: name.clone(),
                    run_date: run_date.to_string(),
                })
            },
        )
    }
}
