//! The secret scan (DESIGN §7.1, §7.8): after the end-to-end run (and the load and fault runs
//! of `scripts/fuzz`), every item of every table in DynamoDB Local and every line the functions
//! logged is searched for every secret a client handled — passwords, session, access and
//! refresh tokens, recovery tokens, verification codes, API keys — and for the service's own
//! (the signing key, the device-cookie key, the CAPTCHA secret), and for anything shaped like a
//! JWT. `scripts/test` runs it with `SECRET_SCAN_SECRETS` (the `SECRETS_OUT` files the clients
//! wrote, `:`-separated), `SECRET_SCAN_LOGS` (the functions' log files), `SECRET_SCAN_KINDS`
//! (the kinds of secret the run must have handled, so that an empty list cannot pass) and
//! `DYNAMODB_ENDPOINT`; without them it is ignored.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use shared::dynamo::{RequestLog, local_client};
use shared::testing::secrets::{Finding, Scan};

fn files(var: &str) -> Vec<String> {
    let list = std::env::var(var).unwrap_or_else(|_| panic!("{var}: run scripts/test"));
    list.split(':')
        .filter(|f| !f.is_empty())
        .map(String::from)
        .collect()
}

/// An attribute as the text a reader of the table would see: strings and numbers as they are,
/// binary values both as bytes read as text and in base64, sets, lists and maps flattened.
fn flatten(v: &AttributeValue, out: &mut String) {
    use base64::Engine;
    match v {
        AttributeValue::S(s) | AttributeValue::N(s) => out.push_str(s),
        AttributeValue::B(b) => {
            out.push_str(&String::from_utf8_lossy(b.as_ref()));
            out.push(' ');
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(b.as_ref()));
        }
        AttributeValue::Ss(items) | AttributeValue::Ns(items) => out.push_str(&items.join(" ")),
        AttributeValue::Bs(items) => {
            for b in items {
                flatten(&AttributeValue::B(b.clone()), out);
            }
        }
        AttributeValue::L(items) => items.iter().for_each(|i| flatten(i, out)),
        AttributeValue::M(map) => map.iter().for_each(|(k, v)| {
            out.push_str(k);
            out.push('=');
            flatten(v, out);
        }),
        _ => {}
    }
    out.push(' ');
}

fn item_text(item: &HashMap<String, AttributeValue>) -> String {
    let mut text = String::new();
    for (k, v) in item {
        text.push_str(k);
        text.push('=');
        flatten(v, &mut text);
    }
    text
}

#[tokio::test]
#[ignore = "needs a finished end-to-end run: scripts/test runs it"]
async fn no_table_item_and_no_log_line_holds_a_secret() {
    let mut scan = Scan::default();
    for f in files("SECRET_SCAN_SECRETS") {
        scan.add_file(&std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{f}: {e}")));
    }
    scan.add_service_secrets(|v| std::env::var(v).ok());
    let kinds = scan.kinds();
    println!("secrets to look for, by kind: {kinds:?}");
    for wanted in std::env::var("SECRET_SCAN_KINDS")
        .unwrap_or_default()
        .split(',')
    {
        let wanted = wanted.trim();
        if !wanted.is_empty() {
            assert!(
                kinds.contains_key(wanted),
                "the run handled no secret of kind {wanted}: {kinds:?}"
            );
        }
    }

    let mut findings: Vec<Finding> = vec![];
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").expect("DYNAMODB_ENDPOINT");
    let db = local_client(&endpoint, RequestLog::default());
    let (mut tables, mut items) = (0, 0);
    let mut names = db.list_tables().into_paginator().items().send();
    while let Some(table) = names.next().await {
        let table = table.unwrap();
        tables += 1;
        let mut rows = db.scan().table_name(&table).into_paginator().items().send();
        while let Some(item) = rows.next().await {
            items += 1;
            scan.check(
                &format!("table {table}"),
                &item_text(&item.unwrap()),
                &mut findings,
            );
        }
    }
    let mut lines = 0;
    for f in files("SECRET_SCAN_LOGS") {
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{f}: {e}"));
        for (n, line) in text.lines().enumerate() {
            lines += 1;
            scan.check(&format!("{f}:{}", n + 1), line, &mut findings);
        }
    }
    println!("scanned {items} items in {tables} tables and {lines} log lines");
    assert!(
        items > 0 && lines > 0,
        "nothing to scan: {items} items, {lines} log lines"
    );
    assert!(
        findings.is_empty(),
        "secrets kept (place, kind): {findings:#?}"
    );
}
