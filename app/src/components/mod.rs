//! Small reusable pieces of UI.

pub mod state_badge;
pub mod time;
