//! Lockout and rate-limit counters in the counters table (DESIGN §4).
//!
//! A counter changes only through single conditional `UpdateItem`/`DeleteItem` calls: an
//! attempt is counted *before* the work it guards (argon2, a registration), by an update whose
//! condition admits it only while the counter is under its limit, unlocked and in a current
//! window. So however requests interleave, no more than `limit` attempts per window get
//! through, and the stored count is exact. When that update is refused, DynamoDB returns the
//! item as it stood (`ReturnValuesOnConditionCheckFailure`), and `decide` reads from it what
//! to do: refuse (locked or throttled), place a lock, or start a new window — each again a
//! write conditioned on the state just seen, so concurrent writers cannot both win.
//!
//! A lock lasts `base`, doubling with each further lock up to `max`; the doubling is forgotten
//! a day after the last lock ends, or at once on success. Time is checked here, in code.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use sha2::{Digest, Sha256};

use crate::clock::{Millis, hour_bucket};
use crate::dynamo::{get_n, n, s};
use crate::error::StoreError;

/// How long the doubling of locks is remembered after the last lock ends.
const LOCK_MEMORY_MS: i64 = 86_400_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockPolicy {
    pub base_ms: i64,
    pub max_ms: i64,
}

/// The rule one kind of counter follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub window_ms: i64,
    /// Attempts admitted per window (or before a lock).
    pub limit: u32,
    /// `Some`: reaching the limit locks, with doubling; `None`: it throttles until the window ends.
    pub lock: Option<LockPolicy>,
}

impl Policy {
    /// How long after its last write a counter still matters.
    fn retention_ms(&self) -> i64 {
        match self.lock {
            Some(l) => self.window_ms + l.max_ms + LOCK_MEMORY_MS,
            None => self.window_ms,
        }
    }
}

/// A counter item as stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CounterState {
    pub fails: u32,
    pub window_start: Millis,
    pub lock_until: Millis,
    pub lock_count: u32,
}

impl CounterState {
    fn from_item(item: &HashMap<String, AttributeValue>) -> Self {
        Self {
            fails: get_n(item, "fails").unwrap_or(0) as u32,
            window_start: get_n(item, "windowStart").unwrap_or(0),
            lock_until: get_n(item, "lockUntil").unwrap_or(0),
            lock_count: get_n(item, "lockCount").unwrap_or(0) as u32,
        }
    }
}

/// The result of counting one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// Admitted; `count` attempts (this one included) stand in the current window.
    Admitted { count: u32, window_start: Millis },
    /// Refused until `retry_after` seconds have passed; `locked` tells a lock from a throttle.
    Refused { retry_after: i64, locked: bool },
}

/// What to do with a counter whose count was refused, given the state it was refused in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    Refuse {
        retry_after: i64,
        locked: bool,
    },
    /// Place a lock of `duration_ms`, the `level`-th doubling.
    Lock {
        duration_ms: i64,
        level: u32,
    },
    /// The window (or the lock) is over: start a new window at `window_start`.
    Restart {
        window_start: Millis,
    },
    /// Nothing stands in the way: the state changed between two reads; count again.
    Retry,
}

fn ceil_secs(ms: i64) -> i64 {
    (ms + 999).div_euclid(1000).max(1)
}

/// The decision, from the state a refused count saw. Pure, so it is tested exhaustively.
pub fn decide(st: &CounterState, policy: &Policy, now: Millis) -> Next {
    if st.lock_until > now {
        return Next::Refuse {
            retry_after: ceil_secs(st.lock_until - now),
            locked: true,
        };
    }
    let window_over = st.window_start <= now - policy.window_ms;
    // A new window starts after any lock, so that a lock placed in it is recognisable.
    let restart = Next::Restart {
        window_start: now.max(st.lock_until + 1),
    };
    if window_over {
        return restart;
    }
    if st.fails < policy.limit {
        return Next::Retry;
    }
    match policy.lock {
        // A lock placed in this window has ended: a fresh window begins.
        Some(_) if st.lock_until >= st.window_start => restart,
        Some(lock) => {
            let remembered = st.lock_count > 0 && now - st.lock_until < LOCK_MEMORY_MS;
            let level = if remembered { st.lock_count } else { 0 };
            let duration_ms = lock
                .base_ms
                .saturating_mul(1i64 << level.min(30))
                .min(lock.max_ms);
            Next::Lock { duration_ms, level }
        }
        None => Next::Refuse {
            retry_after: ceil_secs(st.window_start + policy.window_ms - now),
            locked: false,
        },
    }
}

/// The key of a per-email counter: the email's hash, so the table holds no address.
pub fn email_key(kind: &str, email_key: &str) -> String {
    let digest = Sha256::digest(email_key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{kind}#email#{hex}")
}

/// The key of a per-IP counter.
pub fn ip_key(kind: &str, ip: &str) -> String {
    format!("{kind}#ip#{ip}")
}

/// The key of a per-member counter.
pub fn member_key(kind: &str, member_id: &str) -> String {
    format!("{kind}#member#{member_id}")
}

#[derive(Clone, Debug)]
pub struct Counters {
    client: Client,
    table: String,
}

/// A conditional write's outcome: done, or refused with the item as it stood.
enum Write {
    Done(Option<HashMap<String, AttributeValue>>),
    Refused(Option<HashMap<String, AttributeValue>>),
}

impl Counters {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Counts one attempt against `key`, admitting it only within `policy`.
    pub async fn count(
        &self,
        key: &str,
        policy: Policy,
        now: Millis,
    ) -> Result<Attempt, StoreError> {
        let mut seen: Option<CounterState> = None;
        for _ in 0..6 {
            let next = match seen {
                None => Next::Retry,
                Some(st) => decide(&st, &policy, now),
            };
            let write = match next {
                Next::Refuse {
                    retry_after,
                    locked,
                } => {
                    return Ok(Attempt::Refused {
                        retry_after,
                        locked,
                    });
                }
                Next::Retry => self.increment(key, &policy, now).await?,
                Next::Restart { window_start } => {
                    let st = seen.unwrap_or_default();
                    let w = self
                        .transition(
                            key,
                            &st,
                            &policy,
                            now,
                            "SET fails = :one, windowStart = :ws",
                            &[(":one", n(1)), (":ws", n(window_start))],
                        )
                        .await?;
                    if let Write::Done(_) = w {
                        return Ok(Attempt::Admitted {
                            count: 1,
                            window_start,
                        });
                    }
                    w
                }
                Next::Lock { duration_ms, level } => {
                    let st = seen.unwrap_or_default();
                    let w = self
                        .transition(
                            key,
                            &st,
                            &policy,
                            now,
                            "SET lockUntil = :lu, lockCount = :lc, windowStart = :now",
                            &[(":lu", n(now + duration_ms)), (":lc", n(level + 1))],
                        )
                        .await?;
                    if let Write::Done(_) = w {
                        tracing::warn!(event = "lock_placed", counter = %redact(key), seconds = duration_ms / 1000);
                        return Ok(Attempt::Refused {
                            retry_after: ceil_secs(duration_ms),
                            locked: true,
                        });
                    }
                    w
                }
            };
            match write {
                Write::Done(new) => {
                    let st = new
                        .as_ref()
                        .map(CounterState::from_item)
                        .unwrap_or_default();
                    return Ok(Attempt::Admitted {
                        count: st.fails,
                        window_start: st.window_start,
                    });
                }
                Write::Refused(old) => seen = old.as_ref().map(CounterState::from_item),
            }
        }
        // Contention this heavy is an attack in progress: refuse rather than loop.
        Ok(Attempt::Refused {
            retry_after: 1,
            locked: false,
        })
    }

    /// The common case, one request: count the attempt if under the limit, unlocked and in a
    /// current window (creating the counter if there is none).
    async fn increment(
        &self,
        key: &str,
        policy: &Policy,
        now: Millis,
    ) -> Result<Write, StoreError> {
        let gc_at = now + policy.retention_ms();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("counterKey", s(key))
            .update_expression(
                "SET fails = if_not_exists(fails, :zero) + :one, \
                 windowStart = if_not_exists(windowStart, :now), \
                 lockUntil = if_not_exists(lockUntil, :zero), \
                 lockCount = if_not_exists(lockCount, :zero), \
                 gcBucket = :gcb, gcAt = :gca, #ttl = :ttl",
            )
            .condition_expression(
                "attribute_not_exists(counterKey) OR \
                 (fails < :limit AND windowStart > :floor AND lockUntil <= :now)",
            )
            .expression_attribute_names("#ttl", crate::tables::TTL_ATTRIBUTE)
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":limit", n(policy.limit))
            .expression_attribute_values(":floor", n(now - policy.window_ms))
            .expression_attribute_values(":gcb", s(hour_bucket(gc_at)))
            .expression_attribute_values(":gca", n(gc_at))
            .expression_attribute_values(":ttl", n(gc_at.div_euclid(1000) + 86_400))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        update_outcome(result, "UpdateItem count attempt")
    }

    /// A state change conditioned on the counter still being exactly `seen`.
    async fn transition(
        &self,
        key: &str,
        seen: &CounterState,
        policy: &Policy,
        now: Millis,
        set: &str,
        values: &[(&str, AttributeValue)],
    ) -> Result<Write, StoreError> {
        let gc_at = now + policy.retention_ms();
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("counterKey", s(key))
            .update_expression(format!("{set}, gcBucket = :gcb, gcAt = :gca, #ttl = :ttl"))
            .condition_expression(
                "fails = :sf AND windowStart = :sw AND lockUntil = :sl AND lockCount = :sc",
            )
            .expression_attribute_names("#ttl", crate::tables::TTL_ATTRIBUTE)
            .expression_attribute_values(":sf", n(seen.fails))
            .expression_attribute_values(":sw", n(seen.window_start))
            .expression_attribute_values(":sl", n(seen.lock_until))
            .expression_attribute_values(":sc", n(seen.lock_count))
            .expression_attribute_values(":gcb", s(hour_bucket(gc_at)))
            .expression_attribute_values(":gca", n(gc_at))
            .expression_attribute_values(":ttl", n(gc_at.div_euclid(1000) + 86_400))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if set.contains(":now") {
            req = req.expression_attribute_values(":now", n(now));
        }
        for (name, value) in values {
            req = req.expression_attribute_values(*name, value.clone());
        }
        update_outcome(req.send().await, "UpdateItem counter transition")
    }

    /// Forgets a counter after a success, unless a lock is in force (a success racing an
    /// attacker does not lift the attacker's lock).
    pub async fn reset(&self, key: &str, now: Millis) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("counterKey", s(key))
            .condition_expression("attribute_not_exists(lockUntil) OR lockUntil <= :now")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        ignore_condition(result, "DeleteItem counter")
    }

    /// Takes back one attempt counted in the window that began at `window_start` (a success
    /// from a shared IP is not a failure). A window that has moved on is left alone.
    pub async fn refund(&self, key: &str, window_start: Millis) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("counterKey", s(key))
            .update_expression("SET fails = fails - :one")
            .condition_expression("windowStart = :ws AND fails > :zero")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":ws", n(window_start))
            .send()
            .await;
        ignore_condition(result, "UpdateItem refund counter")
    }

    /// The counter as stored (strongly consistent), for tests and operators.
    pub async fn get(&self, key: &str) -> Result<Option<CounterState>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("counterKey", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::new("GetItem counter", e))?;
        Ok(out.item.as_ref().map(CounterState::from_item))
    }
}

type UpdateResult = Result<
    aws_sdk_dynamodb::operation::update_item::UpdateItemOutput,
    SdkError<
        aws_sdk_dynamodb::operation::update_item::UpdateItemError,
        aws_smithy_runtime_api::http::Response,
    >,
>;

/// An `UpdateItem`'s outcome: refused conditions come back with the item as it stood.
fn update_outcome(result: UpdateResult, context: &'static str) -> Result<Write, StoreError> {
    use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
    match result {
        Ok(out) => Ok(Write::Done(out.attributes)),
        Err(e) => match e.into_service_error() {
            UpdateItemError::ConditionalCheckFailedException(c) => Ok(Write::Refused(c.item)),
            other => Err(StoreError::new(context, other)),
        },
    }
}

/// A write whose refused condition only means "nothing to do".
fn ignore_condition<T, E>(
    result: Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>,
    context: &'static str,
) -> Result<(), StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(SdkError::ServiceError(se))
            if se.err().code() == Some("ConditionalCheckFailedException") =>
        {
            Ok(())
        }
        Err(e) => Err(StoreError::new(context, e)),
    }
}

/// A counter key safe to log: its kind and a prefix of its subject.
fn redact(key: &str) -> String {
    key.chars().take(24).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMAIL: Policy = Policy {
        window_ms: 900_000,
        limit: 10,
        lock: Some(LockPolicy {
            base_ms: 60_000,
            max_ms: 900_000,
        }),
    };
    const IP: Policy = Policy {
        window_ms: 900_000,
        limit: 100,
        lock: None,
    };
    const NOW: Millis = 1_000_000_000;

    fn st(fails: u32, window_start: Millis, lock_until: Millis, lock_count: u32) -> CounterState {
        CounterState {
            fails,
            window_start,
            lock_until,
            lock_count,
        }
    }

    #[test]
    fn a_lock_in_force_refuses_with_the_time_left() {
        let next = decide(&st(10, NOW - 10_000, NOW + 30_500, 1), &EMAIL, NOW);
        assert_eq!(
            next,
            Next::Refuse {
                retry_after: 31,
                locked: true
            }
        );
    }

    #[test]
    fn reaching_the_limit_places_a_lock_that_doubles_up_to_the_max() {
        assert_eq!(
            decide(&st(10, NOW - 1000, 0, 0), &EMAIL, NOW),
            Next::Lock {
                duration_ms: 60_000,
                level: 0
            }
        );
        // Second lock after the first ended (window restarted after it): twice as long.
        assert_eq!(
            decide(&st(10, NOW - 1000, NOW - 5000, 1), &EMAIL, NOW),
            Next::Lock {
                duration_ms: 120_000,
                level: 1
            }
        );
        assert_eq!(
            decide(&st(10, NOW - 1000, NOW - 5000, 9), &EMAIL, NOW),
            Next::Lock {
                duration_ms: 900_000,
                level: 9
            }
        );
        // The doubling is forgotten a day after the last lock.
        assert_eq!(
            decide(
                &st(10, NOW - 1000, NOW - LOCK_MEMORY_MS - 1000, 4),
                &EMAIL,
                NOW
            ),
            Next::Lock {
                duration_ms: 60_000,
                level: 0
            }
        );
    }

    #[test]
    fn an_ended_lock_starts_a_new_window_after_it() {
        // The lock was placed at the start of this window and has ended.
        let lock_end = NOW - 1;
        assert_eq!(
            decide(&st(10, lock_end - 60_000, lock_end, 1), &EMAIL, NOW),
            Next::Restart { window_start: NOW }
        );
        assert_eq!(
            decide(&st(10, NOW - 60_000, NOW, 1), &EMAIL, NOW),
            Next::Restart {
                window_start: NOW + 1
            }
        );
    }

    #[test]
    fn an_old_window_restarts_and_a_current_one_under_the_limit_retries() {
        assert_eq!(
            decide(&st(4, NOW - 900_000, 0, 0), &EMAIL, NOW),
            Next::Restart { window_start: NOW }
        );
        assert_eq!(
            decide(&st(4, NOW - 899_999, 0, 0), &EMAIL, NOW),
            Next::Retry
        );
    }

    #[test]
    fn a_throttle_without_lock_waits_for_the_window_to_end() {
        assert_eq!(
            decide(&st(100, NOW - 600_000, 0, 0), &IP, NOW),
            Next::Refuse {
                retry_after: 300,
                locked: false
            }
        );
        assert_eq!(
            decide(&st(100, NOW - 900_000, 0, 0), &IP, NOW),
            Next::Restart { window_start: NOW }
        );
    }

    #[test]
    fn keys_never_hold_an_email_in_clear() {
        let k = email_key("login", "ann@example.com");
        assert!(k.starts_with("login#email#") && !k.contains("ann"));
        assert_eq!(k.len(), "login#email#".len() + 64);
    }
}
