//! The seam between the UI's server functions and the engine: the server crate implements
//! [`Backend`] and puts it into the Leptos context; server functions only ever call it.
//! (The store and the engine live in the server crate, which depends on this one.)

use std::sync::Arc;

use leptos::prelude::use_context;

use crate::error::AppError;
use crate::model::{InstanceFilter, InstancePage, PageRequest, StateCounts};

#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    async fn list_instances(
        &self,
        filter: InstanceFilter,
        page: PageRequest,
    ) -> Result<InstancePage, AppError>;

    async fn instance_stats(&self, filter: InstanceFilter) -> Result<StateCounts, AppError>;
}

pub type SharedBackend = Arc<dyn Backend>;

/// The backend of the current request.
pub fn backend() -> Result<SharedBackend, AppError> {
    use_context::<SharedBackend>()
        .ok_or_else(|| AppError::internal("the server did not provide a backend"))
}
