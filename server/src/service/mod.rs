//! The application layer: one [`Service`] per request, made from what the server shares
//! ([`Core`]: the engine with its store and clock, the people service) and who is asking (the
//! request's [`Identity`]). It has one method per use case, and the REST handlers and the UI's
//! server functions are thin adapters over the same methods, so caps, checks and answers cannot
//! drift apart. Each method picks the one permission its use case needs and asks `app::rules`
//! (before any other work), combines the store's reads, applies the business rules and writes
//! the audit entry.
//!
//! The use cases the UI reaches are the traits of `app::usecases`, implemented here one module
//! per concern; the ones only scripts reach (import, snapshots, deleting a node…) are inherent
//! methods beside them.

mod alerts;
mod audit;
mod baselines;
mod calendars;
pub mod instances;
mod jobs;
mod nodes;
mod operations;
mod people;
mod snapshots;
mod workers;

use app::error::AppError;
use app::people::Actor;
use app::rules::{self, Permission};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};

use crate::auth::{Auth, Identity};
use crate::engine::Engine;
use crate::store::{AuditEntry, Store};
use app::audit::{AuditOutcome, FieldChange};

pub use instances::LogFile;

/// What every request's service is made from (cheap to clone).
#[derive(Clone)]
pub struct Core {
    pub engine: Engine,
    pub auth: Auth,
    /// `--demo`: the demo accounts exist, and the login page says so.
    pub demo: bool,
    pub limits: crate::limits::Limits,
}

/// The use cases, for one request.
#[derive(Clone)]
pub struct Service {
    core: Core,
    identity: Identity,
}

impl Service {
    pub fn new(core: Core, identity: Identity) -> Service {
        Service { core, identity }
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The person asking; a 401 without one.
    fn actor(&self) -> Result<&Actor, AppError> {
        self.identity.require()
    }

    /// The person asking, if their role allows `permission` (a 401 or 403 otherwise).
    fn allowed(&self, permission: Permission<'_>) -> Result<&Actor, AppError> {
        let actor = self.actor()?;
        rules::authorize(actor, permission)?;
        Ok(actor)
    }

    fn engine(&self) -> &Engine {
        &self.core.engine
    }

    fn store(&self) -> &Store {
        self.core.engine.store()
    }

    fn auth(&self) -> &Auth {
        &self.core.auth
    }

    fn now(&self) -> DateTime<Utc> {
        self.core.engine.clock().now()
    }

    /// The audit entry of a change of something people define (a node, an alert rule, a
    /// baseline): who changed what (`subject`, `kind:name`), field by field.
    fn change_entry<'a>(
        &self,
        actor: &'a Actor,
        action: &'a str,
        subject: String,
        changes: &'a [FieldChange],
    ) -> AuditEntry<'a> {
        AuditEntry {
            actor: &actor.name,
            action,
            dry_run: false,
            outcome: AuditOutcome::Ok,
            subject: Some(subject),
            message: None,
            requested: 0,
            changed: 0,
            results: &[],
            changes,
            at: self.now(),
        }
    }
}

/// The name of a thing replaced at `PUT …/{name}`: the path's; a body may repeat it but not
/// contradict it (renaming is not supported).
pub fn name_from_path(body: &mut String, path: &str) -> Result<(), AppError> {
    if body.is_empty() {
        *body = path.to_string();
        Ok(())
    } else if body != path {
        Err(AppError::because(app::reason::Reason::Rename {
            body: body.clone(),
            path: path.to_string(),
        }))
    } else {
        Ok(())
    }
}

/// A REST handler's service: the router's [`Core`] and the identity the authentication layer
/// found.
impl FromRequestParts<Core> for Service {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, core: &Core) -> Result<Self, Self::Rejection> {
        let identity = parts.extensions.get::<Identity>().cloned().unwrap_or(Identity::Anonymous);
        Ok(Service::new(core.clone(), identity))
    }
}

/// `what` as an entity id in a path (`/audit/{id}`, `/tokens/{id}`): a 400 naming it otherwise.
pub fn parse_id(what: &str, raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::bad_request(format!("'{raw}' is not {what}")))
}
