//! Hours and the look-back setting: pure, no DynamoDB.

use super::*;

#[test]
fn hours_start_on_the_hour_in_utc() {
    let t = 1_764_291_600_123; // 2025-11-28T01:00:00.123Z
    assert_eq!(hour_start(t), 1_764_291_600_000);
    assert_eq!(hour_start(t + HOUR_MS - 124), 1_764_291_600_000);
    assert_eq!(hour_bucket(hour_start(t)), "2025-11-28T01");
    // A bucket closes ten minutes after its hour: at 02:05 the 01 bucket is still open.
    let five_past_two = 1_764_291_600_000 + HOUR_MS + 5 * MINUTE;
    assert_eq!(
        hour_start(five_past_two - CLOSE_AFTER_MS),
        1_764_291_600_000
    );
}

#[test]
fn the_look_back_setting_is_checked_and_named() {
    assert_eq!(Settings::lookback(None).unwrap(), DEFAULT_LOOKBACK_HOURS);
    assert_eq!(Settings::lookback(Some("720")).unwrap(), 720);
    for bad in ["0", "-5", "a week", "100000"] {
        let e = Settings::lookback(Some(bad)).unwrap_err();
        assert_eq!(e.var, "CLEANUP_LOOKBACK_HOURS", "{bad}");
    }
}
