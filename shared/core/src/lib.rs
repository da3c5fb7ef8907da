//! Leadwatch's pure domain: the MQL contract, scoring and its explanation, the lead
//! lifecycle, the business-hours SLA clock, the handoff packet, alert documents and the
//! report and rollup arithmetic.
//!
//! No I/O, no AWS types, no clock: every function that needs the time takes it as a
//! parameter, so tests, replays and backtests are deterministic. The crate's manifest
//! keeps chrono's clock out and its `clippy.toml` forbids the std clocks, so this is
//! the compiler's rule, not a convention.

pub mod access;
pub mod alert;
pub mod assess;
pub mod calendar;
pub mod commands;
pub mod contract;
pub mod explain;
pub mod export;
pub mod intake;
pub mod lead;
pub mod lead_ids;
pub mod lifecycle;
pub mod notify;
pub mod packet;
pub mod queue_view;
pub mod report;
pub mod rollup;
pub mod signed;
pub mod sla;
pub mod state;
pub mod text;

pub use assess::{assess, Action, Assessment};
pub use contract::Contract;
pub use lead_ids::LeadIds;
