//! One module per page.

pub mod account;
pub mod alerts;
pub mod audit;
pub mod baselines;
pub mod calendars;
pub mod detail;
pub mod flow;
pub mod instances;
pub mod lazy;
pub mod log;
pub mod login;
pub(crate) mod markup;
pub mod node;
pub mod node_history;
pub mod tasks;
pub mod users;
pub mod workers;
