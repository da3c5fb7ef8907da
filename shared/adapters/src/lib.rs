//! Adapters: the only code that talks to AWS. Each wraps one service behind the
//! operations Leadwatch needs and is tested against moto over the real wire protocol.

pub mod alerts;
pub mod aws;
pub mod calls;
pub mod change_stream;
pub mod config;
pub mod emf;
pub mod exports;
pub mod notify;
pub mod secrets;
pub mod store;
pub mod table;
pub mod warm;
