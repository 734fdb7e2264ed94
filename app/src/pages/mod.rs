//! One module per page.

pub mod detail;
pub mod flow;
pub mod instances;
pub mod log;
pub mod node;
pub mod tasks;
