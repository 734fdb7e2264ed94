//! Reusable pieces of UI.

pub mod actions;
pub mod context;
pub mod legend;
pub mod live;
pub mod state_badge;
pub mod time;
pub mod toasts;
