#![recursion_limit = "256"]
//! Nightshift's shared crate: typed models, the operation rules, the UI and its server functions.
//! Everything that touches the database or processes is behind the `ssr` feature.

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod components;
pub mod definition;
pub mod error;
pub mod model;
pub mod pages;
pub mod people;
pub mod rules;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode, StaticSegment,
    components::{A, Route, Router, Routes},
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Marks the page as interactive once the WASM bundle has hydrated it (tests wait for this).
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/nightshift.css"/>
        <Title text="Nightshift"/>
        <Router>
            <header class="topbar">
                <A href="/" attr:class="brand">"Nightshift"</A>
                <nav>
                    <A href="/">"Cycle instances"</A>
                </nav>
            </header>
            <main>
                <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                    // Async: the first response already holds the rows (no loading flash, no layout jump).
                    <Route
                        path=StaticSegment("")
                        view=pages::instances::InstancesPage
                        ssr=SsrMode::Async
                    />
                </Routes>
            </main>
        </Router>
    }
}
