//! Leadwatch's HTTP API.
pub mod http;
