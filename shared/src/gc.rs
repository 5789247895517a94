//! The cleanup index (`byGcHour`, `tables::GC_INDEX`) as its two owners read it: what one
//! page of collectable keys and one conditional delete come to, shared by
//! `session::Sessions` and `lockout::Counters`, whose garbage modules hold the conditions.
//!
//! Both the sessions and the counters table carry the index (KEYS_ONLY): partition
//! `gcBucket` = the hour (`YYYY-MM-DDTHH`) of `gcAt` and the item's shard (`#0`…`#f`, see
//! `bucket`), sort `gcAt` in ms. Writers set `gcAt` to the moment an item stops mattering — a
//! session's `expiresAt` at creation, the revocation time when it is revoked
//! (`Sessions::revoke`), a counter's last write plus its retention (`lockout`). So
//! `gcBucket = :bucket AND gcAt < :now` returns exactly the collectable items of one shard of
//! one hour and never touches a live one: the key condition, not a filter, does the choosing.
//!
//! Why shards: every write of an hour lands in that hour's index partition. Unsharded, one
//! key took all of them — four index writes per successful login, so about 250 logins a
//! second service-wide before the index throttled its table. Spread by a hash of the item's
//! own key over `SHARDS` keys, the index takes `SHARDS` times that, and the next ceilings are
//! one NAT's or one email's counter. The cost is on the reader: a cleanup run queries
//! `SHARDS` buckets per hour instead of one, all at once.
//!
//! The index is only a hint (it lags the table, and a writer may have moved an item since):
//! every delete is conditional on the item itself still being dead — a session revoked or
//! expired (`!Session::is_live`), a counter whose `gcAt` has passed. A refused delete is
//! not an error: the item is live again (kept) or already gone (another run, or TTL).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::query::QueryError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};

use crate::clock::{Millis, hour_bucket};
use crate::dynamo::{Item, RawResponse, n, s};
use crate::tables::GC_INDEX;

/// How many index keys one hour is spread over.
pub const SHARDS: usize = 16;

/// The `gcBucket` of the item whose key (`sessionId`, `counterKey`) is `key` and whose `gcAt`
/// is `gc_at`: its hour and its shard, the FNV-1a hash of its key modulo `SHARDS`. An item
/// keeps its shard for life; a write that moves its `gcAt` moves it only between hours.
pub fn bucket(gc_at: Millis, key: &str) -> String {
    shard_bucket(&hour_bucket(gc_at), shard(key))
}

/// All the buckets of the hour `hour` falls in, shard 0 first.
pub fn buckets(hour: Millis) -> [String; SHARDS] {
    let h = hour_bucket(hour);
    std::array::from_fn(|i| shard_bucket(&h, i))
}

/// The one spelling of a bucket, which writers and the cleanup reader must agree on.
fn shard_bucket(hour: &str, shard: usize) -> String {
    format!("{hour}#{shard:x}")
}

fn shard(key: &str) -> usize {
    let hash = key.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    hash as usize % SHARDS
}

/// Where a query of the index resumes: the last key of the page before.
pub type Key = Item;

/// The two tables the cleanup index is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sessions,
    Counters,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Sessions => "sessions",
            Kind::Counters => "counters",
        }
    }
}

/// One page of collectable keys from one hour bucket.
#[derive(Debug, Default)]
pub struct Page {
    pub keys: Vec<String>,
    /// Where the next page of this bucket starts; `None` when the bucket is exhausted.
    pub next: Option<Key>,
    /// Read capacity the page consumed, when DynamoDB reports it.
    pub capacity: f64,
}

/// What a conditional delete found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Deleted; `had_refresh`: a session that carried a refresh family.
    Deleted { had_refresh: bool },
    /// The item is no longer collectable (a session live, a counter written again): kept.
    Kept,
    /// No such item any more: another run or TTL deleted it first.
    Gone,
}

impl Verdict {
    /// A refused delete, from the item as it stood (`AllOld` on condition failure).
    pub(crate) fn refused(item: Option<&Item>) -> Self {
        if item.is_some_and(|i| !i.is_empty()) {
            Verdict::Kept
        } else {
            Verdict::Gone
        }
    }
}

/// Up to `limit` keys (the `key` attribute) of `table`'s `bucket` whose `gcAt` is before
/// `now`, oldest first.
pub(crate) async fn page(
    client: &Client,
    table: &str,
    key: &str,
    bucket: &str,
    now: Millis,
    start: Option<Key>,
    limit: i32,
) -> Result<Page, SdkError<QueryError, RawResponse>> {
    let out = client
        .query()
        .table_name(table)
        .index_name(GC_INDEX)
        .key_condition_expression("gcBucket = :b AND gcAt < :now")
        .expression_attribute_values(":b", s(bucket))
        .expression_attribute_values(":now", n(now))
        .set_exclusive_start_key(start)
        .limit(limit)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await?;
    let keys = out
        .items
        .unwrap_or_default()
        .into_iter()
        .filter_map(|mut item| match item.remove(key) {
            Some(AttributeValue::S(k)) => Some(k),
            _ => None,
        })
        .collect();
    Ok(Page {
        keys,
        next: out.last_evaluated_key.filter(|k| !k.is_empty()),
        capacity: out
            .consumed_capacity
            .and_then(|c| c.capacity_units)
            .unwrap_or(0.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_items_bucket_is_its_hour_and_a_shard_of_its_own_key() {
        let at = 1_764_291_600_123; // 2025-11-28T01:00:00.123Z
        let b = bucket(at, "sess_abc");
        assert!(b.starts_with("2025-11-28T01#"), "{b}");
        assert_eq!(b, bucket(at + 3_000_000, "sess_abc"), "same hour, same key");
        assert!(buckets(at).contains(&b));
        assert_eq!(bucket(at + 3_600_000, "sess_abc")[..13], *"2025-11-28T02");
        assert_eq!(buckets(at)[0], "2025-11-28T01#0");
        assert_eq!(buckets(at)[15], "2025-11-28T01#f");
    }

    #[test]
    fn an_hours_writes_spread_over_every_shard_about_evenly() {
        // Session ids and counter keys as the writers make them.
        let mut per = [0usize; SHARDS];
        for i in 0..16_000 {
            let key = match i % 3 {
                0 => format!("s_{}", crate::secret::random_b64(16)),
                1 => format!("login#ip#10.{}.{}.{}", i % 7, i / 256 % 256, i % 256),
                _ => format!("login#email#member{i}@example.com"),
            };
            per[shard(&key)] += 1;
        }
        // 1,000 each on average; a hash that clumped would leave a shard far above that.
        assert!(per.iter().all(|&n| (800..1_200).contains(&n)), "{per:?}");
    }

    #[test]
    fn a_refused_delete_is_kept_when_the_item_stood_and_gone_when_it_did_not() {
        let item: Item = [("counterKey".to_owned(), s("login#ip#192.0.2.1"))].into();
        assert_eq!(Verdict::refused(Some(&item)), Verdict::Kept);
        assert_eq!(Verdict::refused(Some(&Item::new())), Verdict::Gone);
        assert_eq!(Verdict::refused(None), Verdict::Gone);
    }
}
