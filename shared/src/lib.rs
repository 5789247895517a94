//! What every member-auth Lambda function shares.
//!
//! Each module owns one concept of the domain and, where it has one, its DynamoDB table:
//! `member` the members table, `session` the sessions table, `lockout` the counters table.
//! Raw input becomes domain types (`Email`, `Password`, `SessionToken`) at the edge, in
//! `http` and the flow's handler; everything past that holds only parsed values.

pub mod app;
pub mod auth;
pub mod captcha;
pub mod clock;
pub mod config;
pub mod dynamo;
pub mod email;
pub mod error;
pub mod gc;
pub mod http;
pub mod lockout;
pub mod member;
pub mod metrics;
pub mod password;
pub mod recovery;
pub mod secret;
pub mod session;
pub mod tables;
pub mod telemetry;
pub mod token;
pub mod verification;
pub mod xray;

#[cfg(feature = "mail")]
pub mod mail;

#[cfg(feature = "testing")]
pub mod testing;

/// Entry points for the parser fuzzers and property tests (issue 16); never in a binary.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
