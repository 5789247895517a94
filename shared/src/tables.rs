//! The three DynamoDB tables, defined once. `template.yaml` declares the same tables for AWS
//! and a test holds the two in agreement; DynamoDB Local gets them from `create`.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

use crate::config::TableNames;
use crate::error::StoreError;

/// Name of the TTL attribute on every table: garbage collection only, never trusted for expiry.
pub const TTL_ATTRIBUTE: &str = "ttl";
/// The index that lists items by the hour they become collectable (session-cleanup's only read).
pub const GC_INDEX: &str = "byGcHour";
/// The index that lists a member's sessions.
pub const MEMBER_SESSIONS_INDEX: &str = "byMember";
/// The index that finds a member by id.
pub const MEMBER_ID_INDEX: &str = "byMemberId";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scalar {
    S,
    N,
}

#[derive(Debug)]
pub struct IndexSpec {
    pub name: &'static str,
    pub partition_key: (&'static str, Scalar),
    pub sort_key: Option<(&'static str, Scalar)>,
    /// The non-key attributes the index projects; none (`KEYS_ONLY`) for every index but the
    /// members' `byMemberId`, which carries `status` so token exchange and refresh can check
    /// the member beside their session write (DESIGN §3.12).
    pub projected: &'static [&'static str],
}

#[derive(Debug)]
pub struct TableSpec {
    /// The resource's logical id in template.yaml.
    pub logical_id: &'static str,
    pub partition_key: (&'static str, Scalar),
    pub indexes: &'static [IndexSpec],
}

const GC: IndexSpec = IndexSpec {
    name: GC_INDEX,
    partition_key: ("gcBucket", Scalar::S),
    sort_key: Some(("gcAt", Scalar::N)),
    projected: &[],
};

pub const MEMBERS: TableSpec = TableSpec {
    logical_id: "MembersTable",
    partition_key: ("emailKey", Scalar::S),
    indexes: &[IndexSpec {
        name: MEMBER_ID_INDEX,
        partition_key: ("memberId", Scalar::S),
        sort_key: None,
        projected: &["status"],
    }],
};

pub const SESSIONS: TableSpec = TableSpec {
    logical_id: "SessionsTable",
    partition_key: ("sessionId", Scalar::S),
    indexes: &[
        IndexSpec {
            name: MEMBER_SESSIONS_INDEX,
            partition_key: ("memberId", Scalar::S),
            sort_key: None,
            projected: &[],
        },
        GC,
    ],
};

pub const COUNTERS: TableSpec = TableSpec {
    logical_id: "CountersTable",
    partition_key: ("counterKey", Scalar::S),
    indexes: &[GC],
};

pub const ALL: [&TableSpec; 3] = [&MEMBERS, &SESSIONS, &COUNTERS];

fn scalar(s: Scalar) -> ScalarAttributeType {
    match s {
        Scalar::S => ScalarAttributeType::S,
        Scalar::N => ScalarAttributeType::N,
    }
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("key schema element has its required fields")
}

impl TableSpec {
    /// Every attribute that appears in a key of the table or one of its indexes.
    pub fn key_attributes(&self) -> Vec<(&'static str, Scalar)> {
        let mut attrs = vec![self.partition_key];
        for ix in self.indexes {
            attrs.push(ix.partition_key);
            attrs.extend(ix.sort_key);
        }
        attrs.sort();
        attrs.dedup();
        attrs
    }

    /// Creates the table (on-demand) with its indexes and TTL; an existing table is left as is.
    pub async fn create(&self, client: &Client, name: &str) -> Result<(), StoreError> {
        let mut req = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(self.partition_key.0, KeyType::Hash));
        for (attr, kind) in self.key_attributes() {
            req = req.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(attr)
                    .attribute_type(scalar(kind))
                    .build()
                    .expect("attribute definition has its required fields"),
            );
        }
        for ix in self.indexes {
            let mut gsi = GlobalSecondaryIndex::builder()
                .index_name(ix.name)
                .key_schema(key(ix.partition_key.0, KeyType::Hash))
                .projection(if ix.projected.is_empty() {
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build()
                } else {
                    Projection::builder()
                        .projection_type(ProjectionType::Include)
                        .set_non_key_attributes(Some(
                            ix.projected.iter().map(|a| a.to_string()).collect(),
                        ))
                        .build()
                });
            if let Some((sk, _)) = ix.sort_key {
                gsi = gsi.key_schema(key(sk, KeyType::Range));
            }
            req = req.global_secondary_indexes(gsi.build().expect("index has its fields"));
        }
        match req.send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_resource_in_use_exception()) =>
            {
                return Ok(());
            }
            Err(e) => return Err(StoreError::new("CreateTable", e)),
        }
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(TTL_ATTRIBUTE)
                    .enabled(true)
                    .build()
                    .expect("ttl spec has its fields"),
            )
            .send()
            .await
            .map_err(|e| StoreError::new("UpdateTimeToLive", e))?;
        Ok(())
    }
}

/// Creates all three tables under the given names.
pub async fn create_all(client: &Client, names: &TableNames) -> Result<(), StoreError> {
    MEMBERS.create(client, &names.members).await?;
    SESSIONS.create(client, &names.sessions).await?;
    COUNTERS.create(client, &names.counters).await?;
    Ok(())
}
