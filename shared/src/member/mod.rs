//! Members and the members table.
//!
//! The table is keyed by the normalized email, so login and sign-on reach a member in one
//! `GetItem`, and creation is a `PutItem` conditional on the key being new: one email, one
//! member, by construction. Security reads are strongly consistent. Every write of the table
//! is here: `credentials` the password hash a member changes, `profile` the profile (its
//! types, its validation and the merge sign-on applies), `operator` what an operator reads
//! and writes (never the password hash).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clock::{Millis, rfc3339};
use crate::dynamo::{Conditional, get_consistent, s, written};
use crate::error::StoreError;

mod credentials;
pub mod operator;
pub mod profile;
pub use credentials::{PasswordChange, Verified};
pub use profile::{CustomField, IdentityProfile, Merge, PROFILE_FIELDS, Phone, ProfilePatch};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Active,
    Pending,
    Blocked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "ACTIVE",
            Status::Pending => "PENDING",
            Status::Blocked => "BLOCKED",
        }
    }
}

/// A member item. `Debug` leaves out the password hash.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub email_key: String,
    pub member_id: String,
    pub email: String,
    pub email_verified: bool,
    pub status: Status,
    #[serde(default)]
    pub status_reasons: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    #[serde(default)]
    pub profile: IdentityProfile,
    pub revision: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("member_id", &self.member_id)
            .field("status", &self.status)
            .field("has_password", &self.password_hash.is_some())
            .finish_non_exhaustive()
    }
}

impl Member {
    /// A new member (revision 1) for `email`.
    pub fn new(email: &crate::email::Email, status: Status, now: Millis) -> Self {
        Self {
            email_key: email.key().to_owned(),
            member_id: new_member_id(),
            email: email.address().to_owned(),
            email_verified: false,
            status,
            status_reasons: vec![],
            password_hash: None,
            profile: IdentityProfile::default(),
            revision: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// The member as the API shows it (Wix's `Identity`).
    pub fn identity(&self) -> Value {
        json!({
            "id": self.member_id,
            "revision": self.revision.to_string(),
            "createdDate": rfc3339(self.created_at),
            "updatedDate": rfc3339(self.updated_at),
            "email": {"address": self.email, "isVerified": self.email_verified},
            "status": {"name": self.status.as_str(), "reasons": self.status_reasons},
            "identityProfile": self.profile,
        })
    }
}

/// A member id: 128 random bits, base64url.
pub fn new_member_id() -> String {
    crate::secret::random_b64(16)
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("a member with this email exists")]
    Exists(Box<Member>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The members table.
#[derive(Clone, Debug)]
pub struct Members {
    client: Client,
    table: String,
}

fn decode(item: HashMap<String, AttributeValue>) -> Result<Member, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::new("decode member", e))
}

impl Members {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// An `UpdateItem` of the member at `key`; the caller adds the expressions.
    pub(crate) fn update(&self, key: &str) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("emailKey", s(key))
    }

    /// The member with this normalized email, read strongly consistent.
    pub async fn get(&self, email_key: &str) -> Result<Option<Member>, StoreError> {
        get_consistent(
            &self.client,
            &self.table,
            ("emailKey", email_key),
            "GetItem member",
        )
        .await?
        .map(decode)
        .transpose()
    }

    /// The status of the member with this id, from the `byMemberId` index (which projects it),
    /// or `None` when there is no such member. One query, so it can run beside another
    /// request; like every GSI read it may lag a write by a moment.
    pub async fn status_by_id(&self, member_id: &str) -> Result<Option<Status>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(crate::tables::MEMBER_ID_INDEX)
            .key_condition_expression("memberId = :m")
            .expression_attribute_values(":m", s(member_id))
            .send()
            .await
            .map_err(|e| StoreError::new("Query member by id", e))?;
        let item = out.items.unwrap_or_default().into_iter().next();
        Ok(
            item.and_then(|i| match i.get("status")?.as_s().ok()?.as_str() {
                "ACTIVE" => Some(Status::Active),
                "PENDING" => Some(Status::Pending),
                // Anything else is not a status that may mint tokens.
                _ => Some(Status::Blocked),
            }),
        )
    }

    /// Stores a new member unless the email is taken; a taken email returns the member
    /// that holds it (read from the failed condition, no second request).
    pub async fn create(&self, member: &Member) -> Result<(), CreateError> {
        let item =
            serde_dynamo::to_item(member).map_err(|e| StoreError::new("encode member", e))?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(emailKey)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match written(result, "PutItem member")? {
            Conditional::Done(_) => Ok(()),
            Conditional::Refused(Some(old)) => Err(CreateError::Exists(Box::new(decode(old)?))),
            Conditional::Refused(None) => {
                Err(StoreError::new("PutItem member", "condition failed without item").into())
            }
        }
    }

    /// Replaces the password hash, provided it is still `expected` (a rehash never overwrites
    /// a password changed meanwhile). Returns whether it was replaced.
    pub async fn replace_password_hash(
        &self,
        email_key: &str,
        expected: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        let result = self
            .update(email_key)
            .update_expression("SET passwordHash = :new")
            .condition_expression("passwordHash = :old")
            .expression_attribute_values(":new", s(new_hash))
            .expression_attribute_values(":old", s(expected))
            .return_values(ReturnValue::None)
            .send()
            .await;
        Ok(matches!(
            written(result, "UpdateItem member password")?,
            Conditional::Done(_)
        ))
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}
