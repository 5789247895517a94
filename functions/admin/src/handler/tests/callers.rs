//! Who may call: an operator key whose hash is configured, or an IAM principal in
//! `ADMIN_ALLOWED_PRINCIPALS`; both fail closed, and a refusal comes before any DynamoDB
//! request and before anything about the path is told.

use shared::auth::trusted;
use shared::member::Status;
use shared::testing::{self, LogCapture, MetricCapture};

use super::{
    KEY, MEMBERS, PASSWORD, ROLE, ROLE_SESSION, app, app_with, call, every_route, member_path,
    send, with_iam, with_key,
};

#[tokio::test]
async fn without_a_configured_credential_every_route_is_401_and_nothing_is_read_or_written() {
    let t = app().await;
    let (m, token) = t.signed_in("ann@example.com", PASSWORD).await;
    let (unconfigured, _) = trusted::mint_key(trusted::ADMIN_KEY_PREFIX);
    let hash = shared::secret::sha256_hex(KEY.as_bytes());
    let sign_on_key = trusted::mint_api_key().0;
    let long = "k".repeat(600);
    let credentials: Vec<(&str, Option<&str>)> = vec![
        ("no credential", None),
        ("a wrong key", Some("adk_wrong")),
        ("a minted key not configured", Some(&unconfigured)),
        ("the key's hash instead of the key", Some(&hash)),
        ("a member's session token", Some(&token)),
        ("a sign-on key", Some(&sign_on_key)),
        ("an oversize key", Some(&long)),
        ("an empty bearer", Some("")),
    ];
    t.app.requests.take();
    for (name, key) in credentials {
        for (method, path, body) in every_route(&m.member_id) {
            let a = send(&t, with_key(method, &path, &body, key)).await;
            assert_eq!(
                (a.status, a.code()),
                (401, "UNAUTHENTICATED"),
                "{name}: {method} {path}"
            );
        }
        // Paths no route serves are not told apart from routes without a credential.
        let a = send(&t, with_key("GET", "/v2/admin/secrets", "", key)).await;
        assert_eq!(a.status, 401, "{name}");
    }
    assert_eq!(
        t.app.requests.take().requests,
        0,
        "refused before any request"
    );
    assert_eq!(t.opening(&[&token]).await, [true]);
    assert_eq!(t.status_of(&m.email_key).await, Status::Active);
}

#[tokio::test]
async fn with_neither_principals_nor_key_hashes_configured_even_an_iam_caller_is_401() {
    let t = testing::app().await;
    let m = t.active_member("ann@example.com", PASSWORD).await;
    for (method, path, _) in every_route(&m.member_id) {
        let a = send(&t, with_iam(method, &path, ROLE_SESSION)).await;
        assert_eq!(
            (a.status, a.code()),
            (401, "UNAUTHENTICATED"),
            "{method} {path}"
        );
        let a = send(&t, with_key(method, &path, "", Some(KEY))).await;
        assert_eq!(a.status, 401, "{method} {path}");
    }
}

#[tokio::test]
async fn an_iam_principal_must_be_in_the_allowed_list() {
    let user = "arn:aws:iam::123456789012:user/oncall";
    let t = testing::app_with(&[("ADMIN_ALLOWED_PRINCIPALS", &format!("{ROLE},{user}"))]).await;
    let m = t.active_member("ann@example.com", PASSWORD).await;
    let path = member_path(&m.member_id, "");
    for arn in [ROLE_SESSION, user, ROLE] {
        let a = send(&t, with_iam("GET", &path, arn)).await;
        assert_eq!(a.status, 200, "{arn}: {}", a.text);
    }
    for arn in [
        "arn:aws:sts::123456789012:assumed-role/developers/alice",
        "arn:aws:iam::123456789012:user/intern",
        "arn:aws:sts::999999999999:assumed-role/operators/alice",
    ] {
        let a = send(
            &t,
            with_iam("POST", &member_path(&m.member_id, "/block"), arn),
        )
        .await;
        assert_eq!((a.status, a.code()), (403, "PERMISSION_DENIED"), "{arn}");
    }
    assert_eq!(t.status_of(&m.email_key).await, Status::Active);
    // Without the key configured, a key does not stand in for a principal.
    assert_eq!(
        send(&t, with_key("GET", &path, "", Some(KEY))).await.status,
        401
    );
}

#[tokio::test]
async fn any_configured_key_is_accepted_and_each_can_be_revoked_alone() {
    let (k1, h1) = trusted::mint_key(trusted::ADMIN_KEY_PREFIX);
    let (k2, h2) = trusted::mint_key(trusted::ADMIN_KEY_PREFIX);
    let t = testing::app_with(&[("ADMIN_API_KEY_HASHES", &format!("{h1},{h2}"))]).await;
    let m = t.active_member("ann@example.com", PASSWORD).await;
    let path = member_path(&m.member_id, "");
    for k in [&k1, &k2] {
        assert_eq!(
            send(&t, with_key("GET", &path, "", Some(k))).await.status,
            200
        );
    }
    let t2 = testing::app_with(&[("ADMIN_API_KEY_HASHES", &h2)]).await;
    assert_eq!(
        send(&t2, with_key("GET", &path, "", Some(&k1)))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn every_call_is_audited_with_the_operator_and_never_with_a_secret() {
    let t = app_with(&[("ADMIN_ALLOWED_PRINCIPALS", ROLE)]).await;
    let (m, token) = t.signed_in("ann@example.com", PASSWORD).await;
    let log = LogCapture::start();
    let metrics = MetricCapture::start();
    let fingerprint = format!(
        "api-key:{}",
        &shared::secret::sha256_hex(KEY.as_bytes())[..12]
    );
    call(&t, "GET", &member_path(&m.member_id, ""), "").await;
    call(&t, "POST", &member_path(&m.member_id, "/block"), "").await;
    call(
        &t,
        "GET",
        &format!("{MEMBERS}?email=nobody%40example.com"),
        "",
    )
    .await;
    send(
        &t,
        with_iam("POST", &member_path(&m.member_id, "/unblock"), ROLE_SESSION),
    )
    .await;
    send(
        &t,
        with_key("DELETE", &member_path(&m.member_id, ""), "", None),
    )
    .await;
    let lines: Vec<(String, String, String, String)> = log
        .lines()
        .into_iter()
        .filter(|l| l["fields"]["message"] == "auth")
        .map(|l| {
            let f = &l["fields"];
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            (s("event"), s("outcome"), s("member_id"), s("operator"))
        })
        .collect();
    let id = m.member_id.clone();
    assert_eq!(
        lines,
        [
            (
                "admin_get_member".into(),
                "success".into(),
                id.clone(),
                fingerprint.clone()
            ),
            (
                "admin_block_member".into(),
                "blocked".into(),
                id.clone(),
                fingerprint.clone()
            ),
            (
                "admin_find_member".into(),
                "not_found".into(),
                String::new(),
                fingerprint.clone()
            ),
            (
                "admin_unblock_member".into(),
                "unblocked".into(),
                id.clone(),
                ROLE_SESSION.into()
            ),
            (
                "admin_delete_member".into(),
                "unauthenticated".into(),
                String::new(),
                String::new()
            ),
        ]
    );
    metrics.assert_decisions(&[
        ("admin_get_member", "success"),
        ("admin_block_member", "blocked"),
        ("admin_find_member", "not_found"),
        ("admin_unblock_member", "unblocked"),
        ("admin_delete_member", "unauthenticated"),
    ]);
    assert!(
        log.lines()
            .iter()
            .filter(|l| l["fields"]["message"] == "auth")
            .all(|l| l["fields"]["client_ip"] == super::IP)
    );
    log.assert_holds_none(&[
        KEY,
        &KEY[4..],
        &token,
        shared::testing::session_secret(&token),
        "$argon2",
    ]);
}

#[tokio::test]
async fn the_event_fixtures_are_served_as_the_development_configuration_says() {
    let dev_hash = "a70c94ea090d1487818596f17d5374a57977de0aa1075ae4cffe51337be77d26";
    let t = testing::app_with(&[
        ("ADMIN_API_KEY_HASHES", dev_hash),
        ("ADMIN_ALLOWED_PRINCIPALS", ROLE),
    ])
    .await;
    let email = shared::email::Email::parse("ann@example.com", "email").unwrap();
    let mut m = shared::member::Member::new(&email, Status::Active, t.app.clock.now_ms());
    m.member_id = "Zml4dHVyZS1tZW1iZXIwMQ".into();
    t.app.members.create(&m).await.unwrap();
    let token = t.session_token(&m).await;
    for (fixture, status) in [
        ("admin-find-member.json", 200),
        ("admin-list-sessions-api-key.json", 200),
        ("admin-block-member.json", 200),
        ("admin-delete-member.json", 200),
        ("admin-find-member.json", 404),
    ] {
        let a = send(&t, testing::fixture(fixture)).await;
        assert_eq!(a.status, status, "{fixture}: {}", a.text);
    }
    assert_eq!(t.opening(&[&token]).await, [false]);
}
