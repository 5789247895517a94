//! The session-cleanup function as a library, so its binary, tests and benchmark share one run.
//!
//! `cleanup` is the run (and the Lambda handler around it), `garbage` what may be deleted from
//! each table and how, `cursor` where the next run resumes, `backoff` the throttling retry,
//! `seed` the bulk writes tests and the benchmark fill tables with.

pub mod backoff;
pub mod cleanup;
pub mod cursor;
pub mod garbage;
pub mod seed;
