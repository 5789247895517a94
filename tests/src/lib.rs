//! Tests of the whole service, which belong to no single crate; the code is all in `tests/`.
//!
//! - `tests/e2e.rs`: end to end, real HTTP through `cargo lambda watch` to the built function
//!   binaries on DynamoDB Local (ignored unless `scripts/test` has started the stack).
//! - `tests/template.rs`: the drift test; template.yaml, the tables defined in `shared`, the
//!   `cargo lambda watch` router in the workspace Cargo.toml, openapi.yaml and the function
//!   crates must describe one service.
//! - `tests/events.rs`: every fixture in `events/` is an event its function accepts.
//! - `tests/media_type.rs`: every JSON POST reads its body only as `application/json`.
//! - `tests/one_mailbox.rs`: every spelling of one mailbox reaches one member (DESIGN §7.10).
//!
//! - `tests/<flow>_across.rs`: a flow's behaviour seen through another function (a password
//!   changed is the one login accepts; a logged-out session's tokens are refused by the token
//!   endpoint and change password). Every function crate is a dev-dependency, so no function
//!   crate needs another; `tests/common/mod.rs` holds the calls they share.
