//! Every parser at the edge under arbitrary and hostile input: no panic, and the right answer
//! where the property is known. One module per parser family, as the fuzz targets of `fuzz/`.

mod parsers {
    pub mod bodies;
    pub mod credentials;
    pub mod email;
    pub mod jwt;
    pub mod password;
    pub mod redirects;
}

/// The case count of a property: `PROPTEST_CASES` when set (the long form, or a quicker
/// smoke), else `default`, tuned so the whole suite runs in well under a minute in debug.
pub fn cases(default: u32) -> proptest::test_runner::Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    proptest::test_runner::Config {
        cases,
        // A failure is reported with its shrunk input; no files are written beside the source.
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}

/// A JSON POST of `body`, however malformed.
pub fn json(body: &[u8]) -> lambda_http::Request {
    shared::fuzzing::with_body(Some("application/json"), body)
}
