//! Backtesting a contract: replay historical leads through [`assess`] at each lead's own
//! time and measure how well the contract's MQL decision predicted which leads became
//! SQLs.
//!
//! A history is one CSV row per lead (the format is in `docs/backtest.md` and
//! [`COLUMNS`]): who the lead is, every signal with its time, and the outcome. Each lead
//! is assessed the way the ingest path assesses it in production, once per arrival of a
//! signal, at that signal's time; the first assessment that says [`Action::ActNow`]
//! makes it an MQL. What happened later cannot leak into an earlier decision because
//! `assess` only counts signals sent by the instant it is given.
//!
//! Everything here is pure: the text is passed in, nothing reads a clock.
//!
//! The steps live in private modules and are re-exported here: `history` reads and
//! writes the file, `replay` assesses each lead over time, `summary` scores the replay
//! against the outcomes, `compare` puts two contracts side by side. `generate` makes
//! synthetic histories.
//!
//! [`assess`]: leadwatch_core::assess::assess
//! [`Action::ActNow`]: leadwatch_core::assess::Action::ActNow

pub mod generate;

mod compare;
mod history;
mod replay;
mod summary;

pub use compare::{compare, Comparison, Delta, Flip};
pub use history::{
    encode_signals, parse_history, parse_signals, write_history, Column, CsvProblem, HistoryErrors,
    HistoryRecord, COLUMNS, MAX_REPORTED_PROBLEMS, REQUIRED_COLUMNS,
};
pub use replay::{replay, replay_lead, LeadReplay};
pub use summary::{
    backtest, summarise, BacktestOptions, BacktestResult, Band, Calibration, Confusion, Inversion,
};
