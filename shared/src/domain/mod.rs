//! The pure domain: no I/O, no AWS types, no clock. Every function that needs the time
//! takes it as a parameter, so tests, replays and backtests are deterministic.

pub mod alert;
pub mod assess;
pub mod backtest;
pub mod calendar;
pub mod contract;
pub mod explain;
pub mod lead;
pub mod lifecycle;
pub mod packet;
pub mod report;
pub mod rollup;
pub mod sla;
pub mod state;
pub mod text;
