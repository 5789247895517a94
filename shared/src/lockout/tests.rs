//! `decide` and the key builders, exhaustively: pure, so no DynamoDB is needed.

use super::*;

const EMAIL: Policy = Policy {
    window_ms: 900_000,
    limit: 10,
    lock: Some(LockPolicy {
        base_ms: 60_000,
        max_ms: 900_000,
    }),
    gated: false,
};
const IP: Policy = Policy {
    window_ms: 900_000,
    limit: 100,
    lock: None,
    gated: false,
};
const NOW: Millis = 1_000_000_000;

fn st(fails: u32, window_start: Millis, lock_until: Millis, lock_count: u32) -> CounterState {
    CounterState {
        fails,
        window_start,
        lock_until,
        lock_count,
    }
}

#[test]
fn a_lock_in_force_refuses_with_the_time_left() {
    let next = decide(&st(10, NOW - 10_000, NOW + 30_500, 1), &EMAIL, NOW);
    assert_eq!(
        next,
        Next::Refuse {
            retry_after: 31,
            locked: true
        }
    );
}

#[test]
fn reaching_the_limit_places_a_lock_that_doubles_up_to_the_max() {
    assert_eq!(
        decide(&st(10, NOW - 1000, 0, 0), &EMAIL, NOW),
        Next::Lock {
            duration_ms: 60_000,
            level: 0
        }
    );
    // Second lock after the first ended (window restarted after it): twice as long.
    assert_eq!(
        decide(&st(10, NOW - 1000, NOW - 5000, 1), &EMAIL, NOW),
        Next::Lock {
            duration_ms: 120_000,
            level: 1
        }
    );
    assert_eq!(
        decide(&st(10, NOW - 1000, NOW - 5000, 9), &EMAIL, NOW),
        Next::Lock {
            duration_ms: 900_000,
            level: 9
        }
    );
    // The doubling is forgotten a day after the last lock.
    assert_eq!(
        decide(
            &st(10, NOW - 1000, NOW - LOCK_MEMORY_MS - 1000, 4),
            &EMAIL,
            NOW
        ),
        Next::Lock {
            duration_ms: 60_000,
            level: 0
        }
    );
}

#[test]
fn an_ended_lock_starts_a_new_window_after_it() {
    // The lock was placed at the start of this window and has ended.
    let lock_end = NOW - 1;
    assert_eq!(
        decide(&st(10, lock_end - 60_000, lock_end, 1), &EMAIL, NOW),
        Next::Restart { window_start: NOW }
    );
    assert_eq!(
        decide(&st(10, NOW - 60_000, NOW, 1), &EMAIL, NOW),
        Next::Restart {
            window_start: NOW + 1
        }
    );
}

#[test]
fn an_old_window_restarts_and_a_current_one_under_the_limit_retries() {
    assert_eq!(
        decide(&st(4, NOW - 900_000, 0, 0), &EMAIL, NOW),
        Next::Restart { window_start: NOW }
    );
    assert_eq!(
        decide(&st(4, NOW - 899_999, 0, 0), &EMAIL, NOW),
        Next::Retry
    );
}

#[test]
fn a_throttle_without_lock_waits_for_the_window_to_end() {
    assert_eq!(
        decide(&st(100, NOW - 600_000, 0, 0), &IP, NOW),
        Next::Refuse {
            retry_after: 300,
            locked: false
        }
    );
    assert_eq!(
        decide(&st(100, NOW - 900_000, 0, 0), &IP, NOW),
        Next::Restart { window_start: NOW }
    );
}

#[test]
fn keys_never_hold_an_email_in_clear() {
    let k = email_key("login", "ann@example.com");
    assert!(k.starts_with("login#email#") && !k.contains("ann"));
    assert_eq!(k.len(), "login#email#".len() + 64);
}

#[test]
fn a_gate_at_its_limit_refuses_unlocked_and_never_places_a_lock() {
    let gate = EMAIL.gate(3);
    // Under the gate's limit: count as usual.
    assert_eq!(decide(&st(2, NOW - 10_000, 0, 0), &gate, NOW), Next::Retry);
    // At it, and even at the locking policy's own limit: refused until the window ends, no lock.
    for fails in [3, 9, 10, 11] {
        assert_eq!(
            decide(&st(fails, NOW - 10_000, 0, 0), &gate, NOW),
            Next::Refuse {
                retry_after: 890,
                locked: false
            },
            "fails = {fails}"
        );
    }
    // A lock placed by attempts that passed the CAPTCHA still refuses as a lock.
    assert_eq!(
        decide(&st(10, NOW - 10_000, NOW + 5_000, 1), &gate, NOW),
        Next::Refuse {
            retry_after: 5,
            locked: true
        }
    );
    // After that lock, the gate stays shut until the window ends (no free attempts).
    assert!(matches!(
        decide(&st(10, NOW - 10_000, NOW - 1_000, 1), &gate, NOW),
        Next::Refuse { locked: false, .. }
    ));
    // A window that is over starts afresh.
    assert!(matches!(
        decide(&st(3, NOW - 900_000, 0, 0), &gate, NOW),
        Next::Restart { .. }
    ));
    assert_eq!(gate.retention_ms(), EMAIL.retention_ms());
}

#[test]
fn device_and_ceiling_keys_name_their_kind_and_hide_the_address() {
    let v = verifications_key("ann@example.com");
    assert!(v.starts_with("login#verify#") && !v.contains("ann"), "{v}");
    assert_eq!(v.len(), "login#verify#".len() + 64);
    assert_ne!(v, verifications_key("bob@example.com"));
    assert_eq!(device_key("d1"), "login#device#d1");
}
