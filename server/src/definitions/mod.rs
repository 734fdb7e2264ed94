//! Definitions as people write them: their validation ([`validate`]), the workflow-as-code file
//! format ([`file`]), and applying a change to the store with its audit entry ([`apply`]).

pub mod apply;
pub mod file;
pub mod validate;

pub use apply::{ApplyMode, By, UpsertReport, apply};
pub use file::DefinitionFile;
pub use validate::{DefinitionError, check_graph, check_spec};
