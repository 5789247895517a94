//! The sessions function as a library, so its binary and its tests share one handler.

pub mod handler;
