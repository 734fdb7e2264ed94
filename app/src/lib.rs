#![recursion_limit = "256"]
//! Nightshift's shared crate: typed models, the operation rules, the UI and its server functions.
//! Everything that touches the database or processes is behind the `ssr` feature.

pub mod alerts;
pub mod api;
pub mod audit;
pub mod baselines;
pub mod calendars;
pub mod components;
pub mod error;
pub mod flow;
pub mod jobs;
pub mod lang;
pub mod model;
pub mod nodes;
pub mod pages;
pub mod people;
pub mod reason;
pub mod report;
pub mod rules;
pub mod schedule_words;
pub mod text;
#[cfg(feature = "ssr")]
pub mod usecases;
pub mod waiting;
pub mod workers;

// The translations, generated from `locales/` by build.rs: `i18n::Locale` and its typed keys.
include!(concat!(env!("OUT_DIR"), "/i18n.rs"));

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    Lazy, ParamSegment, SsrMode, StaticSegment,
    components::{A, Route, Router, Routes},
};

use crate::i18n::td_string;
use crate::lang::provide_locale;
use crate::model::RunType;
use crate::pages::instances::InstancesPage;
use crate::pages::lazy;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = lang::tag(lang::request_locale());
    view! {
        <!DOCTYPE html>
        <html lang=lang>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='7' fill='%23141b2d'/%3E%3Ccircle cx='10' cy='6' r='5' fill='%239db4ff'/%3E%3C/svg%3E"/>
                <meta name="csrf-token" content=components::csrf::form_token()/>
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

/// Marks the page as interactive once the WASM bundle has hydrated all of it, lazily loaded
/// pages included (tests wait for this).
#[cfg(feature = "hydrate")]
pub fn mark_hydrated() {
    if let Some(body) = document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let l = provide_locale();
    let ui = components::context::Ui::provide();
    // Who is signed in, the sections they may visit, and the way out. Nothing but the brand
    // and the language on the login page.
    let who = move || {
        ui.actor().map(|actor| {
            let may_manage_people =
                rules::authorize(&actor, rules::Permission::ManageUsers).is_ok();
            view! {
                <nav aria-label=td_string!(l, common.nav.sections)>
                    <A href="/tasks">{td_string!(l, common.nav.tasks)}</A>
                    <A href="/cycle">{td_string!(l, common.nav.cycle)}</A>
                    <A href="/test">{td_string!(l, common.nav.test)}</A>
                    <A href="/backfill">{td_string!(l, common.nav.backfill)}</A>
                    <A href="/audit">{td_string!(l, common.nav.audit)}</A>
                    <A href="/alerts">{td_string!(l, common.nav.alerts)}</A>
                    <A href="/baselines">{td_string!(l, common.nav.baselines)}</A>
                    <A href="/calendars">{td_string!(l, common.nav.calendars)}</A>
                    <A href="/workers">{td_string!(l, common.nav.workers)}</A>
                    {may_manage_people.then(|| view! { <A href="/users">{td_string!(l, common.nav.people)}</A> })}
                </nav>
                <span class="spacer"></span>
                <a class="who" href="/account" title=td_string!(l, common.nav.account_title)>
                    <span class="name">{actor.name}</span>
                    <span class="role">{actor.role.label(l)}</span>
                </a>
                <form class="logout" method="post" action="/logout">
                    <input type="hidden" name="csrf_token" value=components::csrf::form_token()/>
                    <button type="submit" class="link">{td_string!(l, common.nav.sign_out)}</button>
                </form>
            }
        })
    };

    view! {
        <Stylesheet id="leptos" href="/pkg/nightshift.css"/>
        <Title text=td_string!(l, common.brand)/>
        <Router>
            <header class="topbar">
                <A href="/" attr:class="brand">{td_string!(l, common.brand)}</A>
                <Transition fallback=|| ()>{who}</Transition>
                <components::language::LanguageSwitch/>
            </header>
            <main>
                <Routes fallback=move || view! { <p class="empty">{td_string!(l, common.nav.not_found)}</p> }>
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
                        view={Lazy::<lazy::DetailRoute>::new()}
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=(StaticSegment("instances"), ParamSegment("id"), StaticSegment("log"))
                        view={Lazy::<lazy::LogRoute>::new()}
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=(StaticSegment("instances"), ParamSegment("id"), StaticSegment("flow"))
                        view={Lazy::<lazy::FlowRoute>::new()}
                    />
                    <Route path=StaticSegment("tasks") view={Lazy::<lazy::TasksRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=StaticSegment("login") view={Lazy::<lazy::LoginRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=StaticSegment("account") view={Lazy::<lazy::AccountRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=StaticSegment("users") view={Lazy::<lazy::UsersRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=StaticSegment("audit") view={Lazy::<lazy::AuditRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=StaticSegment("workers") view={Lazy::<lazy::WorkersRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=StaticSegment("alerts") view={Lazy::<lazy::AlertsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=StaticSegment("baselines") view={Lazy::<lazy::BaselinesRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=StaticSegment("calendars") view={Lazy::<lazy::CalendarsRoute>::new()} ssr=SsrMode::Async/>
                    <Route
                        path=(StaticSegment("tasks"), StaticSegment("new"))
                        view={Lazy::<lazy::NewNodeRoute>::new()}
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=(StaticSegment("tasks"), ParamSegment("name"))
                        view={Lazy::<lazy::NodeRoute>::new()}
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=(StaticSegment("tasks"), ParamSegment("name"), StaticSegment("edit"))
                        view={Lazy::<lazy::EditNodeRoute>::new()}
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
