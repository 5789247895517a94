//! Bulk writes that fill a sessions table for the tests and the benchmark, thousands of items
//! a second. Each item is a copy of a session the owner stored (`Sessions::create`), changed
//! only where the owner's own writes would change it (expiry, revocation, refresh family), so
//! the items stay what `shared::session` writes even as it grows fields. Test-only (the
//! `testing` feature): the one writer of the sessions table outside `shared::session`.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use futures::{StreamExt, TryStreamExt};
use shared::clock::Millis;
use shared::email::Email;
use shared::error::StoreError;
use shared::member::{Member, Status};
use shared::session::{REFRESH_ATTRIBUTE, Session};
use shared::testing::TestApp;

type Item = HashMap<String, AttributeValue>;

/// One session to write.
#[derive(Clone, Copy, Debug)]
pub struct SessionSpec {
    pub created_at: Millis,
    pub expires_at: Millis,
    /// Revoked at this time (as `Sessions::revoke` does: the item moves to that hour's bucket).
    pub revoked_at: Option<Millis>,
    /// Carries a refresh family (`refreshHash`, `refreshGeneration`, `refreshExpiresAt`, as
    /// `Sessions::start_refresh_family` writes them).
    pub refresh: bool,
}

impl SessionSpec {
    pub fn live(now: Millis, ttl_ms: Millis) -> Self {
        Self {
            created_at: now,
            expires_at: now + ttl_ms,
            revoked_at: None,
            refresh: false,
        }
    }

    pub fn expired(expired_at: Millis) -> Self {
        Self {
            created_at: expired_at - 3_600_000,
            expires_at: expired_at,
            revoked_at: None,
            refresh: false,
        }
    }

    pub fn with_refresh(mut self) -> Self {
        self.refresh = true;
        self
    }

    /// With a refresh family when `refresh` holds (every n-th of a batch, say).
    pub fn with_refresh_if(self, refresh: bool) -> Self {
        if refresh { self.with_refresh() } else { self }
    }

    pub fn revoked(mut self, at: Millis) -> Self {
        self.revoked_at = Some(at);
        self
    }
}

/// A member of `email` (not stored) and a session of it exactly as `Sessions::create` stores
/// it: the model every seeded session copies. The session is deleted again at once, so the
/// table is left as it was.
pub async fn template(t: &TestApp, email: &str) -> (Member, Session) {
    let email = Email::parse(email, "email").expect("a valid email");
    let member = Member::new(&email, Status::Active, t.app.clock.now_ms());
    let template = t.session_lasting(&member, 3600).await.session;
    t.client
        .delete_item()
        .table_name(&t.tables.sessions)
        .key("sessionId", shared::dynamo::s(&template.session_id))
        .send()
        .await
        .expect("the template session is deleted");
    t.app.requests.take();
    (member, template)
}

/// The item `spec` describes, modelled on `template`.
pub fn session_item(template: &Session, spec: &SessionSpec) -> Result<(String, Item), StoreError> {
    let mut s = template.clone();
    s.session_id = shared::secret::random_b64(16);
    s.created_at = spec.created_at;
    s.expires_at = spec.expires_at;
    s.revoked = spec.revoked_at.is_some();
    s.gc_at = spec.revoked_at.unwrap_or(spec.expires_at);
    s.gc_bucket = shared::gc::bucket(s.gc_at, &s.session_id);
    s.ttl = spec.expires_at.div_euclid(1000) + 86_400;
    let mut item: Item =
        serde_dynamo::to_item(&s).map_err(|e| StoreError::new("encode session", e))?;
    if spec.refresh {
        item.insert(
            REFRESH_ATTRIBUTE.into(),
            AttributeValue::S(shared::secret::random_b64(32)),
        );
        item.insert("refreshGeneration".into(), AttributeValue::N("1".into()));
        item.insert(
            "refreshExpiresAt".into(),
            AttributeValue::N(spec.expires_at.to_string()),
        );
    }
    Ok((s.session_id, item))
}

/// Writes the sessions `specs` describe; returns their ids in order.
pub async fn sessions(
    client: &Client,
    table: &str,
    template: &Session,
    specs: &[SessionSpec],
) -> Result<Vec<String>, StoreError> {
    let mut ids = Vec::with_capacity(specs.len());
    let mut items = Vec::with_capacity(specs.len());
    for spec in specs {
        let (id, item) = session_item(template, spec)?;
        ids.push(id);
        items.push(item);
    }
    put_all(client, table, items).await?;
    Ok(ids)
}

/// `BatchWriteItem`s of 25, 8 in flight, unprocessed items retried.
pub async fn put_all(client: &Client, table: &str, items: Vec<Item>) -> Result<(), StoreError> {
    let mut chunks = Vec::new();
    let mut it = items.into_iter().peekable();
    while it.peek().is_some() {
        chunks.push(it.by_ref().take(25).collect::<Vec<_>>());
    }
    futures::stream::iter(chunks)
        .map(|chunk| write_chunk(client, table, chunk))
        .buffer_unordered(8)
        .try_collect::<()>()
        .await
}

async fn write_chunk(client: &Client, table: &str, chunk: Vec<Item>) -> Result<(), StoreError> {
    let mut pending = chunk
        .into_iter()
        .map(|item| {
            PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map(|put| WriteRequest::builder().put_request(put).build())
                .map_err(|e| StoreError::new("build PutRequest", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for attempt in 0..20u32 {
        let out = client
            .batch_write_item()
            .request_items(table, pending)
            .send()
            .await
            .map_err(|e| StoreError::new("BatchWriteItem sessions", e))?;
        pending = out
            .unprocessed_items
            .and_then(|mut u| u.remove(table))
            .unwrap_or_default();
        if pending.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10 << attempt.min(6))).await;
    }
    Err(StoreError::new(
        "BatchWriteItem sessions",
        "items still unprocessed after 20 attempts",
    ))
}
