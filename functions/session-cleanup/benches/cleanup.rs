//! Session-cleanup benchmark against DynamoDB Local (`scripts/bench session-cleanup`, or
//! `cargo bench -p session-cleanup --features testing`: it seeds with `seed`, test-only code).
//!
//! For each number of live sessions (1,000 and 10,000 by default; `CLEANUP_BENCH_SIZES`,
//! e.g. `1000,10000,100000`, chooses), on fresh tables:
//! - seeds the live sessions (30-day expiry) and `COLLECTABLE` more that expire or are revoked
//!   over the next six hours (half with a refresh family);
//! - runs cleanup at T0 with no cursor (the first run: it walks the week of look-back), which
//!   finds nothing yet;
//! - runs cleanup again at T0 + 7 h, the steady state of an hourly schedule that missed a few
//!   runs, and reports items deleted per second, items read per item deleted, index queries,
//!   DynamoDB requests and sequential round trips. Reads per deleted item should stay flat as
//!   the live sessions grow: the run never reads a live one.

use std::time::{Duration, Instant};

use session_cleanup::cleanup::{Collector, HOUR_MS, Settings, run};
use session_cleanup::seed::{self, SessionSpec};
use shared::clock::Millis;
use shared::testing;

const COLLECTABLE: usize = 2_000;
const DAY: Millis = 24 * HOUR_MS;

fn deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(600)
}

async fn bench(live: usize) {
    let t = testing::app().await;
    let t0 = t.app.clock.now_ms();
    let c = Collector::new(
        t.client.clone(),
        &t.tables,
        t.app.clock.clone(),
        Settings::default(),
    );
    // Only its shape is wanted.
    let (_, template) = seed::template(&t, "bench@example.com").await;

    let mut specs: Vec<SessionSpec> = (0..live)
        .map(|i| SessionSpec::live(t0 - i as Millis * 10, 30 * DAY).with_refresh_if(i % 3 == 0))
        .collect();
    for i in 0..COLLECTABLE {
        let at = t0 + 60_000 + (i as Millis * 6 * HOUR_MS) / COLLECTABLE as Millis;
        let s = if i % 4 == 0 {
            SessionSpec::live(t0 - HOUR_MS, 30 * DAY).revoked(at)
        } else {
            SessionSpec {
                created_at: t0 - HOUR_MS,
                expires_at: at,
                revoked_at: None,
                refresh: false,
            }
        };
        specs.push(s.with_refresh_if(i % 2 == 0));
    }
    let seeding = Instant::now();
    seed::sessions(&t.client, &t.tables.sessions, &template, &specs)
        .await
        .expect("seeded");
    let seeded_in = seeding.elapsed();
    t.app.requests.take();

    let started = Instant::now();
    let first = run(&c, t0, deadline()).await;
    let first_time = started.elapsed();
    let first_traffic = t.app.requests.take();
    assert!(first.error.is_none() && !first.report.remaining);
    assert_eq!(first.report.deleted.sessions, 0);

    let later = t0 + 7 * HOUR_MS;
    let started = Instant::now();
    let o = run(&c, later, deadline()).await;
    let took = started.elapsed();
    let traffic = t.app.requests.take();
    assert!(o.error.is_none() && !o.report.remaining, "{o:?}");
    assert_eq!(o.report.deleted.sessions as usize, COLLECTABLE);
    let deleted = o.report.deleted.sessions.max(1) as f64;
    println!(
        "cleanup live={live:<7} collectable={COLLECTABLE} seeded in {seeded_in:.1?} | \
         first run (no cursor): {first_time:.1?}, {} queries, {} requests, read {} | \
         steady run: deleted {} sessions ({} with refresh) in {took:.1?} = {:.0} items/s, \
         read {} = {:.3} read per deleted, {} queries, {} requests ({:.3} per deleted), \
         {} round trips, reported read capacity {:.1} RCU",
        first.queries,
        first_traffic.requests,
        first.read_sessions,
        o.report.deleted.sessions,
        o.report.deleted.refresh_tokens,
        o.report.deleted.sessions as f64 / took.as_secs_f64(),
        o.read_sessions,
        o.read_sessions as f64 / deleted,
        o.queries,
        traffic.requests,
        traffic.requests as f64 / deleted,
        traffic.round_trips,
        o.read_capacity,
    );
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::var("CLEANUP_BENCH_SIZES")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    for live in sizes {
        bench(live).await;
    }
}
