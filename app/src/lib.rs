#![recursion_limit = "256"]
//! Nightshift's shared crate: typed models, the operation rules, the UI and its server functions.
//! Everything that touches the database or processes is behind the `ssr` feature.

pub mod api;
pub mod audit;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod components;
pub mod definition;
pub mod error;
pub mod flow;
pub mod jobs;
pub mod model;
pub mod pages;
pub mod people;
pub mod report;
pub mod rules;
pub mod schedule_words;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    ParamSegment, SsrMode, StaticSegment,
    components::{A, Route, Router, Routes},
};

use crate::model::RunType;
use crate::pages::instances::InstancesPage;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='7' fill='%23141b2d'/%3E%3Ccircle cx='10' cy='6' r='5' fill='%239db4ff'/%3E%3C/svg%3E"/>
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
    let ui = components::context::Ui::provide();
    // Marks the page as interactive once the WASM bundle has hydrated it (tests wait for this).
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    let who = move || {
        ui.actor().map(|actor| view! { <span class="who">{actor.name}<span class="role">{actor.role.as_str()}</span></span> })
    };

    view! {
        <Stylesheet id="leptos" href="/pkg/nightshift.css"/>
        <Title text="Nightshift"/>
        <Router>
            <header class="topbar">
                <A href="/" attr:class="brand">"Nightshift"</A>
                <nav aria-label="Sections">
                    <A href="/tasks">"Tasks"</A>
                    <A href="/cycle">"Cycle instances"</A>
                    <A href="/test">"Test instances"</A>
                    <A href="/backfill">"Backfill instances"</A>
                </nav>
                <span class="spacer"></span>
                <Transition fallback=|| ()>{who}</Transition>
            </header>
            <main>
                <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                    // Async: the first response already holds the rows (no loading flash, no
                    // layout jump).
                    <Route
                        path=StaticSegment("")
                        view=|| view! { <InstancesPage run_type=RunType::Cycle/> }
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=StaticSegment("cycle")
                        view=|| view! { <InstancesPage run_type=RunType::Cycle/> }
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=StaticSegment("test")
                        view=|| view! { <InstancesPage run_type=RunType::Test/> }
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=StaticSegment("backfill")
                        view=|| view! { <InstancesPage run_type=RunType::Backfill/> }
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=(StaticSegment("instances"), ParamSegment("id"))
                        view=pages::detail::DetailPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=(StaticSegment("instances"), ParamSegment("id"), StaticSegment("log"))
                        view=pages::log::LogPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=(StaticSegment("instances"), ParamSegment("id"), StaticSegment("flow"))
                        view=pages::flow::FlowPage
                    />
                    <Route path=StaticSegment("tasks") view=pages::tasks::TasksPage ssr=SsrMode::Async/>
                    <Route
                        path=(StaticSegment("tasks"), StaticSegment("new"))
                        view=|| view! { <pages::node::NodeFormPage editing=false/> }
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=(StaticSegment("tasks"), ParamSegment("name"))
                        view=pages::node::NodePage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=(StaticSegment("tasks"), ParamSegment("name"), StaticSegment("edit"))
                        view=|| view! { <pages::node::NodeFormPage editing=true/> }
                        ssr=SsrMode::Async
                    />
                </Routes>
                <components::actions::ActionMenu/>
                <components::node_actions::NodeMenu/>
                <components::actions::Dialogs/>
                <components::toasts::Toasts/>
                <components::live::LiveUpdates/>
            </main>
        </Router>
    }
}
