//! Email canonicalization (DESIGN §7.10): `Email::parse`, `canonical_domain` and the admin
//! function's `email` query parameter. An accepted address's key is at most 254 characters,
//! parses again to itself, has an ASCII domain and no invisible character; canonicalizing a
//! domain twice changes nothing.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::email::{Email, MAX_LEN, canonical_domain};

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    if let Ok(email) = Email::parse(&raw, "email") {
        let key = email.key();
        assert!(key.chars().count() <= MAX_LEN);
        assert!(email.domain().is_ascii());
        assert!(!key.chars().any(|c| c.is_control() || c.is_whitespace()));
        let again = Email::parse(key, "email").expect("a key parses again");
        assert_eq!(again.key(), key, "canonicalization is idempotent");
        let reparsed = Email::parse(email.address(), "email").expect("an address parses again");
        assert_eq!(reparsed.key(), key);
    }
    let domain = raw.rsplit_once('@').map_or(&*raw, |(_, d)| d);
    if let Some(ascii) = canonical_domain(domain) {
        assert_eq!(canonical_domain(&ascii).as_deref(), Some(ascii.as_str()));
    }
    let encoded: String = url::form_urlencoded::byte_serialize(data).collect();
    let req = shared::fuzzing::request(&shared::fuzzing::RawRequest {
        method: "GET",
        uri: &format!("/v2/admin/members?email={encoded}"),
        ..Default::default()
    });
    let (_, key, _) = admin::handler::fuzzing::request(&req);
    if let Some(key) = key {
        assert_eq!(
            Email::parse(&raw, "email").ok().map(|e| e.key().to_owned()),
            Some(key)
        );
    }
});
