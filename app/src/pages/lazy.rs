//! The pages that are not the instance lists come in chunks of their own: each route below is a
//! split point of the browser bundle, fetched the first time the page is shown (a server-rendered
//! page preloads the chunks it needs). The instance lists, their menus and dialogs stay in the
//! main bundle: they are what people open first and most.

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use super::{account, audit, detail, flow, log, login, node, tasks, users};

pub struct DetailRoute;
#[lazy_route]
impl LazyRoute for DetailRoute {
    fn data() -> Self {
        DetailRoute
    }
    fn view(_this: Self) -> AnyView {
        view! { <detail::DetailPage/> }.into_any()
    }
}

pub struct LogRoute;
#[lazy_route]
impl LazyRoute for LogRoute {
    fn data() -> Self {
        LogRoute
    }
    fn view(_this: Self) -> AnyView {
        view! { <log::LogPage/> }.into_any()
    }
}

pub struct FlowRoute;
#[lazy_route]
impl LazyRoute for FlowRoute {
    fn data() -> Self {
        FlowRoute
    }
    fn view(_this: Self) -> AnyView {
        view! { <flow::FlowPage/> }.into_any()
    }
}

pub struct TasksRoute;
#[lazy_route]
impl LazyRoute for TasksRoute {
    fn data() -> Self {
        TasksRoute
    }
    fn view(_this: Self) -> AnyView {
        view! { <tasks::TasksPage/> }.into_any()
    }
}

pub struct NodeRoute;
#[lazy_route]
impl LazyRoute for NodeRoute {
    fn data() -> Self {
        NodeRoute
    }
    fn view(_this: Self) -> AnyView {
        view! { <node::NodePage/> }.into_any()
    }
}

pub struct NewNodeRoute;
#[lazy_route]
impl LazyRoute for NewNodeRoute {
    fn data() -> Self {
        NewNodeRoute
    }
    fn view(_this: Self) -> AnyView {
        view! { <node::NodeFormPage editing=false/> }.into_any()
    }
}

pub struct EditNodeRoute;
#[lazy_route]
impl LazyRoute for EditNodeRoute {
    fn data() -> Self {
        EditNodeRoute
    }
    fn view(_this: Self) -> AnyView {
        view! { <node::NodeFormPage editing=true/> }.into_any()
    }
}

pub struct LoginRoute;
#[lazy_route]
impl LazyRoute for LoginRoute {
    fn data() -> Self {
        LoginRoute
    }
    fn view(_this: Self) -> AnyView {
        view! { <login::LoginPage/> }.into_any()
    }
}

pub struct AccountRoute;
#[lazy_route]
impl LazyRoute for AccountRoute {
    fn data() -> Self {
        AccountRoute
    }
    fn view(_this: Self) -> AnyView {
        view! { <account::AccountPage/> }.into_any()
    }
}

pub struct UsersRoute;
#[lazy_route]
impl LazyRoute for UsersRoute {
    fn data() -> Self {
        UsersRoute
    }
    fn view(_this: Self) -> AnyView {
        view! { <users::UsersPage/> }.into_any()
    }
}

pub struct AuditRoute;
#[lazy_route]
impl LazyRoute for AuditRoute {
    fn data() -> Self {
        AuditRoute
    }
    fn view(_this: Self) -> AnyView {
        view! { <audit::AuditPage/> }.into_any()
    }
}
