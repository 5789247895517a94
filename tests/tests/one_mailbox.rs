//! One mailbox, one member (DESIGN §7.10), across register, login and sign-on: the Unicode and
//! the punycode spelling of a domain, and the NFC and NFD spelling of a letter, reach the
//! member the first spelling created; an address with an invisible character creates nothing.
//! (The canonical form itself is tested table-driven in `shared::email`.)

mod common;

use serde_json::{Value, json};
use shared::secret::sha256_hex;
use shared::testing::{self, Answer, Auth, TestApp, answer, post_json};

const PASSWORD: &str = "correct horse battery staple";
const KEY: &str = "sok_test-only-key-0123456789abcdefghijklmnopqrstuvwxyzABCD";
/// The client IP registrations come from (logins come from `common::IP`).
const IP: &str = "203.0.113.9";

/// An app whose sign-on accepts `KEY`.
async fn app() -> TestApp {
    let hash = sha256_hex(KEY.as_bytes());
    testing::app_with(&[("SIGN_ON_API_KEY_HASHES", &hash)]).await
}

/// `POST /v2/register` of this email with `PASSWORD`.
async fn register(t: &TestApp, email: &str) -> Answer {
    let body = json!({"loginId": {"email": email}, "password": PASSWORD});
    let req = post_json("/v2/register", &body, IP);
    answer(register::handler::handle(&t.app, req, "req-test".into()).await)
}

/// `POST /v2/sign-on` with this body, from a server holding `KEY`.
async fn sign_on(t: &TestApp, body: &Value) -> Answer {
    let req = Auth::Bearer(KEY).post_json("/v2/sign-on", &body.to_string(), common::IP);
    answer(sign_on::handler::handle(&t.app, req, "req-test".into()).await)
}

/// Pairs of spellings of one mailbox: (the one a member registers with, another).
const SPELLINGS: &[(&str, &str)] = &[
    ("ann@b\u{fc}cher.de", "ann@xn--bcher-kva.de"),
    ("bob@xn--bcher-kva.de", "BOB@B\u{dc}CHER.DE"),
    ("cy@bu\u{308}cher.de", "cy@xn--bcher-kva.de"),
    // NFC `é` and NFD `e` + combining acute, both ways.
    ("jos\u{e9}@example.com", "jose\u{301}@example.com"),
    ("rene\u{301}@example.com", "REN\u{c9}@example.com"),
];

#[tokio::test]
async fn registering_another_spelling_of_a_registered_mailbox_is_a_duplicate() {
    let t = app().await;
    for (first, other) in SPELLINGS {
        let a = register(&t, first).await;
        assert_eq!(a.status, 200, "{first:?}: {}", a.text);
        let a = register(&t, other).await;
        assert_eq!(
            (a.status, a.code()),
            (409, "DUPLICATE_EMAIL"),
            "{other:?} after {first:?}: {}",
            a.text
        );
    }
    assert_eq!(
        t.items(&t.tables.members).await.len(),
        SPELLINGS.len(),
        "one member per mailbox"
    );
}

#[tokio::test]
async fn another_spelling_logs_in_as_the_member_registered_with_the_first() {
    let t = app().await;
    for (first, other) in SPELLINGS {
        let r = register(&t, first).await;
        assert_eq!(r.status, 200, "{first:?}: {}", r.text);
        let l = common::login(&t, other, PASSWORD).await;
        assert_eq!(l.status, 200, "{other:?} after {first:?}: {}", l.text);
        assert_eq!(
            l.json["identity"]["id"], r.json["identity"]["id"],
            "{other:?}"
        );
        // The identity keeps showing the address as registered (in NFC).
        assert_eq!(
            l.json["identity"]["email"]["address"], r.json["identity"]["email"]["address"],
            "{other:?}"
        );
    }
}

#[tokio::test]
async fn sign_on_with_the_punycode_spelling_finds_the_member_registered_with_unicode() {
    let t = app().await;
    for (first, other) in SPELLINGS {
        let r = register(&t, first).await;
        assert_eq!(r.status, 200, "{first:?}: {}", r.text);
        let s = sign_on(&t, &json!({"loginId": {"email": other}})).await;
        assert_eq!(s.status, 200, "{other:?}: {}", s.text);
        assert_eq!(s.json["created"], false, "{other:?} after {first:?}");
        assert_eq!(
            s.json["identity"]["id"], r.json["identity"]["id"],
            "{other:?}"
        );
    }
}

#[tokio::test]
async fn an_address_with_an_invisible_character_is_refused_and_creates_nothing() {
    let t = app().await;
    for email in [
        "ann\u{200B}@example.com",
        "an\u{200D}n@example.com",
        "\u{FEFF}ann@example.com",
        "ann@exa\u{AD}mple.com",
        "ann@\u{202E}moc.elpmaxe",
        "ann\u{2066}@example.com\u{2069}",
        "\"ann\"@example.com",
    ] {
        let a = register(&t, email).await;
        assert_eq!(a.status, 400, "{email:?}: {}", a.text);
        assert_eq!(
            a.violations(),
            [("loginId.email".to_owned(), "INVALID_FORMAT".to_owned())],
            "{email:?}"
        );
    }
    assert!(
        t.items(&t.tables.members).await.is_empty(),
        "no member stored"
    );
    let l = common::login(&t, "ann@example.com", PASSWORD).await;
    assert_eq!(
        (l.status, l.code()),
        (401, "INVALID_CREDENTIALS"),
        "{}",
        l.text
    );
    // The visible address is still free.
    let a = register(&t, "ann@example.com").await;
    assert_eq!(a.status, 200, "{}", a.text);
}

#[tokio::test]
async fn an_allowed_sign_on_domain_admits_both_spellings_of_its_mailboxes() {
    let hash = sha256_hex(KEY.as_bytes());
    let t = testing::app_with(&[
        ("SIGN_ON_API_KEY_HASHES", &hash),
        ("SIGN_ON_ALLOWED_EMAIL_DOMAINS", "xn--bcher-kva.de"),
    ])
    .await;
    for (email, status) in [
        ("ann@b\u{fc}cher.de", 200),
        ("bob@BU\u{308}CHER.DE", 200),
        ("cy@xn--bcher-kva.de", 200),
        ("dee@bucher.de", 400),
    ] {
        let a = sign_on(&t, &json!({"loginId": {"email": email}})).await;
        assert_eq!(a.status, status, "{email:?}: {}", a.text);
        if status == 400 {
            assert_eq!(
                a.violations(),
                [("loginId.email".to_owned(), "DOMAIN_NOT_ALLOWED".to_owned())]
            );
        }
    }
}
