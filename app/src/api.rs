//! Server functions: typed calls from the browser, each a thin wrapper over [`crate::backend`].

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{InstanceFilter, InstancePage, PageRequest, StateCounts};

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn list_instances(
    filter: InstanceFilter,
    page: PageRequest,
) -> Result<InstancePage, AppError> {
    crate::backend::backend()?.list_instances(filter, page).await
}

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn instance_stats(filter: InstanceFilter) -> Result<StateCounts, AppError> {
    crate::backend::backend()?.instance_stats(filter).await
}
