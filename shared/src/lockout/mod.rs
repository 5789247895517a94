//! Lockout and rate-limit counters in the counters table (DESIGN §4).
//!
//! A counter changes only through single conditional `UpdateItem`/`DeleteItem` calls: an
//! attempt is counted *before* the work it guards (argon2, a registration), by an update whose
//! condition admits it only while the counter is under its limit, unlocked and in a current
//! window. So however requests interleave, no more than `limit` attempts per window get
//! through, and the stored count is exact. When that update is refused, DynamoDB returns the
//! item as it stood (`ReturnValuesOnConditionCheckFailure`), and `decide` reads from it what
//! to do: refuse (locked or throttled), place a lock, or start a new window — each again a
//! write conditioned on the state just seen, so concurrent writers cannot both win.
//!
//! A lock lasts `base`, doubling with each further lock up to `max`; the doubling is forgotten
//! a day after the last lock ends, or at once on success. Time is checked here, in code.
//!
//! This module holds the rules — `Policy`, the pure `decide`, the counter keys, and
//! `Policies`, every named policy built once from the configuration; `counters` holds the
//! counters table's reads and writes, `garbage` the stale counters session-cleanup deletes and
//! `cursor` its resume point, an item of the same table.

use sha2::{Digest, Sha256};

use crate::clock::Millis;
use crate::config::LockoutConfig;
use crate::dynamo::{Item, get_n};

mod counters;
mod cursor;
mod device;
mod garbage;
pub use counters::Counters;
pub use cursor::{CURSOR_KEY, Cursor};
pub use device::{DEVICE_COOKIE, DeviceCookies, KnownDevice};

/// How long the doubling of locks is remembered after the last lock ends.
const LOCK_MEMORY_MS: i64 = 86_400_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockPolicy {
    pub base_ms: i64,
    pub max_ms: i64,
}

/// The rule one kind of counter follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub window_ms: i64,
    /// Attempts admitted per window (or before a lock).
    pub limit: u32,
    /// `Some`: reaching the limit locks, with doubling; `None`: it throttles until the window ends.
    pub lock: Option<LockPolicy>,
    /// A gate: at the limit an attempt is refused (unlocked) and nothing is written — neither
    /// a count nor a lock. Login counts attempts that solved no CAPTCHA through the gate of
    /// `LOGIN_CAPTCHA_AFTER_FAILURES`, so they can never lock (DESIGN §4).
    pub gated: bool,
}

impl Policy {
    /// This policy as a gate at `limit` (see `gated`); retention and locks already placed
    /// stay as the policy says.
    pub fn gate(self, limit: u32) -> Self {
        Self {
            limit,
            gated: true,
            ..self
        }
    }

    /// How long after its last write a counter still matters.
    pub(crate) fn retention_ms(&self) -> i64 {
        match self.lock {
            Some(l) => self.window_ms + l.max_ms + LOCK_MEMORY_MS,
            None => self.window_ms,
        }
    }
}

/// A counter item as stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CounterState {
    pub fails: u32,
    pub window_start: Millis,
    pub lock_until: Millis,
    pub lock_count: u32,
}

impl CounterState {
    fn from_item(item: &Item) -> Self {
        Self {
            fails: get_n(item, "fails").unwrap_or(0) as u32,
            window_start: get_n(item, "windowStart").unwrap_or(0),
            lock_until: get_n(item, "lockUntil").unwrap_or(0),
            lock_count: get_n(item, "lockCount").unwrap_or(0) as u32,
        }
    }
}

/// The result of counting one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// Admitted; `count` attempts (this one included) stand in the current window.
    Admitted { count: u32, window_start: Millis },
    /// Refused until `retry_after` seconds have passed; `locked` tells a lock from a throttle.
    Refused { retry_after: i64, locked: bool },
}

/// What to do with a counter whose count was refused, given the state it was refused in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    Refuse {
        retry_after: i64,
        locked: bool,
    },
    /// Place a lock of `duration_ms`, the `level`-th doubling.
    Lock {
        duration_ms: i64,
        level: u32,
    },
    /// The window (or the lock) is over: start a new window at `window_start`.
    Restart {
        window_start: Millis,
    },
    /// Nothing stands in the way: the state changed between two reads; count again.
    Retry,
}

pub(crate) fn ceil_secs(ms: i64) -> i64 {
    (ms + 999).div_euclid(1000).max(1)
}

/// The decision, from the state a refused count saw. Pure, so it is tested exhaustively.
pub fn decide(st: &CounterState, policy: &Policy, now: Millis) -> Next {
    if st.lock_until > now {
        return Next::Refuse {
            retry_after: ceil_secs(st.lock_until - now),
            locked: true,
        };
    }
    let window_over = st.window_start <= now - policy.window_ms;
    // A new window starts after any lock, so that a lock placed in it is recognisable.
    let restart = Next::Restart {
        window_start: now.max(st.lock_until + 1),
    };
    if window_over {
        return restart;
    }
    if st.fails < policy.limit {
        return Next::Retry;
    }
    if policy.gated {
        return Next::Refuse {
            retry_after: ceil_secs(st.window_start + policy.window_ms - now),
            locked: false,
        };
    }
    match policy.lock {
        // A lock placed in this window has ended: a fresh window begins.
        Some(_) if st.lock_until >= st.window_start => restart,
        Some(lock) => {
            let remembered = st.lock_count > 0 && now - st.lock_until < LOCK_MEMORY_MS;
            let level = if remembered { st.lock_count } else { 0 };
            let duration_ms = lock
                .base_ms
                .saturating_mul(1i64 << level.min(30))
                .min(lock.max_ms);
            Next::Lock { duration_ms, level }
        }
        None => Next::Refuse {
            retry_after: ceil_secs(st.window_start + policy.window_ms - now),
            locked: false,
        },
    }
}

/// Every counter policy of the service, built once from the configuration (DESIGN §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policies {
    /// Login failures per normalized email: `LOGIN_LOCK_AFTER_FAILURES` per window, then a
    /// lock of `LOGIN_LOCK_SECONDS` doubling up to `LOGIN_LOCK_MAX_SECONDS`.
    pub login_email: Policy,
    /// Login failures on a known device (a valid device cookie for the email):
    /// `LOGIN_DEVICE_LOCK_AFTER_FAILURES` per window, then locked like the email.
    pub login_device: Policy,
    /// Password verifications per email per hour, known device or not:
    /// `LOGIN_MAX_VERIFICATIONS_PER_HOUR`, the hard ceiling no other setting lifts.
    pub login_verifications: Policy,
    /// Login failures per client IP: `IP_MAX_FAILURES` per window, then throttled.
    pub login_ip: Policy,
    /// Registrations per client IP: `REGISTER_IP_MAX_PER_HOUR`, then throttled.
    pub register_ip: Policy,
    /// Change-password attempts per member: `CHANGE_PASSWORD_MAX_ATTEMPTS` per window.
    pub change_password: Policy,
    /// Recovery mails per email: `RECOVERY_EMAIL_MAX_PER_HOUR`, then nothing is sent.
    pub recovery_email: Policy,
    /// Recovery requests per client IP: `RECOVERY_IP_MAX_PER_HOUR`, then throttled.
    pub recovery_ip: Policy,
    /// Verification codes mailed per member: `VERIFY_RESEND_MAX_PER_HOUR`.
    pub verify_resend: Policy,
}

/// The window of the per-hour counters: `REGISTER_IP_MAX_PER_HOUR`,
/// `LOGIN_MAX_VERIFICATIONS_PER_HOUR`.
pub const HOUR_MS: i64 = 3_600_000;
/// The registration counter's window: `REGISTER_IP_MAX_PER_HOUR` is per hour.
pub const REGISTER_WINDOW_MS: i64 = HOUR_MS;

impl Policies {
    pub fn from_config(l: &LockoutConfig) -> Self {
        let window_ms = l.failure_window * 1000;
        let throttle = |limit| Policy {
            window_ms,
            limit,
            lock: None,
            gated: false,
        };
        let hourly = |limit| Policy {
            window_ms: HOUR_MS,
            limit,
            lock: None,
            gated: false,
        };
        let locking = |limit| Policy {
            lock: Some(LockPolicy {
                base_ms: l.lock_seconds * 1000,
                max_ms: l.lock_max_seconds * 1000,
            }),
            ..throttle(limit)
        };
        Self {
            login_email: locking(l.lock_after_failures),
            login_device: locking(l.device_lock_after_failures),
            login_verifications: Policy {
                window_ms: HOUR_MS,
                ..throttle(l.max_verifications_per_hour)
            },
            login_ip: throttle(l.ip_max_failures),
            register_ip: Policy {
                window_ms: REGISTER_WINDOW_MS,
                ..throttle(l.register_ip_max_per_hour)
            },
            change_password: throttle(l.change_password_max_attempts),
            recovery_email: hourly(l.recovery_email_max_per_hour),
            recovery_ip: hourly(l.recovery_ip_max_per_hour),
            verify_resend: hourly(l.verify_resend_max_per_hour),
        }
    }
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The key of a per-email counter: the email's hash, so the table holds no address.
pub fn email_key(kind: &str, email_key: &str) -> String {
    format!("{kind}#email#{}", sha256_hex(email_key))
}

/// The key of the per-email ceiling of password verifications (`login#verify#<sha256>`).
pub fn verifications_key(email_key: &str) -> String {
    format!("login#verify#{}", sha256_hex(email_key))
}

/// The key of a known device's login counter (`login#device#<device id>`).
pub fn device_key(device_id: &str) -> String {
    format!("login#device#{device_id}")
}

/// The key of a per-IP counter.
pub fn ip_key(kind: &str, ip: &str) -> String {
    format!("{kind}#ip#{ip}")
}

/// The key of the counter of verification codes mailed to a member (`verify#member#<id>`).
pub fn verify_resend_key(member_id: &str) -> String {
    member_key("verify", member_id)
}

/// The key of a per-member counter.
pub fn member_key(kind: &str, member_id: &str) -> String {
    format!("{kind}#member#{member_id}")
}

/// Every counter keyed by one member or by its email, for the member's erasure (DESIGN
/// §3.12): the email's login failures and verification ceiling, its recovery mails and
/// recovery ticket, the member's change-password attempts and verification codes. A new
/// per-email or per-member counter belongs here too. (Per-IP and per-device
/// counters hold neither the email nor the member id, and age out on their own.)
pub fn member_counter_keys(email: &str, member_id: &str) -> Vec<String> {
    vec![
        email_key("login", email),
        verifications_key(email),
        email_key("recovery", email),
        crate::recovery::ticket_key(email),
        member_key("chpw", member_id),
        verify_resend_key(member_id),
    ]
}

#[cfg(test)]
mod tests;
