//! The cleanup index (`byGcHour`, `tables::GC_INDEX`) as its two owners read it: what one
//! page of collectable keys and one conditional delete come to, shared by
//! `session::Sessions` and `lockout::Counters`, whose garbage modules hold the conditions.
//!
//! Both the sessions and the counters table carry the index (KEYS_ONLY): partition
//! `gcBucket` = the hour (`YYYY-MM-DDTHH`) of `gcAt`, sort `gcAt` in ms. Writers set `gcAt` to
//! the moment an item stops mattering — a session's `expiresAt` at creation, the revocation
//! time when it is revoked (`Sessions::revoke`), a counter's last write plus its retention
//! (`lockout`). So `gcBucket = :hour AND gcAt < :now` returns exactly the collectable items of
//! one hour and never touches a live one: the key condition, not a filter, does the choosing.
//!
//! The index is only a hint (it lags the table, and a writer may have moved an item since):
//! every delete is conditional on the item itself still being dead — a session revoked or
//! expired (`!Session::is_live`), a counter whose `gcAt` has passed. A refused delete is
//! not an error: the item is live again (kept) or already gone (another run, or TTL).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::query::QueryError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};

use crate::clock::Millis;
use crate::dynamo::{Item, RawResponse, n, s};
use crate::tables::GC_INDEX;

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
    fn a_refused_delete_is_kept_when_the_item_stood_and_gone_when_it_did_not() {
        let item: Item = [("counterKey".to_owned(), s("login#ip#192.0.2.1"))].into();
        assert_eq!(Verdict::refused(Some(&item)), Verdict::Kept);
        assert_eq!(Verdict::refused(Some(&Item::new())), Verdict::Gone);
        assert_eq!(Verdict::refused(None), Verdict::Gone);
    }
}
