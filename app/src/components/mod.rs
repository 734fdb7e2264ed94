//! Reusable pieces of UI.

pub mod actions;
pub mod context;
pub mod csrf;
pub mod form;
pub mod jobs_panel;
pub mod language;
pub mod legend;
pub mod live;
pub mod modal;
pub mod node_actions;
pub mod paged;
pub mod state_badge;
pub mod time;
pub mod toasts;
