//! One module per page.

pub mod instances;
