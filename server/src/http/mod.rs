//! HTTP: the JSON REST API under `/api/v1` (for scripts and other tools) and its error policy.
//! The web UI is wired in [`crate::web`].

pub mod api;
pub mod auth;
pub mod error;
pub mod events;
pub mod jobs;
pub mod operations;
pub mod people;
