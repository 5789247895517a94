//! The sign-on function as a library, so its binaries, tests and benchmark share one handler.

pub mod handler;
