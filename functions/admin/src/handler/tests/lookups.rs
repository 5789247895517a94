//! Lookups by email (canonicalized as at every edge) and by id; the identity never carries the
//! password hash.

use shared::member::Status;

use super::{MEMBERS, PASSWORD, app, call, member_path, status_of};

#[tokio::test]
async fn a_member_is_found_by_any_spelling_of_its_email_and_by_its_id() {
    let t = app().await;
    let m = t.active_member("ann@bücher.de", PASSWORD).await;
    for query in [
        "ann%40b%C3%BCcher.de",
        "ANN%40xn--bcher-kva.DE",
        "%20Ann%40B%C3%9CCHER.de%20",
    ] {
        let a = call(&t, "GET", &format!("{MEMBERS}?email={query}"), "").await;
        assert_eq!(a.status, 200, "{query}: {}", a.text);
        assert_eq!(a.json["identity"]["id"], m.member_id.as_str(), "{query}");
    }
    let a = call(&t, "GET", &member_path(&m.member_id, ""), "").await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["identity"], m.identity());
    assert_eq!(a.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn the_identity_an_operator_gets_never_carries_the_password_hash() {
    let t = app().await;
    let m = t
        .member("ann@example.com", Some(PASSWORD), Status::Blocked)
        .await;
    let hash = m.password_hash.clone().unwrap();
    let by_email = call(&t, "GET", &format!("{MEMBERS}?email=ann%40example.com"), "").await;
    let by_id = call(&t, "GET", &member_path(&m.member_id, ""), "").await;
    let unblocked = call(&t, "POST", &member_path(&m.member_id, "/unblock"), "").await;
    let blocked = call(&t, "POST", &member_path(&m.member_id, "/block"), "").await;
    for a in [&by_email, &by_id, &unblocked, &blocked] {
        assert_eq!(a.status, 200, "{}", a.text);
        for needle in ["passwordHash", "$argon2", hash.as_str()] {
            assert!(!a.text.contains(needle), "{}", a.text);
        }
    }
    assert_eq!(status_of(&blocked), "BLOCKED");
    // The hash itself is untouched by the operator's writes.
    let stored = t.app.members.get(&m.email_key).await.unwrap().unwrap();
    assert_eq!(stored.password_hash, Some(hash));
}

#[tokio::test]
async fn an_unknown_member_is_404_and_an_id_of_the_wrong_shape_costs_no_request() {
    let t = app().await;
    let m = t.active_member("ann@example.com", PASSWORD).await;
    let unknown = "B".repeat(22);
    for path in [
        format!("{MEMBERS}?email=nobody%40example.com"),
        member_path(&unknown, ""),
        member_path(&unknown, "/sessions"),
    ] {
        let a = call(&t, "GET", &path, "").await;
        assert_eq!((a.status, a.code()), (404, "MEMBER_NOT_FOUND"), "{path}");
    }
    for (method, tail) in [("POST", "/block"), ("POST", "/unblock"), ("DELETE", "")] {
        let a = call(&t, method, &member_path(&unknown, tail), "").await;
        assert_eq!(
            (a.status, a.code()),
            (404, "MEMBER_NOT_FOUND"),
            "{method} {tail}"
        );
    }
    t.app.requests.take();
    let short = &m.member_id[..21];
    let long = format!("{}A", m.member_id);
    for id in [
        short,
        long.as_str(),
        "%2E%2E",
        "ann@example.com",
        "%3Cscript%3E",
    ] {
        for (method, tail) in [
            ("GET", ""),
            ("POST", "/block"),
            ("DELETE", ""),
            ("GET", "/sessions"),
        ] {
            let a = call(&t, method, &member_path(id, tail), "").await;
            assert_eq!(
                (a.status, a.code()),
                (404, "MEMBER_NOT_FOUND"),
                "{method} {id}{tail}"
            );
        }
    }
    assert_eq!(t.app.requests.take().requests, 0);
    assert_eq!(t.status_of(&m.email_key).await, Status::Active);
}

#[tokio::test]
async fn a_lookup_by_email_needs_one_valid_email() {
    let t = app().await;
    for (query, rule) in [
        ("", "REQUIRED_FIELD_MISSING"),
        ("?email=", "REQUIRED_FIELD_MISSING"),
        ("?mail=ann%40example.com", "REQUIRED_FIELD_MISSING"),
        ("?email=not-an-email", "INVALID_FORMAT"),
        ("?email=%22ann%22%40example.com", "INVALID_FORMAT"),
        ("?email=ann%E2%80%8B%40example.com", "INVALID_FORMAT"),
        ("?email=a%40example.com&email=b%40example.com", "AMBIGUOUS"),
    ] {
        let a = call(&t, "GET", &format!("{MEMBERS}{query}"), "").await;
        assert_eq!(a.status, 400, "{query}: {}", a.text);
        let got = a.violations();
        assert_eq!(got[0].0, "email", "{query}");
        if rule != "INVALID_FORMAT" {
            assert_eq!(got[0].1, rule, "{query}");
        }
    }
    let long = format!("?email={}%40example.com", "a".repeat(260));
    assert_eq!(
        call(&t, "GET", &format!("{MEMBERS}{long}"), "")
            .await
            .status,
        400
    );
}
