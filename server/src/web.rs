//! The web UI: Leptos server-side rendering, the hydration bundle and CSS from the site
//! directory, and the use cases the UI's server functions call: the request's
//! [`Service`](crate::service::Service), the same one the REST handlers use.

use std::sync::Arc;

use app::people::CsrfToken;
use app::usecases::SharedUseCases;
use app::{App, shell};
use axum::Router;
use axum::http::request::Parts;
use axum::routing::post;
use leptos::config::LeptosOptions;
use leptos::prelude::{provide_context, use_context};
use leptos_axum::{LeptosRoutes, generate_route_list};

use crate::auth::Identity;
use crate::http::guard::PageNonce;
use crate::service::{Core, Service};

/// Where the compiled site (pkg/nightshift.js, pkg/nightshift_bg.wasm, pkg/nightshift.css) is.
pub fn leptos_options(site_root: &str, addr: std::net::SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("nightshift")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build()
}

/// The pages, the server functions and the login and logout forms. Each request gets a service
/// that knows who is asking (the [`Identity`] the authentication layer found), and each page the
/// session's CSRF token to hand back.
pub fn router(core: Core, options: LeptosOptions) -> Router {
    let routes = generate_route_list(App);
    let auth_for_forms = core.auth.clone();
    let context = move || {
        let parts = use_context::<Parts>();
        // The answer's nonce, which its policy names (see `http::guard`).
        if let Some(nonce) = parts.as_ref().and_then(|p| p.extensions.get::<PageNonce>()) {
            provide_context(leptos::nonce::Nonce::from_value(nonce.0.as_str()));
        }
        let identity = parts
            .and_then(|parts| parts.extensions.get::<Identity>().cloned())
            .unwrap_or(Identity::Anonymous);
        if let Identity::Session { csrf_token, .. } = &identity {
            provide_context(CsrfToken(csrf_token.clone()));
        }
        let service: SharedUseCases = Arc::new(Service::new(core.clone(), identity));
        provide_context(service);
    };
    let forms: Router = Router::new()
        .route("/login", post(crate::http::people::login_form))
        .route("/logout", post(crate::http::people::logout_form))
        .route(app::components::language::LANGUAGE_PATH, post(crate::http::language::switch_form))
        .with_state(auth_for_forms);
    Router::new()
        .leptos_routes_with_context(&options, routes, context.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(context, shell))
        .with_state(options)
        .merge(forms)
}
