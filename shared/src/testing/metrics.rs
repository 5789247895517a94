//! The metric lines (CloudWatch EMF, `crate::metrics`) a test's own thread writes, to check
//! what an operator's dashboards and alarms would count.

use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::metrics::capture;

/// Every EMF line written on this thread while it lives, parsed.
pub struct MetricCapture {
    lines: capture::Lines,
}

impl MetricCapture {
    pub fn start() -> Self {
        let lines = Arc::new(Mutex::new(Vec::new()));
        capture::start(lines.clone());
        Self { lines }
    }

    /// The captured lines, each parsed (a line that is not JSON fails the test).
    pub fn lines(&self) -> Vec<Value> {
        self.lines
            .lock()
            .expect("metric buffer")
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect()
    }

    /// Each line as (metric name, outcome — empty for an operational count, value), in order.
    pub fn metrics(&self) -> Vec<(String, String, u64)> {
        self.lines()
            .iter()
            .map(|l| {
                let name = l["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]
                    .as_str()
                    .expect("a metric name")
                    .to_owned();
                let value = l[&name].as_u64().expect("the value under the metric name");
                let outcome = l["outcome"].as_str().unwrap_or_default().to_owned();
                (name, outcome, value)
            })
            .collect()
    }

    /// The decisions (name, outcome) counted, in order: what a flow's audit lines became.
    pub fn decisions(&self) -> Vec<(String, String)> {
        self.metrics()
            .into_iter()
            .filter(|(_, outcome, _)| !outcome.is_empty())
            .map(|(name, outcome, _)| (name, outcome))
            .collect()
    }

    /// Asserts that the decisions counted, in order, are exactly `expected` (name, outcome).
    #[track_caller]
    pub fn assert_decisions(&self, expected: &[(&str, &str)]) {
        let got = self.decisions();
        let got: Vec<(&str, &str)> = got.iter().map(|(n, o)| (n.as_str(), o.as_str())).collect();
        assert_eq!(got, expected, "the decision metrics");
    }

    /// The sum of the values of metric `name` with `outcome` (`""`: an operational count).
    pub fn count(&self, name: &str, outcome: &str) -> u64 {
        self.metrics()
            .into_iter()
            .filter(|(n, o, _)| n == name && o == outcome)
            .map(|(_, _, v)| v)
            .sum()
    }

    /// The values of the operational count `name`, one per line, in order.
    pub fn values(&self, name: &str) -> Vec<u64> {
        self.metrics()
            .into_iter()
            .filter(|(n, o, _)| n == name && o.is_empty())
            .map(|(_, _, v)| v)
            .collect()
    }

    /// Forgets what was captured so far (e.g. the set-up's requests).
    pub fn clear(&self) {
        self.lines.lock().expect("metric buffer").clear();
    }
}

impl Drop for MetricCapture {
    fn drop(&mut self) {
        capture::stop();
    }
}
