//! The recovery function as a library, so its binary, tests and benchmark share one handler.

pub mod handler;
