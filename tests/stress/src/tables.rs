//! The after-run checks: the three tables read directly (full scans, strongly consistent),
//! held against what the service answered.
//!
//! - uniqueness: every member item sits at the key of its own email, member ids are unique,
//!   and each email the driver registered has exactly the one member it was answered with;
//! - sessions: every session belongs to a member that exists (its id starts with the member
//!   id, its email key is the member's), and is revoked exactly when the driver logged it out
//!   or a password change ended it;
//! - counters: each email's lockout counter, its verification ceiling and each member's
//!   change-password counter equal the attempts that reached them (a range after a 503);
//!   with `exact`, the IP's login and registration counters equal the sums over all members;
//! - refresh families: each family's stored current hash is that of the last token handed out,
//!   and its generation counts one rotation per refresh — one, for tabs racing with one token.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::member::{Member, Tri, secret_hash};

type Item = HashMap<String, AttributeValue>;

fn s(item: &Item, name: &str) -> Option<String> {
    item.get(name)?.as_s().ok().cloned()
}

fn n(item: &Item, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

async fn scan(client: &Client, table: &str) -> Vec<Item> {
    client
        .scan()
        .table_name(table)
        .consistent_read(true)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap_or_else(|e| panic!("scan {table}: {e:?}"))
}

/// The outcome of one kind of check: how many things it held for, and what it found wrong.
#[derive(Default, Debug)]
pub struct Check {
    pub name: &'static str,
    pub held: usize,
    pub failed: Vec<String>,
}

impl Check {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            ..Self::default()
        }
    }
    fn that(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if ok {
            self.held += 1;
        } else {
            self.failed.push(what());
        }
    }
}

pub struct Tables {
    pub client: Client,
    pub members: String,
    pub sessions: String,
    pub counters: String,
}

impl Tables {
    /// The tables the functions use, from the same environment (`DYNAMODB_ENDPOINT`,
    /// `MEMBERS_TABLE`, `SESSIONS_TABLE`, `COUNTERS_TABLE`).
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set"));
        let endpoint = var("DYNAMODB_ENDPOINT");
        Self {
            client: shared::dynamo::local_client(&endpoint, Default::default()),
            members: var("MEMBERS_TABLE"),
            sessions: var("SESSIONS_TABLE"),
            counters: var("COUNTERS_TABLE"),
        }
    }

    /// Every check, over the members the driver ran. `exact`: no answer was a 503, so every
    /// count is known exactly and the global counters are checked too.
    pub async fn check(&self, members: &[Member], exact: bool) -> Vec<Check> {
        let member_items = scan(&self.client, &self.members).await;
        let session_items = scan(&self.client, &self.sessions).await;
        let counter_items = scan(&self.client, &self.counters).await;
        let counters: HashMap<String, Item> = counter_items
            .into_iter()
            .filter_map(|i| Some((s(&i, "counterKey")?, i)))
            .collect();
        let fails_at =
            |key: &str| counters.get(key).and_then(|i| n(i, "fails")).unwrap_or(0) as u32;

        // Uniqueness.
        let mut unique = Check::new("one email, one member (uniqueness)");
        let mut by_id: HashMap<String, String> = HashMap::new();
        let mut by_email: HashMap<String, Vec<String>> = HashMap::new();
        for item in &member_items {
            let key = s(item, "emailKey").unwrap_or_default();
            let id = s(item, "memberId").unwrap_or_default();
            let email = s(item, "email").unwrap_or_default();
            let canonical = shared::email::Email::parse(&email, "email")
                .map(|e| e.key().to_owned())
                .unwrap_or_default();
            unique.that(canonical == key, || {
                format!("member {id} at key {key} holds the email of key {canonical}")
            });
            unique.that(by_id.insert(id.clone(), key.clone()).is_none(), || {
                format!("member id {id} is held by two items")
            });
            by_email.entry(key).or_default().push(id);
        }
        for m in members {
            let key = shared::email::Email::parse(&m.email, "email")
                .expect("the driver's emails are valid")
                .key()
                .to_owned();
            let ids = by_email.get(&key).cloned().unwrap_or_default();
            let ok = match m.registered {
                Tri::Yes => ids.len() == 1 && m.member_id.as_ref().is_none_or(|id| ids[0] == *id),
                Tri::No => ids.is_empty(),
                Tri::Maybe => ids.len() <= 1,
            };
            unique.that(ok, || {
                format!(
                    "{}: registered {:?} as {:?}, the table holds {ids:?}",
                    m.email, m.registered, m.member_id
                )
            });
        }
        if exact {
            let registered = members.iter().filter(|m| m.registered == Tri::Yes).count();
            unique.that(member_items.len() == registered, || {
                format!(
                    "{} member items for {registered} registrations",
                    member_items.len()
                )
            });
        }

        // Sessions and their members.
        let mut owned = Check::new("no session without its member");
        let mut sessions: HashMap<String, &Item> = HashMap::new();
        let mut per_member: HashMap<String, HashSet<String>> = HashMap::new();
        let mut orphans_revoked = 0;
        for item in &session_items {
            let sid = s(item, "sessionId").unwrap_or_default();
            let mid = s(item, "memberId").unwrap_or_default();
            let revoked = item
                .get("revoked")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false);
            match by_id.get(&mid) {
                Some(email_key) => owned.that(
                    s(item, "emailKey").as_deref() == Some(email_key) && sid.starts_with(&mid),
                    || format!("session {sid} of member {mid} names another email or id"),
                ),
                // A session stored beside a member that was not created, its token never
                // handed out: harmless once revoked (register revokes it).
                None if revoked => orphans_revoked += 1,
                None => owned.that(false, || {
                    format!("live session {sid} belongs to no member ({mid})")
                }),
            }
            per_member.entry(mid).or_default().insert(sid.clone());
            sessions.insert(sid, item);
        }
        if orphans_revoked > 0 {
            println!(
                "  note: {orphans_revoked} revoked sessions without a member (stored beside a registration that failed, never handed out)"
            );
        }

        let mut states = Check::new("sessions revoked exactly when logged out or ended");
        let mut families = Check::new("refresh families in one state");
        let mut counts = Check::new("counters equal the attempts that reached them");
        for m in members {
            for sess in &m.sessions {
                let Some(item) = sessions.get(sess.id()) else {
                    states.that(false, || {
                        format!("{}: session {} is gone", m.email, sess.id())
                    });
                    continue;
                };
                let revoked = item
                    .get("revoked")
                    .and_then(|v| v.as_bool().ok())
                    .copied()
                    .unwrap_or(false);
                states.that(
                    match sess.live {
                        Tri::Yes => !revoked,
                        Tri::No => revoked,
                        Tri::Maybe => true,
                    },
                    || {
                        format!(
                            "{}: session {} revoked={revoked}, expected live {:?}",
                            m.email,
                            sess.id(),
                            sess.live
                        )
                    },
                );
                owned.that(
                    m.member_id
                        .as_ref()
                        .is_none_or(|id| s(item, "memberId").as_ref() == Some(id)),
                    || format!("{}: session {} names another member", m.email, sess.id()),
                );
                if let Some(f) = &sess.family {
                    let stored = s(item, "refreshHash");
                    if let Some(current) = &f.current {
                        families.that(stored.as_deref() == Some(&secret_hash(current)), || {
                            format!(
                                "{}: session {}'s current refresh hash is not the last token handed out",
                                m.email,
                                sess.id()
                            )
                        });
                    }
                    let generation = n(item, "refreshGeneration").unwrap_or(0) as u32;
                    families.that(f.generation.holds(generation), || {
                        format!(
                            "{}: session {} refreshGeneration {generation}, expected {:?}",
                            m.email,
                            sess.id(),
                            f.generation
                        )
                    });
                }
            }
            if exact && let Some(id) = &m.member_id {
                let known: HashSet<String> = m.sessions.iter().map(|s| s.id().to_owned()).collect();
                let stored = per_member.get(id).cloned().unwrap_or_default();
                states.that(stored == known, || {
                    format!(
                        "{}: {} sessions stored, {} handed out",
                        m.email,
                        stored.len(),
                        known.len()
                    )
                });
            }

            let key = shared::email::Email::parse(&m.email, "email")
                .expect("valid")
                .key()
                .to_owned();
            let lock = fails_at(&shared::lockout::email_key("login", &key));
            counts.that(m.fails.holds(lock), || {
                format!(
                    "{}: lockout counter {lock}, expected {:?}",
                    m.email, m.fails
                )
            });
            let ceiling = fails_at(&shared::lockout::verifications_key(&key));
            counts.that(m.verifications.holds(ceiling), || {
                format!(
                    "{}: verification ceiling {ceiling}, expected {:?}",
                    m.email, m.verifications
                )
            });
            if let Some(id) = &m.member_id {
                let chpw = fails_at(&shared::lockout::member_key("chpw", id));
                counts.that(m.chpw.holds(chpw), || {
                    format!(
                        "{}: change-password counter {chpw}, expected {:?}",
                        m.email, m.chpw
                    )
                });
            }
        }
        if exact {
            let ips: Vec<&String> = counters
                .keys()
                .filter(|k| k.starts_with("login#ip#"))
                .collect();
            let login_ip = ips.iter().map(|k| fails_at(k)).sum::<u32>();
            let expected: u32 = members
                .iter()
                .map(|m| m.failed_logins + m.locked_logins)
                .sum();
            counts.that(ips.len() <= 1 && login_ip == expected, || {
                format!("login IP counters {ips:?} hold {login_ip}, expected {expected} (401s and locked 429s)")
            });
            let reg_ip = counters
                .keys()
                .filter(|k| k.starts_with("register#ip#"))
                .map(|k| fails_at(k))
                .sum::<u32>();
            let expected: u32 = members.iter().map(|m| m.registrations).sum();
            counts.that(reg_ip == expected, || {
                format!("registration IP counters hold {reg_ip}, expected {expected}")
            });
        }
        vec![unique, owned, states, families, counts]
    }
}
