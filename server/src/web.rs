//! The web UI: Leptos server-side rendering, the hydration bundle and CSS from the site
//! directory, and the [`Backend`] the UI's server functions call.

use std::sync::Arc;

use app::backend::{Backend, SharedBackend};
use app::error::AppError;
use app::model::{InstanceFilter, InstancePage, PageRequest, StateCounts};
use app::{App, shell};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};

use crate::engine::Engine;

struct EngineBackend {
    engine: Engine,
}

#[async_trait::async_trait]
impl Backend for EngineBackend {
    async fn list_instances(
        &self,
        filter: InstanceFilter,
        page: PageRequest,
    ) -> Result<InstancePage, AppError> {
        Ok(self.engine.store().list_instances(&filter, &page).await?)
    }

    async fn instance_stats(&self, filter: InstanceFilter) -> Result<StateCounts, AppError> {
        Ok(self.engine.store().instance_stats(&filter).await?)
    }
}

/// Where the compiled site (pkg/nightshift.js, pkg/nightshift_bg.wasm, pkg/nightshift.css) is.
pub fn leptos_options(site_root: &str, addr: std::net::SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("nightshift")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build()
}

pub fn router(engine: Engine, options: LeptosOptions) -> Router {
    let backend: SharedBackend = Arc::new(EngineBackend { engine });
    let routes = generate_route_list(App);
    Router::new()
        .leptos_routes_with_context(&options, routes, move || provide_context(backend.clone()), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(options)
}
