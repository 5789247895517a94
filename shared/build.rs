//! Sorts the bundled list of common passwords (`data/common-passwords.txt`, kept in its
//! published popularity order) into `$OUT_DIR/common-passwords.sorted`: its trimmed, non-empty
//! lines, sorted and deduplicated, one per line. `password::policy` binary-searches that text
//! in place, so no function builds a 19,640-entry set on its first password change (issue 13).

use std::path::Path;

fn main() {
    let list = "data/common-passwords.txt";
    println!("cargo::rerun-if-changed={list}");
    let text = std::fs::read_to_string(list).expect("data/common-passwords.txt");
    let mut lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines.sort_unstable();
    lines.dedup();
    let out =
        Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("common-passwords.sorted");
    std::fs::write(out, lines.join("\n")).expect("writing the sorted list");
}
