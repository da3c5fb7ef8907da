//! The library half of the `leadwatch` command: what the binary and the end-to-end tests
//! share. The local dev server lives here so that a test can start it in-process on a
//! free port against its own emulator.

pub mod serve;
