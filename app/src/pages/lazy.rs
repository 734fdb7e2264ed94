//! The pages that are not the instance lists come in chunks of their own: each route below is a
//! split point of the browser bundle, fetched the first time the page is shown (a server-rendered
//! page preloads the chunks it needs). The instance lists, their menus and dialogs stay in the
//! main bundle: they are what people open first and most.

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use super::{
    account, alerts, audit, baselines, calendars, detail, flow, log, login, node, tasks, users,
    workers,
};

/// A route whose view is split out of the main bundle; it needs no data of its own before the
/// view loads (each page starts its own resources).
macro_rules! lazy_page {
    ($route:ident => $view:expr) => {
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                $view.into_any()
            }
        }
    };
}

lazy_page!(DetailRoute => view! { <detail::DetailPage/> });
lazy_page!(LogRoute => view! { <log::LogPage/> });
lazy_page!(FlowRoute => view! { <flow::FlowPage/> });
lazy_page!(TasksRoute => view! { <tasks::TasksPage/> });
lazy_page!(NodeRoute => view! { <node::NodePage/> });
lazy_page!(NewNodeRoute => view! { <node::NodeFormPage editing=false/> });
lazy_page!(EditNodeRoute => view! { <node::NodeFormPage editing=true/> });
lazy_page!(LoginRoute => view! { <login::LoginPage/> });
lazy_page!(AccountRoute => view! { <account::AccountPage/> });
lazy_page!(UsersRoute => view! { <users::UsersPage/> });
lazy_page!(AuditRoute => view! { <audit::AuditPage/> });
lazy_page!(WorkersRoute => view! { <workers::WorkersPage/> });
lazy_page!(AlertsRoute => view! { <alerts::AlertsPage/> });
lazy_page!(BaselinesRoute => view! { <baselines::BaselinesPage/> });
lazy_page!(CalendarsRoute => view! { <calendars::CalendarsPage/> });
