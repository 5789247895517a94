//! A member as an operator reaches it (DESIGN §3.12): found by email or by id, its status
//! set, erased. Nothing here reads or returns the password hash: every read projects
//! `IDENTITY_ATTRIBUTES` only, and no write asks for the old or the whole new item — so
//! template.yaml can grant the admin function exactly these attributes (IAM's
//! `dynamodb:Attributes`), and a password hash cannot leave through the operators' API even by
//! a bug. A member read here has `password_hash: None`, whatever it holds.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::{Member, Members, Status, decode};
use crate::clock::Millis;
use crate::dynamo::{Conditional, get_n, n, s, written};
use crate::error::StoreError;
use crate::tables::MEMBER_ID_INDEX;

/// Every attribute of a member item but the password hash: what an identity is made of.
pub const IDENTITY_ATTRIBUTES: &[&str] = &[
    "emailKey",
    "memberId",
    "email",
    "emailVerified",
    "status",
    "statusReasons",
    "profile",
    "revision",
    "createdAt",
    "updatedAt",
];

/// The attributes a status change writes (beside the key and the `memberId` condition).
pub const STATUS_ATTRIBUTES: &[&str] = &["status", "statusReasons", "revision", "updatedAt"];

impl Members {
    /// The member with this normalized email, strongly consistent, without its password hash.
    pub async fn identity_by_email(&self, email_key: &str) -> Result<Option<Member>, StoreError> {
        let mut req = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("emailKey", s(email_key))
            .consistent_read(true);
        let mut names = vec![];
        for (i, attr) in IDENTITY_ATTRIBUTES.iter().enumerate() {
            let name = format!("#a{i}");
            req = req.expression_attribute_names(&name, *attr);
            names.push(name);
        }
        let out = req
            .projection_expression(names.join(", "))
            .send()
            .await
            .map_err(|e| StoreError::new("GetItem member identity", e))?;
        out.item.map(decode).transpose()
    }

    /// The member with this id: its email key from the `byMemberId` index (which lags a write
    /// by a moment), then the item itself, strongly consistent, without its password hash.
    pub async fn identity_by_id(&self, member_id: &str) -> Result<Option<Member>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(MEMBER_ID_INDEX)
            .key_condition_expression("memberId = :m")
            .expression_attribute_values(":m", s(member_id))
            .projection_expression("emailKey")
            .send()
            .await
            .map_err(|e| StoreError::new("Query member by id", e))?;
        let Some(email_key) = out
            .items
            .unwrap_or_default()
            .into_iter()
            .find_map(|i| i.get("emailKey")?.as_s().ok().cloned())
        else {
            return Ok(None);
        };
        // The email may have been erased and registered again since the index was written.
        Ok(self
            .identity_by_email(&email_key)
            .await?
            .filter(|m| m.member_id == member_id))
    }

    /// Sets `member`'s status (reasons cleared), advancing `revision` and `updatedAt`, in one
    /// `UpdateItem` conditional on the item still being this member's. Returns the member as
    /// it now is, or `None` when it is gone (erased, or its email taken by another member).
    pub async fn set_status(
        &self,
        member: &Member,
        status: Status,
        now: Millis,
    ) -> Result<Option<Member>, StoreError> {
        let result = self
            .update(&member.email_key)
            .update_expression(
                "SET #status = :s, statusReasons = :none, #revision = #revision + :one, \
                 updatedAt = :now",
            )
            .condition_expression("memberId = :id")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#revision", "revision")
            .expression_attribute_values(":s", s(status.as_str()))
            .expression_attribute_values(":none", AttributeValue::L(vec![]))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":id", s(&member.member_id))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match written(result, "UpdateItem member status")? {
            Conditional::Done(out) => {
                let attrs = out.attributes.unwrap_or_default();
                let mut now_member = member.clone();
                now_member.status = status;
                now_member.status_reasons = vec![];
                now_member.revision = get_n(&attrs, "revision").unwrap_or(member.revision + 1);
                now_member.updated_at = get_n(&attrs, "updatedAt").unwrap_or(now);
                now_member.password_hash = None;
                Ok(Some(now_member))
            }
            Conditional::Refused(_) => Ok(None),
        }
    }

    /// Deletes `member`'s item, provided it is still this member's (an email erased and
    /// registered again belongs to someone else). Returns whether an item was deleted.
    pub async fn erase(&self, member: &Member) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("emailKey", s(&member.email_key))
            .condition_expression("memberId = :id")
            .expression_attribute_values(":id", s(&member.member_id))
            .send()
            .await;
        Ok(matches!(
            written(result, "DeleteItem member")?,
            Conditional::Done(_)
        ))
    }
}
