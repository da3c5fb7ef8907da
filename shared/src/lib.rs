//! Leadwatch: an MQL SLA watchdog for B2B revenue teams on AWS.
//!
//! The crate has two layers, and the entry points in `functions/*` add the third:
//!
//! * [`domain`]: the MQL contract, scoring, lifecycle, SLA clock and handoff packet.
//!   Pure functions of their inputs; time is always a parameter.
//! * [`adapters`]: DynamoDB store, SNS alerts and EMF metrics: the only code that talks
//!   to AWS.

pub mod adapters;
pub mod config;
pub mod domain;
pub mod http;

pub use domain::assess::{assess, Action, Assessment};
pub use domain::contract::Contract;
