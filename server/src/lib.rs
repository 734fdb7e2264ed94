//! The Nightshift server: configuration, the store, the engine, the REST API and the web UI.
//! `main.rs` only parses the command line and calls into here.

pub mod alerts;
pub mod auth;
pub mod config;
pub mod definitions;
pub mod demo;
pub mod engine;
pub mod explain;
pub mod http;
pub mod limits;
pub mod logs;
pub mod metrics;
pub mod retention;
pub mod serve;
pub mod service;
pub mod store;
pub mod web;
