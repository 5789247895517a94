//! The counters table: counting an attempt (`count`, the conditional writes `decide` asks
//! for), forgetting a counter after a success (`reset`), giving an attempt back (`refund`).
//!
//! The two writes that add to or take from a count are never sent again after a timeout
//! (`dynamo::no_resend_after_timeout`): an attempt that timed out may still have been applied —
//! a DynamoDB that stalls applies what it had queued — and sending it again would count one
//! attempt twice, or give one back twice. A lost answer is a `StoreError` (503), as the caller
//! answers any other. The transitions (a new window, a lock) are conditioned on the exact state
//! seen, and the reset is a delete: a second application changes nothing, so they keep the
//! service's usual timeouts.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::builders::DeleteItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::{Attempt, CounterState, Next, Policy, ceil_secs, decide};
use crate::clock::Millis;
use crate::dynamo::{Conditional, Item, get_consistent, n, s, written};
use crate::error::StoreError;

#[derive(Clone, Debug)]
pub struct Counters {
    // Private to `lockout`, whose `garbage` and `cursor` also read and write the table.
    pub(super) client: Client,
    pub(super) table: String,
}

/// A conditional write's outcome: done (with the item as it is now), or refused with the
/// item as it stood.
type Write = Conditional<Option<Item>>;

fn outcome(
    result: Result<
        aws_sdk_dynamodb::operation::update_item::UpdateItemOutput,
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::update_item::UpdateItemError,
            crate::dynamo::RawResponse,
        >,
    >,
    context: &'static str,
) -> Result<Write, StoreError> {
    Ok(match written(result, context)? {
        Conditional::Done(out) => Conditional::Done(out.attributes),
        Conditional::Refused(old) => Conditional::Refused(old),
    })
}

impl Counters {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// An `UpdateItem` of the counter item at `key`; the caller adds the expressions.
    pub(crate) fn update(&self, key: &str) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("counterKey", s(key))
    }

    /// A `DeleteItem` of the counter item at `key`; the caller adds the condition.
    pub(crate) fn delete(&self, key: &str) -> DeleteItemFluentBuilder {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("counterKey", s(key))
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
                    let set = "SET fails = :one, windowStart = :ws";
                    let values = [(":one", n(1)), (":ws", n(window_start))];
                    let w = self
                        .transition(key, seen, &policy, now, set, &values)
                        .await?;
                    if let Conditional::Done(_) = w {
                        return Ok(Attempt::Admitted {
                            count: 1,
                            window_start,
                        });
                    }
                    w
                }
                Next::Lock { duration_ms, level } => {
                    let set = "SET lockUntil = :lu, lockCount = :lc, windowStart = :now";
                    let values = [(":lu", n(now + duration_ms)), (":lc", n(level + 1))];
                    let w = self
                        .transition(key, seen, &policy, now, set, &values)
                        .await?;
                    if let Conditional::Done(_) = w {
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
                Conditional::Done(new) => {
                    let st = new
                        .as_ref()
                        .map(CounterState::from_item)
                        .unwrap_or_default();
                    return Ok(Attempt::Admitted {
                        count: st.fails,
                        window_start: st.window_start,
                    });
                }
                Conditional::Refused(old) => seen = old.as_ref().map(CounterState::from_item),
            }
        }
        // Contention this heavy is an attack in progress: give up rather than loop. Nothing is
        // locked, so the caller answers 503 with Retry-After, not a lock or a throttle.
        tracing::warn!(event = "counter_contended", counter = %redact(key));
        Err(StoreError::new(
            "UpdateItem count attempt",
            "the counter changed under six attempts in a row",
        ))
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
            .update(key)
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
            .expression_attribute_values(":gcb", s(crate::gc::bucket(gc_at, key)))
            .expression_attribute_values(":gca", n(gc_at))
            .expression_attribute_values(":ttl", n(gc_at.div_euclid(1000) + 86_400))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .customize()
            .config_override(crate::dynamo::no_resend_after_timeout())
            .send()
            .await;
        outcome(result, "UpdateItem count attempt")
    }

    /// A state change conditioned on the counter still being exactly `seen` (no item: as new).
    async fn transition(
        &self,
        key: &str,
        seen: Option<CounterState>,
        policy: &Policy,
        now: Millis,
        set: &str,
        values: &[(&str, AttributeValue)],
    ) -> Result<Write, StoreError> {
        let seen = seen.unwrap_or_default();
        let gc_at = now + policy.retention_ms();
        let mut req = self
            .update(key)
            .update_expression(format!("{set}, gcBucket = :gcb, gcAt = :gca, #ttl = :ttl"))
            .condition_expression(
                "fails = :sf AND windowStart = :sw AND lockUntil = :sl AND lockCount = :sc",
            )
            .expression_attribute_names("#ttl", crate::tables::TTL_ATTRIBUTE)
            .expression_attribute_values(":sf", n(seen.fails))
            .expression_attribute_values(":sw", n(seen.window_start))
            .expression_attribute_values(":sl", n(seen.lock_until))
            .expression_attribute_values(":sc", n(seen.lock_count))
            .expression_attribute_values(":gcb", s(crate::gc::bucket(gc_at, key)))
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
        outcome(req.send().await, "UpdateItem counter transition")
    }

    /// Forgets a counter after a success, unless a lock is in force (a success racing an
    /// attacker does not lift the attacker's lock).
    pub async fn reset(&self, key: &str, now: Millis) -> Result<(), StoreError> {
        let result = self
            .delete(key)
            .condition_expression("attribute_not_exists(lockUntil) OR lockUntil <= :now")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        written(result, "DeleteItem counter").map(drop)
    }

    /// Takes back one attempt counted in the window that began at `window_start` (a success
    /// from a shared IP is not a failure). A window that has moved on is left alone.
    pub async fn refund(&self, key: &str, window_start: Millis) -> Result<(), StoreError> {
        let result = self
            .update(key)
            .update_expression("SET fails = fails - :one")
            .condition_expression("windowStart = :ws AND fails > :zero")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":ws", n(window_start))
            .customize()
            .config_override(crate::dynamo::no_resend_after_timeout())
            .send()
            .await;
        written(result, "UpdateItem refund counter").map(drop)
    }

    /// Deletes the counters at `keys`, whatever they hold (a member's erasure). Safe to repeat.
    pub async fn erase(&self, keys: &[String]) -> Result<(), StoreError> {
        let deletions = keys.iter().map(|k| self.delete(k).send());
        for result in futures::future::join_all(deletions).await {
            result.map_err(|e| StoreError::new("DeleteItem counter", e))?;
        }
        Ok(())
    }

    /// The counter as stored (strongly consistent), for tests and operators.
    pub async fn get(&self, key: &str) -> Result<Option<CounterState>, StoreError> {
        let item = get_consistent(
            &self.client,
            &self.table,
            ("counterKey", key),
            "GetItem counter",
        )
        .await?;
        Ok(item.as_ref().map(CounterState::from_item))
    }
}

/// A counter key safe to log: its kind and a prefix of its subject.
fn redact(key: &str) -> String {
    key.chars().take(24).collect()
}

#[cfg(test)]
mod tests {
    //! Against DynamoDB Local, through a proxy that delivers every request and loses every
    //! answer: what a stalled DynamoDB does to a request it applies after the client gave up.

    use super::*;
    use crate::dynamo::{RequestLog, local_client};
    use tokio::io::AsyncReadExt;

    /// A TCP proxy to `upstream` (host:port) that forwards requests and swallows answers.
    async fn answer_eater(upstream: &str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.to_owned();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut server = tokio::net::TcpStream::connect(&upstream).await.unwrap();
                tokio::spawn(async move {
                    let (mut from_client, _to_client) = client.split();
                    let (mut from_server, mut to_server) = server.split();
                    let mut sink = Vec::new();
                    let _ = tokio::join!(
                        tokio::io::copy(&mut from_client, &mut to_server),
                        from_server.read_to_end(&mut sink),
                    );
                });
            }
        });
        url
    }

    async fn lossy_counters() -> (crate::testing::TestApp, Counters) {
        let t = crate::testing::app().await;
        let endpoint = crate::testing::endpoint();
        let upstream = endpoint.trim_start_matches("http://").trim_end_matches('/');
        // The functions' own client settings (timeouts, retry), only through the proxy.
        let client = local_client(&answer_eater(upstream).await, RequestLog::default());
        let counters = Counters::new(client, &t.tables.counters);
        (t, counters)
    }

    /// What DynamoDB Local holds at `key`, once it has applied what it was sent.
    async fn stored(t: &crate::testing::TestApp, key: &str) -> Option<CounterState> {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        t.app.counters.get(key).await.unwrap()
    }

    #[tokio::test]
    async fn an_attempt_whose_answer_is_lost_is_counted_once_not_once_per_sdk_attempt() {
        let (t, lossy) = lossy_counters().await;
        let policy = t.app.policies.login_email;
        let now = t.app.clock.now_ms();
        let key = "login#email#lost-answer";
        assert!(
            lossy.count(key, policy, now).await.is_err(),
            "no answer: an error the flow answers with 503"
        );
        assert_eq!(stored(&t, key).await.map(|s| s.fails), Some(1));
    }

    #[tokio::test]
    async fn a_refund_whose_answer_is_lost_gives_back_one_attempt_not_two() {
        let (t, lossy) = lossy_counters().await;
        let policy = t.app.policies.login_ip;
        let now = t.app.clock.now_ms();
        let key = "login#ip#198.51.100.7";
        for _ in 0..3 {
            t.app.counters.count(key, policy, now).await.unwrap();
        }
        let window = t.app.counters.get(key).await.unwrap().unwrap().window_start;
        assert!(lossy.refund(key, window).await.is_err());
        assert_eq!(stored(&t, key).await.map(|s| s.fails), Some(2));
    }
}
