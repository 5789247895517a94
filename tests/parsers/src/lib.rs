//! Property tests of every parser at the service's edge (issue 16); the code is all in
//! `tests/parsers/`. They drive the same entry points as the cargo-fuzz targets of `fuzz/`
//! (each crate's `fuzzing` feature) with arbitrary bytes and with structured generators, and
//! check the answer where it is known. `scripts/test` runs them (`PROPTEST_CASES` scales every
//! test's case count); `scripts/fuzz parsers` runs the fuzzers for the long form.
