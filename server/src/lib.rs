//! The Nightshift server: configuration, the store, the engine, the REST API and the web UI.
//! `main.rs` only parses the command line and calls into here.

pub mod auth;
pub mod config;
pub mod definitions;
pub mod demo;
pub mod engine;
pub mod explain;
pub mod http;
pub mod jobs;
pub mod logs;
pub mod nodes;
pub mod ops;
pub mod serve;
pub mod store;
pub mod web;
