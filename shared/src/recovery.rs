//! Recovery tickets (DESIGN §3.9): the record behind a recovery token, in the counters table
//! beside the counters that limit how often one is mailed.
//!
//! A recovery token is `rc_<id>.<secret>` (a §7.1 secret): `id` is the SHA-256 of the
//! normalized email, so an email has at most one ticket, and a newer one (a `PutItem` over
//! it) voids the older by construction. The item holds only the secret's SHA-256, the expiry
//! (checked here, in code), the member it was issued for and the names the password policy's
//! similarity rule reads — so `recover` can judge a new password before it reaches the member.
//! An unknown email gets a ticket too, with no member: sending for a known and an unknown email
//! is the same DynamoDB work (no enumeration by timing), and such a ticket opens nothing.
//!
//! Redeeming is one DynamoDB transaction (`redeem`): the ticket is deleted on condition that it
//! still holds this secret and has not expired, the member's new password is set on condition
//! that it is still the same member and not BLOCKED, and the email's login counter is cleared
//! — all or nothing, so a token is single use even against itself in a race.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::dynamo::{Item, get_consistent, n, s};
use crate::error::StoreError;
use crate::member::{Member, Status};
use crate::secret::{Bearer, sha256_hex};

/// The prefix of recovery tokens.
pub const TOKEN_PREFIX: &str = "rc";

/// The ticket id of an email: the SHA-256 hex of its normalized form.
fn ticket_id(email_key: &str) -> String {
    sha256_hex(email_key.as_bytes())
}

/// The counters-table key of an email's recovery ticket (`recovery#ticket#<sha256>`).
pub fn ticket_key(email_key: &str) -> String {
    format!("recovery#ticket#{}", ticket_id(email_key))
}

/// A recovery token presented by a caller, parsed; `Debug` hides the secret.
#[derive(Debug)]
pub struct RecoveryToken(Bearer);

impl RecoveryToken {
    /// `rc_<64 hex>.<secret>`; anything else is `None`.
    pub fn parse(raw: &str) -> Option<Self> {
        let bearer = Bearer::parse(TOKEN_PREFIX, raw.trim())?;
        let id = bearer.id();
        (id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(Self(bearer))
    }

    fn key(&self) -> String {
        format!("recovery#ticket#{}", self.0.id())
    }
}

/// A ticket item as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TicketItem {
    counter_key: String,
    email_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    member_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_name: Option<String>,
    token_hash: String,
    expires_at: Millis,
    gc_bucket: String,
    gc_at: Millis,
    ttl: i64,
}

/// An open ticket: the token matched, it has not expired, and it was issued for a member.
#[derive(Clone, Debug)]
pub struct Ticket {
    pub email_key: String,
    pub member_id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    token_hash: String,
    key: String,
}

/// A freshly issued token, to mail once; `Debug` hides it.
pub struct Issued {
    pub token: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Issued([redacted])")
    }
}

/// What redeeming a ticket came to.
#[derive(Debug)]
pub enum Redeemed {
    /// The password is set, the email verified, the lockout cleared, the ticket gone.
    Done,
    /// The ticket was used, voided or expired meanwhile: nothing was written.
    TokenRefused,
    /// The member is BLOCKED, gone or another member now (as it stands, when there is one):
    /// nothing was written.
    MemberRefused(Option<Box<Member>>),
}

/// The recovery tickets, in the counters table.
#[derive(Clone, Debug)]
pub struct Tickets {
    client: Client,
    table: String,
}

impl Tickets {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Issues a ticket for `email_key` valid `ttl_seconds` (for `member`, or for no one), over
    /// any older one. One unconditional `PutItem`.
    pub async fn issue(
        &self,
        email_key: &str,
        member: Option<&Member>,
        now: Millis,
        ttl_seconds: i64,
    ) -> Result<Issued, StoreError> {
        let bearer = Bearer::mint(ticket_id(email_key));
        let expires_at = now + ttl_seconds * 1000;
        let counter_key = ticket_key(email_key);
        let item = TicketItem {
            gc_bucket: crate::gc::bucket(expires_at, &counter_key),
            counter_key,
            email_key: email_key.to_owned(),
            member_id: member.map(|m| m.member_id.clone()),
            first_name: member.and_then(|m| m.profile.first_name.clone()),
            last_name: member.and_then(|m| m.profile.last_name.clone()),
            token_hash: bearer.hash(),
            expires_at,
            gc_at: expires_at,
            ttl: expires_at.div_euclid(1000) + 86_400,
        };
        let item = serde_dynamo::to_item(&item).map_err(|e| StoreError::new("encode ticket", e))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| StoreError::new("PutItem recovery ticket", e))?;
        Ok(Issued {
            token: bearer.reveal(TOKEN_PREFIX),
        })
    }

    /// The ticket `token` opens at `now`, read strongly consistent: `None` when there is none,
    /// the secret differs (voided by a newer one), it has expired, or it has no member.
    pub async fn open(
        &self,
        token: &RecoveryToken,
        now: Millis,
    ) -> Result<Option<Ticket>, StoreError> {
        let key = token.key();
        let item = get_consistent(
            &self.client,
            &self.table,
            ("counterKey", &key),
            "GetItem recovery ticket",
        )
        .await?;
        let Some(item) = item else { return Ok(None) };
        let t: TicketItem =
            serde_dynamo::from_item(item).map_err(|e| StoreError::new("decode ticket", e))?;
        if !token.0.matches(&t.token_hash) || now >= t.expires_at {
            return Ok(None);
        }
        Ok(t.member_id.map(|member_id| Ticket {
            email_key: t.email_key,
            member_id,
            first_name: t.first_name,
            last_name: t.last_name,
            token_hash: t.token_hash,
            key,
        }))
    }

    /// Redeems `ticket` in one transaction: the ticket deleted (still this secret, not
    /// expired), the member's password set to `new_hash` with the email verified (`activate`:
    /// a PENDING member becomes ACTIVE too), and the counters at `clear` deleted.
    pub async fn redeem(
        &self,
        ticket: &Ticket,
        members_table: &str,
        new_hash: &str,
        activate: bool,
        clear: &[String],
        now: Millis,
    ) -> Result<Redeemed, StoreError> {
        let context = "TransactWriteItems recover";
        let ticket_delete = Delete::builder()
            .table_name(&self.table)
            .key("counterKey", s(&ticket.key))
            .condition_expression("tokenHash = :h AND expiresAt > :now")
            .expression_attribute_values(":h", s(&ticket.token_hash))
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(|e| StoreError::new(context, e))?;
        let mut set = "SET passwordHash = :p, emailVerified = :t, #revision = #revision + :one, \
                       updatedAt = :now"
            .to_owned();
        if activate {
            set.push_str(", #status = :active");
        }
        let mut member_update = Update::builder()
            .table_name(members_table)
            .key("emailKey", s(&ticket.email_key))
            .update_expression(set)
            .condition_expression("memberId = :id AND #status <> :blocked")
            .expression_attribute_names("#revision", "revision")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":p", s(new_hash))
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":id", s(&ticket.member_id))
            .expression_attribute_values(":blocked", s(Status::Blocked.as_str()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if activate {
            member_update =
                member_update.expression_attribute_values(":active", s(Status::Active.as_str()));
        }
        let member_update = member_update
            .build()
            .map_err(|e| StoreError::new(context, e))?;
        let mut items = vec![
            TransactWriteItem::builder().delete(ticket_delete).build(),
            TransactWriteItem::builder().update(member_update).build(),
        ];
        for key in clear {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key("counterKey", s(key))
                .build()
                .map_err(|e| StoreError::new(context, e))?;
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Redeemed::Done),
            Err(SdkError::ServiceError(ctx)) if ctx.err().is_transaction_canceled_exception() => {
                let reasons = match ctx.into_err() {
                    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => {
                        c.cancellation_reasons.unwrap_or_default()
                    }
                    _ => vec![],
                };
                let failed = |i: usize| {
                    reasons
                        .get(i)
                        .and_then(|r| r.code.as_deref())
                        .is_some_and(|c| c == "ConditionalCheckFailed")
                };
                if failed(0) {
                    return Ok(Redeemed::TokenRefused);
                }
                if failed(1) {
                    let old: Option<Item> = reasons.get(1).and_then(|r| r.item.clone());
                    let member = old
                        .map(serde_dynamo::from_item::<_, Member>)
                        .transpose()
                        .map_err(|e| StoreError::new("decode member", e))?;
                    return Ok(Redeemed::MemberRefused(member.map(Box::new)));
                }
                // Another writer on one of the items at the same moment: the caller may retry.
                Err(StoreError::new(context, "transaction conflict"))
            }
            Err(e) => Err(StoreError::new(context, e)),
        }
    }
}
