//! The session-cleanup function as a library, so its binary, tests and benchmark share one run.
//!
//! `cleanup` is the run (and the Lambda handler around it), `backoff` the throttling retry.
//! What may be deleted, and the conditional deletes, belong to the tables' owners
//! (`shared::session`, `shared::lockout`, over the index of `shared::gc`); so does the cursor
//! (`shared::lockout::Cursor`, an item of the counters table). `seed`, the bulk writes tests and
//! the benchmark fill tables with, exists only for them (`--features testing`).

pub mod backoff;
pub mod cleanup;
#[cfg(any(test, feature = "testing"))]
pub mod seed;
