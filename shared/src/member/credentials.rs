//! A member's password hash, changed by the member (change password). The login's transparent
//! rehash is `Members::replace_password_hash`; this is the other writer, and the one that
//! counts as a change of the member: it advances `revision` and `updatedAt`.

use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::{Member, Members, decode};
use crate::clock::Millis;
use crate::dynamo::{Conditional, n, s, written};
use crate::error::StoreError;

/// What became of a password change.
#[derive(Debug)]
pub enum PasswordChange {
    /// Stored; the member as it is now.
    Changed(Box<Member>),
    /// Nothing written: the member's hash (or the member) is no longer the one the change was
    /// decided on — another change won the race, or the member is gone.
    Stale,
}

impl Members {
    /// Stores `new_hash` as `member`'s password in one conditional `UpdateItem`, provided the
    /// item still belongs to the same member id and still holds the hash `member` was read
    /// with (or still none). So a change decided on a verified current password can never
    /// overwrite a password that changed in between; concurrent changes: exactly one wins.
    pub async fn change_password_hash(
        &self,
        member: &Member,
        new_hash: &str,
        now: Millis,
    ) -> Result<PasswordChange, StoreError> {
        let mut request = self
            .update(&member.email_key)
            .update_expression(
                "SET passwordHash = :new, #revision = #revision + :one, updatedAt = :now",
            )
            .expression_attribute_names("#revision", "revision")
            .expression_attribute_values(":new", s(new_hash))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":id", s(&member.member_id))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::None);
        request = match &member.password_hash {
            Some(old) => request
                .condition_expression("memberId = :id AND passwordHash = :old")
                .expression_attribute_values(":old", s(old)),
            None => request
                .condition_expression("memberId = :id AND attribute_not_exists(passwordHash)"),
        };
        match written(request.send().await, "UpdateItem member password")? {
            Conditional::Done(out) => match out.attributes {
                Some(item) => Ok(PasswordChange::Changed(Box::new(decode(item)?))),
                None => Err(StoreError::new(
                    "UpdateItem member password",
                    "no attributes returned",
                )),
            },
            Conditional::Refused(_) => Ok(PasswordChange::Stale),
        }
    }
}

/// What became of marking a member's email verified.
#[derive(Debug)]
pub enum Verified {
    /// Marked; the member as it is now.
    Marked(Box<Member>),
    /// Nothing written: the member is BLOCKED, gone, or another member now (as it stands).
    Refused(Option<Box<Member>>),
}

impl Members {
    /// Marks the email of `member_id` verified (DESIGN §3.10), and with `activate` makes the
    /// member ACTIVE: one conditional `UpdateItem` (same member, not BLOCKED), advancing
    /// `revision` and `updatedAt`.
    pub async fn mark_verified(
        &self,
        email_key: &str,
        member_id: &str,
        activate: bool,
        now: Millis,
    ) -> Result<Verified, StoreError> {
        let mut set =
            "SET emailVerified = :t, #revision = #revision + :one, updatedAt = :now".to_owned();
        if activate {
            set.push_str(", #status = :active");
        }
        let mut request = self
            .update(email_key)
            .update_expression(set)
            .condition_expression("memberId = :id AND #status <> :blocked")
            .expression_attribute_names("#revision", "revision")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":t", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":id", s(member_id))
            .expression_attribute_values(":blocked", s(super::Status::Blocked.as_str()))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if activate {
            request =
                request.expression_attribute_values(":active", s(super::Status::Active.as_str()));
        }
        match written(request.send().await, "UpdateItem member verified")? {
            Conditional::Done(out) => match out.attributes {
                Some(item) => Ok(Verified::Marked(Box::new(decode(item)?))),
                None => Err(StoreError::new(
                    "UpdateItem member verified",
                    "no attributes returned",
                )),
            },
            Conditional::Refused(old) => Ok(Verified::Refused(
                old.map(decode).transpose()?.map(Box::new),
            )),
        }
    }
}
