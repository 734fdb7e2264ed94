//! Business calendars: read by anyone signed in, changed by an administrator (like resource
//! groups, they are part of the project's definitions and written by the same `apply`); a
//! calendar that nodes follow cannot be deleted.

use app::calendars::Calendar;
use app::error::AppError;
use app::reason::{Reason, Thing};
use app::rules::Permission;
use app::usecases::{Calendars, Input};

use super::Service;
use crate::definitions::apply::calendar_changes;
use crate::definitions::{ApplyMode, DefinitionFile};

/// How many of the nodes that still follow a calendar a refusal names (the first by name).
const NAMED_USERS: u32 = 20;

fn no_calendar(name: &str) -> AppError {
    AppError::because(Reason::NotFound { thing: Thing::Calendar, name: name.to_string() })
}

impl Service {
    /// Writes one calendar through the definitions' `apply` and reads it back as stored.
    async fn save_calendar(
        &self,
        calendar: Calendar,
        mode: ApplyMode,
    ) -> Result<Calendar, AppError> {
        self.allowed(Permission::ManageProject)?;
        let name = calendar.name.clone();
        self.apply(DefinitionFile { calendars: vec![calendar], ..Default::default() }, mode)
            .await?;
        self.store().calendar(&name).await?.ok_or_else(|| no_calendar(&name))
    }
}

#[async_trait::async_trait]
impl Calendars for Service {
    async fn calendars(&self) -> Result<Vec<Calendar>, AppError> {
        self.allowed(Permission::Read)?;
        Ok(self.store().calendars().await?)
    }

    async fn calendar(&self, name: String) -> Result<Calendar, AppError> {
        self.allowed(Permission::Read)?;
        self.store().calendar(&name).await?.ok_or_else(|| no_calendar(&name))
    }

    async fn create_calendar(&self, calendar: Input<Calendar>) -> Result<Calendar, AppError> {
        self.allowed(Permission::ManageProject)?;
        self.save_calendar(calendar?, ApplyMode::CreateOnly).await
    }

    async fn put_calendar(
        &self,
        name: String,
        calendar: Input<Calendar>,
    ) -> Result<Calendar, AppError> {
        self.allowed(Permission::ManageProject)?;
        let mut calendar = calendar?;
        super::name_from_path(&mut calendar.name, &name)?;
        self.save_calendar(calendar, ApplyMode::Upsert).await
    }

    async fn delete_calendar(&self, name: String) -> Result<(), AppError> {
        let actor = self.allowed(Permission::ManageProject)?;
        let mut tx = self.store().begin_definitions().await?;
        let found = tx
            .calendars()
            .await?
            .into_iter()
            .find(|c| c.name == name)
            .ok_or_else(|| no_calendar(&name))?;
        let nodes = tx.calendar_users(&name, NAMED_USERS).await?;
        if !nodes.is_empty() {
            return Err(AppError::because(Reason::CalendarInUse { calendar: name, nodes }));
        }
        tx.delete_calendar(&name).await?;
        let changes = calendar_changes(Some(&found), None);
        let subject = format!("calendar:{name}");
        tx.audit(&self.change_entry(actor, "calendar.delete", subject, &changes)).await?;
        tx.commit().await?;
        Ok(())
    }
}
