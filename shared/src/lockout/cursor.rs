//! Where session-cleanup resumes: one item in the counters table, keyed `cleanup#cursor`.
//!
//! For each collected table it holds the start (ms) of the first hour bucket not yet known to
//! be empty of garbage. Every bucket before it has been drained *and closed* — its hour ended
//! long enough ago that no writer can still add to it — so a run starts there and reads only
//! a couple of buckets more than what has expired. The item has no `gcBucket`, so it is not in
//! the cleanup index and never collected, and no TTL. It only moves forward: each advance is
//! a conditional `UpdateItem`, so two runs racing leave it at the further of their positions.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::get_item::GetItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

use super::Counters;
use crate::clock::Millis;
use crate::dynamo::{Conditional, RawResponse, conditional, get_n, n, s};
use crate::gc::Kind;

/// The cursor's key in the counters table (no counter kind begins with `cleanup#`).
pub const CURSOR_KEY: &str = "cleanup#cursor";

/// The stored resume points; `None` before the first run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    pub sessions: Option<Millis>,
    pub counters: Option<Millis>,
}

impl Cursor {
    pub fn get(&self, kind: Kind) -> Option<Millis> {
        match kind {
            Kind::Sessions => self.sessions,
            Kind::Counters => self.counters,
        }
    }
}

fn attribute(kind: Kind) -> &'static str {
    match kind {
        Kind::Sessions => "sessionsFrom",
        Kind::Counters => "countersFrom",
    }
}

impl Counters {
    /// The cleanup cursor as stored, read strongly consistent.
    pub async fn cleanup_cursor(&self) -> Result<Cursor, SdkError<GetItemError, RawResponse>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("counterKey", s(CURSOR_KEY))
            .consistent_read(true)
            .send()
            .await?;
        Ok(out
            .item
            .map(|item| Cursor {
                sessions: get_n(&item, attribute(Kind::Sessions)),
                counters: get_n(&item, attribute(Kind::Counters)),
            })
            .unwrap_or_default())
    }

    /// Moves `kind`'s resume point forward to `to`; returns whether it moved (a run that got
    /// further already is not moved back).
    pub async fn advance_cleanup_cursor(
        &self,
        kind: Kind,
        to: Millis,
        now: Millis,
    ) -> Result<bool, SdkError<UpdateItemError, RawResponse>> {
        let result = self
            .update(CURSOR_KEY)
            .update_expression("SET #from = :to, updatedAt = :now")
            .condition_expression("attribute_not_exists(#from) OR #from < :to")
            .expression_attribute_names("#from", attribute(kind))
            .expression_attribute_values(":to", n(to))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        Ok(matches!(conditional(result)?, Conditional::Done(_)))
    }
}
