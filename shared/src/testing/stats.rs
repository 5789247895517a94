//! Order statistics and the one report line of the benchmarks, and the measuring of one
//! invocation that feeds them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::app::App;
use crate::dynamo::Traffic;

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

pub fn p90(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() * 9 / 10).copied().unwrap_or_default()
}

/// One measured invocation: its wall time, the argon2 time inside it (zero for flows
/// that hash nothing) and its DynamoDB traffic as the interceptor recorded it.
pub struct Sample {
    pub handler: Duration,
    pub argon2: Duration,
    pub traffic: Traffic,
}

impl Sample {
    pub fn new(handler: Duration, argon2: Duration, traffic: Traffic) -> Self {
        Self {
            handler,
            argon2,
            traffic,
        }
    }

    /// What is left of the handler time once hashing and DynamoDB waits are taken out.
    fn own(&self) -> Duration {
        self.handler.saturating_sub(self.argon2 + self.traffic.wait)
    }
}

/// Handler time, argon2 time (when there is any), DynamoDB wait and the service's own
/// compute (median, p90), the most DynamoDB requests of a run, and how many runs took
/// each number of sequential round trips (the overlap is measured, not assumed).
pub fn summary(samples: &[Sample]) -> String {
    let col = |f: fn(&Sample) -> Duration| samples.iter().map(f).collect::<Vec<_>>();
    let mut trips = BTreeMap::new();
    for s in samples {
        *trips.entry(s.traffic.round_trips).or_insert(0) += 1;
    }
    let argon2 = if samples.iter().any(|s| !s.argon2.is_zero()) {
        format!(
            "argon2 median={:?} | handler minus argon2 median={:?} p90={:?} | ",
            median(col(|s| s.argon2)),
            median(col(|s| s.handler.saturating_sub(s.argon2))),
            p90(col(|s| s.handler.saturating_sub(s.argon2))),
        )
    } else {
        String::new()
    };
    format!(
        "runs={} handler median={:?} p90={:?} | {argon2}dynamodb wait median={:?} | own compute median={:?} p90={:?} | dynamodb requests max={} | sequential round trips (trips: runs)={trips:?}",
        samples.len(),
        median(col(|s| s.handler)),
        p90(col(|s| s.handler)),
        median(col(|s| s.traffic.wait)),
        median(col(Sample::own)),
        p90(col(Sample::own)),
        samples
            .iter()
            .map(|s| s.traffic.requests)
            .max()
            .unwrap_or(0),
    )
}

/// Runs one invocation and measures it: its wall time, the argon2 time inside it (verifying
/// and hashing) and the DynamoDB traffic it made (the app's request log is reset first).
pub async fn measure<F: Future>(app: &App, invocation: F) -> (F::Output, Sample) {
    let argon2 = || app.hasher.verify_time() + app.hasher.hash_time();
    app.requests.take();
    let argon2_before = argon2();
    let started = Instant::now();
    let output = invocation.await;
    let handler = started.elapsed();
    let sample = Sample::new(handler, argon2() - argon2_before, app.requests.take());
    (output, sample)
}

/// Prints one scenario's report line: the flow, the scenario (padded, so that a benchmark's
/// lines align) and the summary of its samples; and, when `BENCH_RESULTS` names a file,
/// appends the same figures to it as one JSON line (scripts/bench turns those into the flow
/// table of BENCHMARKS.md).
pub fn report(flow: &str, scenario: &str, samples: &[Sample]) {
    println!("{flow} {scenario:<22} {}", summary(samples));
    if let Some(path) = std::env::var_os("BENCH_RESULTS") {
        let line = record(flow, scenario, samples).to_string() + "\n";
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
        if let Err(e) = written {
            eprintln!("BENCH_RESULTS {}: {e}", path.to_string_lossy());
        }
    }
}

/// One scenario's figures in microseconds, and its runs per number of sequential round trips.
pub fn record(flow: &str, scenario: &str, samples: &[Sample]) -> serde_json::Value {
    let col = |f: fn(&Sample) -> Duration| samples.iter().map(f).collect::<Vec<_>>();
    let us = |d: Duration| d.as_micros() as u64;
    let mut trips = BTreeMap::new();
    for s in samples {
        *trips
            .entry(s.traffic.round_trips.to_string())
            .or_insert(0u64) += 1;
    }
    serde_json::json!({
        "flow": flow,
        "scenario": scenario,
        "runs": samples.len(),
        "handler_us": us(median(col(|s| s.handler))),
        "argon2_us": us(median(col(|s| s.argon2))),
        "dynamodb_wait_us": us(median(col(|s| s.traffic.wait))),
        "own_us": us(median(col(Sample::own))),
        "own_p90_us": us(p90(col(Sample::own))),
        "requests_max": samples.iter().map(|s| s.traffic.requests).max().unwrap_or(0),
        "round_trips": trips,
    })
}
