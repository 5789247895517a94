//! Email verification states (DESIGN §3.10): the record behind a stateToken and its 6-digit
//! code, in the counters table.
//!
//! A stateToken is `vs_<stateId>.<secret>` (a §7.1 secret). The item keyed by the state id
//! holds the secret's SHA-256 and the code's, salted with that secret (`SHA-256(secret:code)`),
//! so neither the token nor the code can be read back, and a million codes cannot be tried
//! offline against a leaked item without the secret. Every check of a code is counted
//! *before* it is judged, by one conditional `UpdateItem` that admits it only while fewer than
//! `VERIFY_MAX_ATTEMPTS` were made and the state has not expired (checked in code as well as in
//! the condition) — so concurrent guesses are counted exactly, as the lockout counters are.
//! A new code (resend) replaces the old one and its count.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::dynamo::{Conditional, get_consistent, n, s, written};
use crate::error::StoreError;
use crate::member::Member;
use crate::secret::{Bearer, hashes_equal, random_b64, sha256_hex};

/// The prefix of stateTokens.
pub const STATE_PREFIX: &str = "vs";

fn state_key(state_id: &str) -> String {
    format!("verify#state#{state_id}")
}

/// A stateToken presented by a caller, parsed; `Debug` hides the secret.
#[derive(Debug)]
pub struct StateToken(Bearer);

impl StateToken {
    pub fn parse(raw: &str) -> Option<Self> {
        Bearer::parse(STATE_PREFIX, raw.trim()).map(Self)
    }

    fn key(&self) -> String {
        state_key(self.0.id())
    }

    /// The stored form of `code` under this token's secret.
    fn code_hash(&self, code: &Code) -> String {
        code_hash(&self.0, code)
    }
}

fn code_hash(bearer: &Bearer, code: &Code) -> String {
    sha256_hex(format!("{}:{}", bearer.secret_text(), code.expose()).as_bytes())
}

/// A 6-digit code; neither `Debug` nor a log line shows it.
#[derive(Clone)]
pub struct Code(SecretString);

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Code([redacted])")
    }
}

impl Code {
    /// A fresh code, uniform over 000000–999999 from the OS CSPRNG.
    fn random() -> Self {
        let v: u32 = rand::rngs::OsRng.gen_range(0..1_000_000);
        Self(SecretString::from(format!("{v:06}")))
    }

    /// Exactly six ASCII digits (surrounding spaces dropped); anything else is `None`.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        (raw.len() == 6 && raw.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Self(SecretString::from(raw.to_owned())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StateItem {
    counter_key: String,
    member_id: String,
    email_key: String,
    email: String,
    token_hash: String,
    code_hash: String,
    attempts: u32,
    expires_at: Millis,
    gc_bucket: String,
    gc_at: Millis,
    ttl: i64,
}

/// A live verification state: whom it verifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    pub member_id: String,
    pub email_key: String,
    /// The address the code is mailed to.
    pub email: String,
    pub expires_at: Millis,
}

impl From<StateItem> for Verification {
    fn from(i: StateItem) -> Self {
        Self {
            member_id: i.member_id,
            email_key: i.email_key,
            email: i.email,
            expires_at: i.expires_at,
        }
    }
}

/// A new state: the stateToken for the caller and the code for the mailbox, each shown once.
pub struct Started {
    pub token: String,
    pub code: Code,
    pub state_id: String,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started")
            .field("state_id", &self.state_id)
            .finish_non_exhaustive()
    }
}

/// What one code check came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Checked {
    /// The stateToken is unknown, expired, or out of attempts: dead.
    Dead,
    /// A wrong code, counted.
    Wrong,
    /// The right code.
    Right(Verification),
}

/// The verification states, in the counters table.
#[derive(Clone, Debug)]
pub struct Verifications {
    client: Client,
    table: String,
}

impl Verifications {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// A new state for `member` with a fresh code, valid `ttl_seconds`. One `PutItem`.
    pub async fn start(
        &self,
        member: &Member,
        now: Millis,
        ttl_seconds: i64,
    ) -> Result<Started, StoreError> {
        let bearer = Bearer::mint(random_b64(16));
        let code = Code::random();
        let expires_at = now + ttl_seconds * 1000;
        let counter_key = state_key(bearer.id());
        let item = StateItem {
            gc_bucket: crate::gc::bucket(expires_at, &counter_key),
            counter_key,
            member_id: member.member_id.clone(),
            email_key: member.email_key.clone(),
            email: member.email.clone(),
            token_hash: bearer.hash(),
            code_hash: code_hash(&bearer, &code),
            attempts: 0,
            expires_at,
            gc_at: expires_at,
            ttl: expires_at.div_euclid(1000) + 86_400,
        };
        let item =
            serde_dynamo::to_item(&item).map_err(|e| StoreError::new("encode verification", e))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(counterKey)")
            .send()
            .await
            .map_err(|e| StoreError::new("PutItem verification", e))?;
        Ok(Started {
            state_id: bearer.id().to_owned(),
            token: bearer.reveal(STATE_PREFIX),
            code,
        })
    }

    /// Counts one check of `code` and judges it: one conditional `UpdateItem` that admits the
    /// check only for this secret, before expiry and under `max_attempts`.
    pub async fn check(
        &self,
        token: &StateToken,
        code: &Code,
        now: Millis,
        max_attempts: u32,
    ) -> Result<Checked, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("counterKey", s(token.key()))
            .update_expression("SET attempts = attempts + :one")
            .condition_expression("tokenHash = :h AND expiresAt > :now AND attempts < :max")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":h", s(token.0.hash()))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":max", n(max_attempts))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::None)
            .send()
            .await;
        let item = match written(result, "UpdateItem verification attempt")? {
            Conditional::Done(out) => out.attributes,
            Conditional::Refused(_) => return Ok(Checked::Dead),
        };
        let Some(item) = item else {
            return Ok(Checked::Dead);
        };
        let st: StateItem =
            serde_dynamo::from_item(item).map_err(|e| StoreError::new("decode verification", e))?;
        if now >= st.expires_at {
            return Ok(Checked::Dead);
        }
        Ok(if hashes_equal(&token.code_hash(code), &st.code_hash) {
            Checked::Right(st.into())
        } else {
            Checked::Wrong
        })
    }

    /// Ends the state (its code was right): one `DeleteItem`, conditional on the secret, so of
    /// two racing verifications one ends it. Returns whether this call did.
    pub async fn finish(&self, token: &StateToken) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("counterKey", s(token.key()))
            .condition_expression("tokenHash = :h")
            .expression_attribute_values(":h", s(token.0.hash()))
            .send()
            .await;
        Ok(matches!(
            written(result, "DeleteItem verification")?,
            Conditional::Done(_)
        ))
    }

    /// Deletes the state `state_id`, whatever it holds (a registration that was refused).
    pub async fn discard(&self, state_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("counterKey", s(state_key(state_id)))
            .send()
            .await
            .map_err(|e| StoreError::new("DeleteItem verification", e))?;
        Ok(())
    }

    /// The live state `token` opens, read strongly consistent: `None` when unknown, another
    /// secret, expired or out of attempts.
    pub async fn open(
        &self,
        token: &StateToken,
        now: Millis,
        max_attempts: u32,
    ) -> Result<Option<Verification>, StoreError> {
        let item = get_consistent(
            &self.client,
            &self.table,
            ("counterKey", &token.key()),
            "GetItem verification",
        )
        .await?;
        let Some(item) = item else { return Ok(None) };
        let st: StateItem =
            serde_dynamo::from_item(item).map_err(|e| StoreError::new("decode verification", e))?;
        let live =
            token.0.matches(&st.token_hash) && now < st.expires_at && st.attempts < max_attempts;
        Ok(live.then(|| st.into()))
    }

    /// A new code for the state (the old one dies, its count starts again, and the state lives
    /// `ttl_seconds` from now): one `UpdateItem`, conditional on the state still being live
    /// for this secret. `None` when it no longer is.
    pub async fn renew(
        &self,
        token: &StateToken,
        now: Millis,
        ttl_seconds: i64,
        max_attempts: u32,
    ) -> Result<Option<Code>, StoreError> {
        let code = Code::random();
        let expires_at = now + ttl_seconds * 1000;
        let key = token.key();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("counterKey", s(&key))
            .update_expression(
                "SET codeHash = :c, attempts = :zero, expiresAt = :e, gcBucket = :gb, gcAt = :e, #ttl = :ttl",
            )
            .condition_expression("tokenHash = :h AND expiresAt > :now AND attempts < :max")
            .expression_attribute_names("#ttl", crate::tables::TTL_ATTRIBUTE)
            .expression_attribute_values(":c", s(token.code_hash(&code)))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":e", n(expires_at))
            .expression_attribute_values(":gb", s(crate::gc::bucket(expires_at, &key)))
            .expression_attribute_values(":ttl", n(expires_at.div_euclid(1000) + 86_400))
            .expression_attribute_values(":h", s(token.0.hash()))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":max", n(max_attempts))
            .send()
            .await;
        Ok(match written(result, "UpdateItem verification code")? {
            Conditional::Done(_) => Some(code),
            Conditional::Refused(_) => None,
        })
    }
}
