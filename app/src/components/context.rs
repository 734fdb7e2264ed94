//! The UI's shared state, provided once by the App: who is acting, the live-update tick, the
//! open action menu and dialog, and the toasts.

use leptos::prelude::*;

use crate::error::AppError;
use crate::flow::FlowInstance;
use crate::model::{Instance, InstanceId};
use crate::people::Actor;
use crate::report::{BatchKind, BatchRequest};
use crate::rules::Operation;

/// The facts about an instance the menus and dialogs need.
pub type Target = FlowInstance;

pub fn target_of(instance: &Instance) -> Target {
    FlowInstance {
        id: instance.id,
        node: instance.node.clone(),
        owner: instance.owner.clone(),
        state: instance.state,
        paused: instance.paused,
        run_date: None,
    }
}

/// What is open on top of the page.
#[derive(Debug, Clone, PartialEq)]
pub enum Dialog {
    /// Preview, then confirm, one operation on one instance.
    Operation { target: Target, op: Operation },
    /// The checked-downstream dialog.
    RerunDownstream { target: Target },
    /// Preview, then confirm, a batch.
    Batch { kind: BatchKind, request: BatchRequest, label: String },
    /// Generate and run test instances of a node or a workflow.
    Test { node: Option<String>, workflow: Option<String> },
    /// Backfill a node (and chosen descendants).
    Backfill { node: String },
}

/// A node (definition) the node menu is open for.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeTarget {
    pub name: String,
    pub owner: String,
    pub paused: bool,
}

/// Where the right-click menu is open, and for which instance.
#[derive(Debug, Clone, PartialEq)]
pub struct MenuAt {
    pub target: Target,
    pub x: i32,
    pub y: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    pub id: u64,
    pub text: String,
    pub error: bool,
}

#[derive(Clone, Copy)]
pub struct Ui {
    pub me: Resource<Result<Actor, AppError>>,
    /// Goes up when instances changed on the server (server-sent events, throttled).
    pub tick: RwSignal<u64>,
    /// Goes up when the statistics should be read again: at once after an operation of our own,
    /// at most every few seconds for changes made elsewhere (see `live.rs`).
    pub counts_tick: RwSignal<u64>,
    pub menu: RwSignal<Option<MenuAt>>,
    /// The node (definition) menu: the node, and where.
    pub node_menu: RwSignal<Option<(NodeTarget, i32, i32)>>,
    pub dialog: RwSignal<Option<Dialog>>,
    pub toasts: RwSignal<Vec<Toast>>,
}

impl Ui {
    pub fn provide() -> Ui {
        let ui = Ui {
            me: Resource::new(|| (), |_| crate::api::whoami()),
            tick: RwSignal::new(0),
            counts_tick: RwSignal::new(0),
            menu: RwSignal::new(None),
            node_menu: RwSignal::new(None),
            dialog: RwSignal::new(None),
            toasts: RwSignal::new(Vec::new()),
        };
        provide_context(ui);
        ui
    }

    pub fn get() -> Ui {
        expect_context::<Ui>()
    }

    /// The acting person, once known.
    pub fn actor(&self) -> Option<Actor> {
        self.me.get().and_then(Result::ok)
    }

    pub fn toast(&self, text: impl Into<String>, error: bool) {
        let id = self.toasts.with_untracked(|t| t.iter().map(|t| t.id).max().unwrap_or(0) + 1);
        self.toasts.update(|t| t.push(Toast { id, text: text.into(), error }));
        let toasts = self.toasts;
        set_timeout(
            move || toasts.update(|t| t.retain(|toast| toast.id != id)),
            std::time::Duration::from_secs(if error { 8 } else { 4 }),
        );
    }

    /// Refresh what the page shows now (after an operation of our own).
    pub fn refresh(&self) {
        self.tick.update(|t| *t += 1);
        self.counts_tick.update(|t| *t += 1);
    }
}

/// Links of an instance's pages.
pub fn detail_href(id: InstanceId) -> String {
    format!("/instances/{id}")
}

pub fn log_href(id: InstanceId) -> String {
    format!("/instances/{id}/log")
}

pub fn flow_href(id: InstanceId) -> String {
    format!("/instances/{id}/flow")
}

pub fn node_href(name: &str) -> String {
    format!("/tasks/{}", crate::model::url_encode(name))
}
