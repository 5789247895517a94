//! Members and the members table.
//!
//! The table is keyed by the normalized email, so login and sign-on reach a member in one
//! `GetItem`, and creation is a `PutItem` conditional on the key being new: one email, one
//! member, by construction. Security reads are strongly consistent.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clock::{Millis, rfc3339};
use crate::dynamo::s;
use crate::error::StoreError;

mod credentials;
pub use credentials::PasswordChange;

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

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Phone {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomField {
    pub name: String,
    pub value: Value,
}

/// The member's profile, with Wix's field names.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones_v2: Vec<Phone>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_fields: Vec<CustomField>,
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

    /// The member with this normalized email, read strongly consistent.
    pub async fn get(&self, email_key: &str) -> Result<Option<Member>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("emailKey", s(email_key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::new("GetItem member", e))?;
        out.item.map(decode).transpose()
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
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.into_service_error() {
                aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(
                    c,
                ) => match c.item {
                    Some(old) => Err(CreateError::Exists(Box::new(decode(old)?))),
                    None => Err(StoreError::new("PutItem member", "condition failed without item").into()),
                },
                other => Err(StoreError::new("PutItem member", other).into()),
            },
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
            .client
            .update_item()
            .table_name(&self.table)
            .key("emailKey", s(email_key))
            .update_expression("SET passwordHash = :new")
            .condition_expression("passwordHash = :old")
            .expression_attribute_values(":new", s(new_hash))
            .expression_attribute_values(":old", s(expected))
            .return_values(ReturnValue::None)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(StoreError::new("UpdateItem member password", e)),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// Every IdentityProfile field, by its wire name.
pub const PROFILE_FIELDS: &[&str] = &[
    "firstName",
    "lastName",
    "nickname",
    "picture",
    "language",
    "company",
    "position",
    "birthdate",
    "phonesV2",
    "customFields",
];

/// Profile fields to set on a member: `Some` sets the field (an empty list removes it),
/// `None` leaves it as it is. Values are validated by the flow that builds the patch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfilePatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub nickname: Option<String>,
    pub picture: Option<String>,
    pub language: Option<String>,
    pub company: Option<String>,
    pub position: Option<String>,
    pub birthdate: Option<String>,
    pub phones_v2: Option<Vec<Phone>>,
    pub custom_fields: Option<Vec<CustomField>>,
}

impl ProfilePatch {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Applies the patch to a profile in memory (a new member's, before it is stored).
    pub fn apply_to(&self, p: &mut IdentityProfile) {
        let texts = [
            (&self.first_name, &mut p.first_name),
            (&self.last_name, &mut p.last_name),
            (&self.nickname, &mut p.nickname),
            (&self.picture, &mut p.picture),
            (&self.language, &mut p.language),
            (&self.company, &mut p.company),
            (&self.position, &mut p.position),
            (&self.birthdate, &mut p.birthdate),
        ];
        for (given, field) in texts {
            if given.is_some() {
                field.clone_from(given);
            }
        }
        if let Some(phones) = &self.phones_v2 {
            p.phones_v2.clone_from(phones);
        }
        if let Some(fields) = &self.custom_fields {
            p.custom_fields.clone_from(fields);
        }
    }

    /// (wire name, value) of each given field; `None` for a list given empty (removed).
    fn assignments(&self) -> Result<Vec<(&'static str, Option<AttributeValue>)>, StoreError> {
        let mut out = vec![];
        let texts = [
            ("firstName", &self.first_name),
            ("lastName", &self.last_name),
            ("nickname", &self.nickname),
            ("picture", &self.picture),
            ("language", &self.language),
            ("company", &self.company),
            ("position", &self.position),
            ("birthdate", &self.birthdate),
        ];
        for (name, value) in texts {
            if let Some(v) = value {
                out.push((name, Some(s(v))));
            }
        }
        if let Some(phones) = &self.phones_v2 {
            out.push(("phonesV2", encode_list(phones)?));
        }
        if let Some(fields) = &self.custom_fields {
            out.push(("customFields", encode_list(fields)?));
        }
        Ok(out)
    }
}

/// A list attribute, or `None` for an empty list (removed rather than stored empty).
fn encode_list<T: Serialize>(items: &[T]) -> Result<Option<AttributeValue>, StoreError> {
    if items.is_empty() {
        return Ok(None);
    }
    serde_dynamo::to_attribute_value(items)
        .map(Some)
        .map_err(|e| StoreError::new("encode profile", e))
}

/// What became of a profile merge.
#[derive(Debug)]
pub enum Merge {
    /// Merged; the member as stored now.
    Merged(Box<Member>),
    /// Nothing written: the member is not ACTIVE (the member as it is), or no longer exists.
    Refused(Option<Box<Member>>),
}

impl Members {
    /// Sets the given profile fields (and, with `verify_email`, marks the email verified) in one
    /// conditional `UpdateItem`, advancing `revision` and `updatedAt`. Applies only while the
    /// member exists and is ACTIVE; never touches the password hash or the status. No read
    /// first, so concurrent merges never lose each other's fields.
    pub async fn merge_profile(
        &self,
        email_key: &str,
        patch: &ProfilePatch,
        verify_email: bool,
        now: Millis,
    ) -> Result<Merge, StoreError> {
        let mut set = vec![
            "#revision = #revision + :one".to_owned(),
            "#updatedAt = :now".to_owned(),
        ];
        let mut remove = vec![];
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("emailKey", s(email_key))
            .expression_attribute_names("#emailKey", "emailKey")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#revision", "revision")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_values(":one", crate::dynamo::n(1))
            .expression_attribute_values(":now", crate::dynamo::n(now))
            .expression_attribute_values(":active", s(Status::Active.as_str()));
        let assignments = patch.assignments()?;
        if !assignments.is_empty() {
            request = request.expression_attribute_names("#profile", "profile");
        }
        for (i, (name, value)) in assignments.into_iter().enumerate() {
            request = request.expression_attribute_names(format!("#f{i}"), name);
            match value {
                Some(v) => {
                    set.push(format!("#profile.#f{i} = :v{i}"));
                    request = request.expression_attribute_values(format!(":v{i}"), v);
                }
                None => remove.push(format!("#profile.#f{i}")),
            }
        }
        if verify_email {
            set.push("#emailVerified = :verified".to_owned());
            request = request
                .expression_attribute_names("#emailVerified", "emailVerified")
                .expression_attribute_values(":verified", AttributeValue::Bool(true));
        }
        let mut update = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            update.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let result = request
            .update_expression(update)
            .condition_expression("attribute_exists(#emailKey) AND #status = :active")
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        match result {
            Ok(out) => match out.attributes {
                Some(item) => Ok(Merge::Merged(Box::new(decode(item)?))),
                None => Err(StoreError::new(
                    "UpdateItem member profile",
                    "no attributes returned",
                )),
            },
            Err(e) => match e.into_service_error() {
                aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => {
                    Ok(Merge::Refused(c.item.map(decode).transpose()?.map(Box::new)))
                }
                other => Err(StoreError::new("UpdateItem member profile", other)),
            },
        }
    }
}
