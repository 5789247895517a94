//! Sign-on against DynamoDB Local, through the handler as Lambda calls it.

use base64::Engine;
use lambda_http::Request;
use serde_json::{Value, json};
use shared::member::{Member, Status};
use shared::secret::sha256_hex;
use shared::testing::{self, Answer, LogCapture, TestApp, answer};

const KEY: &str = "sok_test-only-key-0123456789abcdefghijklmnopqrstuvwxyzABCD";
const IP: &str = "192.0.2.44";
const PASSWORD: &str = "correct horse battery staple";
const ROLE: &str = "arn:aws:iam::123456789012:role/idp-bridge";
const ROLE_SESSION: &str = "arn:aws:sts::123456789012:assumed-role/idp-bridge/job-1";

fn key_hash() -> String {
    sha256_hex(KEY.as_bytes())
}

/// An app that accepts `KEY`, with more configuration if given.
async fn app_with(vars: &[(&str, &str)]) -> TestApp {
    let hash = key_hash();
    let mut all = vec![("SIGN_ON_API_KEY_HASHES", hash.as_str())];
    all.extend_from_slice(vars);
    testing::app_with(&all).await
}

async fn app() -> TestApp {
    app_with(&[]).await
}

fn with_key(body: &str, key: Option<&str>) -> Request {
    let auth = key.map(|k| format!("Bearer {k}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    testing::request("POST", "/v2/sign-on", &headers, body, IP)
}

/// The event API Gateway delivers when the route's IAM authorizer verified `arn`.
fn with_iam(body: &Value, arn: &str, extra_headers: Value) -> Request {
    let mut headers = json!({"content-type": "application/json"});
    for (k, v) in extra_headers.as_object().unwrap() {
        headers[k] = v.clone();
    }
    let event = json!({
        "version": "2.0",
        "routeKey": "POST /v2/sign-on",
        "rawPath": "/v2/sign-on",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "authorizer": {"iam": {
                "accessKey": "ASIAEXAMPLE",
                "accountId": "123456789012",
                "callerId": "AROAEXAMPLE:job-1",
                "principalOrgId": null,
                "userArn": arn,
                "userId": "AROAEXAMPLE:job-1"
            }},
            "domainName": "auth.example.com",
            "http": {"method": "POST", "path": "/v2/sign-on", "protocol": "HTTP/1.1",
                     "sourceIp": IP, "userAgent": "backend"},
            "requestId": "req",
            "routeKey": "POST /v2/sign-on",
            "stage": "$default",
            "time": "28/Nov/2026:01:00:00 +0000",
            "timeEpoch": 1795827600000u64
        },
        "isBase64Encoded": false,
        "body": body.to_string()
    });
    lambda_http::request::from_str(&event.to_string()).expect("an HTTP API v2 event")
}

async fn call(t: &TestApp, req: Request) -> Answer {
    answer(super::handle(&t.app, req, "req-test".into()).await)
}

async fn sign_on(t: &TestApp, body: &Value) -> Answer {
    call(t, with_key(&body.to_string(), Some(KEY))).await
}

fn body(email: &str) -> Value {
    json!({"loginId": {"email": email}})
}

async fn stored(t: &TestApp, email_key: &str) -> Option<Member> {
    t.app.members.get(email_key).await.unwrap()
}

/// The session a token opens, as any authenticated endpoint sees it.
async fn authenticated_member(t: &TestApp, token: &str) -> Option<String> {
    let auth = format!("Bearer {token}");
    let req = testing::request("GET", "/anything", &[("authorization", &auth)], "", IP);
    shared::auth::authenticate(&t.app, &req)
        .await
        .unwrap()
        .map(|c| c.session.member_id)
}

async fn login(t: &TestApp, email: &str, password: &str) -> Answer {
    let req = testing::post_json(
        "/v2/login",
        &json!({"loginId": {"email": email}, "password": password}),
        "198.51.100.9",
    );
    answer(login::handler::handle(&t.app, req, "req-login".into()).await)
}

#[tokio::test]
async fn a_new_email_becomes_an_active_member_with_a_working_session_and_no_password() {
    let t = app().await;
    let mut b = body("New.Member@Example.com");
    b["profile"] = json!({"firstName": "Nia", "lastName": "Okafor", "phonesV2": [{"phone": "+1 555 0100", "tag": "MOBILE"}]});
    b["verifyEmail"] = json!(true);
    let a = sign_on(&t, &b).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["created"], true);
    let identity = &a.json["identity"];
    assert_eq!(identity["email"]["address"], "New.Member@Example.com");
    assert_eq!(identity["email"]["isVerified"], true);
    assert_eq!(identity["status"]["name"], "ACTIVE");
    assert_eq!(identity["revision"], "1");
    assert_eq!(identity["identityProfile"]["firstName"], "Nia");
    assert_eq!(identity["identityProfile"]["phonesV2"][0]["tag"], "MOBILE");
    assert_eq!(a.header("cache-control"), Some("no-store"));
    assert_eq!(
        a.header("set-cookie"),
        None,
        "a server-to-server answer sets no cookie"
    );

    let m = stored(&t, "new.member@example.com").await.expect("stored");
    assert_eq!(identity["id"], m.member_id.as_str());
    assert_eq!(m.password_hash, None);
    assert_eq!(m.status, Status::Active);
    assert_eq!(m.profile.last_name.as_deref(), Some("Okafor"));

    let token = a.json["sessionToken"].as_str().unwrap();
    assert_eq!(
        authenticated_member(&t, token).await.as_deref(),
        Some(m.member_id.as_str())
    );
    let secret = token.split_once('.').unwrap().1;
    let bits = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(secret)
        .unwrap()
        .len()
        * 8;
    assert!(bits >= 256, "{bits} bits");
    let sessions = t.items(&t.tables.sessions).await;
    assert_eq!(sessions.len(), 1);
    assert!(
        !format!("{:?}", sessions[0]).contains(secret),
        "only the hash is stored"
    );

    // verifyEmail defaults to false.
    let a = sign_on(&t, &body("other@example.com")).await;
    assert_eq!(a.json["identity"]["email"]["isVerified"], false);
}

#[tokio::test]
async fn a_signed_on_member_sets_a_first_password_at_change_password_and_then_logs_in() {
    let t = app().await;
    let a = sign_on(&t, &body("sso@example.com")).await;
    assert_eq!(a.status, 200);
    let token = a.json["sessionToken"].as_str().unwrap().to_owned();
    let a = login(&t, "sso@example.com", PASSWORD).await;
    assert_eq!(
        (a.status, a.code()),
        (401, "INVALID_CREDENTIALS"),
        "no password yet"
    );
    // Past the re-authentication window: only "no password yet" spares currentPassword.
    t.app
        .clock
        .advance_secs(t.app.config.reauth_window_seconds + 1);
    let auth = format!("Bearer {token}");
    let req = testing::request(
        "POST",
        "/v2/change-password",
        &[
            ("content-type", "application/json"),
            ("authorization", &auth),
        ],
        &json!({"newPassword": PASSWORD}).to_string(),
        IP,
    );
    let a = answer(change_password::handler::handle(&t.app, req, "req-chpw".into()).await);
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(
        authenticated_member(&t, &token).await.is_some(),
        "the sign-on session stays valid"
    );
    let a = login(&t, "sso@example.com", PASSWORD).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["state"], "SUCCESS");
}

#[tokio::test]
async fn an_existing_member_gets_only_the_given_fields_and_keeps_password_and_status() {
    let t = app().await;
    let mut m = t
        .member("ann@example.com", Some(PASSWORD), Status::Active)
        .await;
    m.profile.first_name = Some("Ann".into());
    m.profile.last_name = Some("Lee".into());
    m.profile.company = Some("Acme".into());
    m.profile.phones_v2 = vec![shared::member::Phone {
        phone: Some("555 0101".into()),
        ..Default::default()
    }];
    t.client
        .put_item()
        .table_name(&t.tables.members)
        .set_item(Some(serde_dynamo::to_item(&m).unwrap()))
        .send()
        .await
        .unwrap();
    t.app.clock.advance_secs(3600);

    let mut b = body("ANN@example.com");
    b["profile"] =
        json!({"firstName": "Annie", "picture": "https://cdn.example.com/ann.png", "phonesV2": []});
    let a = sign_on(&t, &b).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["created"], false);
    let identity = &a.json["identity"];
    assert_eq!(identity["id"], m.member_id.as_str());
    assert_eq!(identity["revision"], "2");
    assert_ne!(identity["updatedDate"], identity["createdDate"]);
    let profile = &identity["identityProfile"];
    assert_eq!(profile["firstName"], "Annie");
    assert_eq!(profile["lastName"], "Lee", "fields not given are kept");
    assert_eq!(profile["company"], "Acme");
    assert_eq!(profile["picture"], "https://cdn.example.com/ann.png");
    assert!(profile.get("phonesV2").is_none(), "an empty list clears it");

    let now = stored(&t, "ann@example.com").await.unwrap();
    assert_eq!(
        now.password_hash, m.password_hash,
        "the password is untouched"
    );
    assert_eq!(now.status, Status::Active);
    assert_eq!(now.email, "ann@example.com", "the stored address is kept");
    assert_eq!(now.created_at, m.created_at);
    assert_eq!(now.updated_at, t.app.clock.now_ms());
    assert_eq!(
        authenticated_member(&t, a.json["sessionToken"].as_str().unwrap())
            .await
            .as_deref(),
        Some(m.member_id.as_str())
    );
    let a = login(&t, "ann@example.com", PASSWORD).await;
    assert_eq!(a.status, 200, "the old password still logs in: {}", a.text);

    // Without profile fields nothing changes, but a session is still given.
    let a = sign_on(&t, &body("ann@example.com")).await;
    assert_eq!((a.status, a.json["created"].as_bool()), (200, Some(false)));
    assert_eq!(a.json["identity"]["revision"], "2");
    // verifyEmail marks an unverified email verified (and never the reverse).
    let mut b = body("ann@example.com");
    b["verifyEmail"] = json!(true);
    let a = sign_on(&t, &b).await;
    assert_eq!(a.json["identity"]["email"]["isVerified"], true);
    assert_eq!(a.json["identity"]["revision"], "3");
    let a = sign_on(&t, &body("ann@example.com")).await;
    assert_eq!(a.json["identity"]["email"]["isVerified"], true);
}

#[tokio::test]
async fn twenty_concurrent_sign_ons_for_one_new_email_make_one_member_and_twenty_sessions() {
    let t = app().await;
    let calls = (0..20).map(|i| {
        let app = t.app.clone();
        tokio::spawn(async move {
            let mut b = body("rush@example.com");
            b["profile"] = json!({"nickname": format!("n{i}")});
            let req = with_key(&b.to_string(), Some(KEY));
            answer(super::handle(&app, req, "r".into()).await)
        })
    });
    let answers: Vec<Answer> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(
        answers.iter().all(|a| a.status == 200),
        "{:?}",
        answers.iter().map(|a| &a.text).collect::<Vec<_>>()
    );
    let created = answers.iter().filter(|a| a.json["created"] == true).count();
    assert_eq!(created, 1, "exactly one sign-on created the member");
    let members = t.items(&t.tables.members).await;
    assert_eq!(members.len(), 1);
    let id = members[0]["memberId"].as_s().unwrap().clone();
    assert!(
        answers
            .iter()
            .all(|a| a.json["identity"]["id"] == id.as_str())
    );
    let mut tokens = std::collections::HashSet::new();
    for a in &answers {
        let token = a.json["sessionToken"].as_str().unwrap();
        assert_eq!(
            authenticated_member(&t, token).await.as_deref(),
            Some(id.as_str())
        );
        tokens.insert(token.to_owned());
    }
    assert_eq!(tokens.len(), 20);
    assert_eq!(t.items(&t.tables.sessions).await.len(), 20);
    // Every update landed: 1 creation + 19 merges.
    let m = stored(&t, "rush@example.com").await.unwrap();
    assert_eq!(m.revision, 20);
}

#[tokio::test]
async fn callers_without_a_configured_api_key_are_unauthenticated_and_nothing_is_written() {
    let t = app().await;
    let (unconfigured, _) = crate::caller::mint_api_key();
    let b = body("ann@example.com").to_string();
    let long = format!("Bearer {}", "k".repeat(600));
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("no credential", vec![]),
        ("wrong key", vec![("authorization", "Bearer sok_wrong")]),
        ("minted but not configured", vec![]),
        (
            "key without the Bearer scheme",
            vec![("authorization", KEY)],
        ),
        ("basic auth", vec![("authorization", "Basic c29rOnNvaw==")]),
        ("empty bearer", vec![("authorization", "Bearer ")]),
        (
            "a session token",
            vec![("authorization", "Bearer st_abc.def")],
        ),
        ("the key's hash instead of the key", vec![]),
        ("an oversize key", vec![("authorization", long.as_str())]),
        ("the key in a cookie", vec![("cookie", "__Host-session=x")]),
    ];
    let hash_auth = format!("Bearer {}", key_hash());
    let unconfigured_auth = format!("Bearer {unconfigured}");
    for (name, mut headers) in cases {
        if name == "minted but not configured" {
            headers.push(("authorization", unconfigured_auth.as_str()));
        }
        if name == "the key's hash instead of the key" {
            headers.push(("authorization", hash_auth.as_str()));
        }
        headers.push(("content-type", "application/json"));
        let req = testing::request("POST", "/v2/sign-on", &headers, &b, IP);
        let a = call(&t, req).await;
        assert_eq!((a.status, a.code()), (401, "UNAUTHENTICATED"), "{name}");
    }
    assert_eq!(
        t.app.requests.take().requests,
        0,
        "refused before any DynamoDB request"
    );
    assert!(t.items(&t.tables.members).await.is_empty());
    assert!(t.items(&t.tables.sessions).await.is_empty());
}

#[tokio::test]
async fn any_configured_key_is_accepted_and_each_can_be_revoked_alone() {
    let (k1, h1) = crate::caller::mint_api_key();
    let (k2, h2) = crate::caller::mint_api_key();
    let both = format!("{},{h2}", h1.to_uppercase());
    let t = testing::app_with(&[("SIGN_ON_API_KEY_HASHES", &both)]).await;
    for k in [&k1, &k2] {
        let a = call(&t, with_key(&body("ann@example.com").to_string(), Some(k))).await;
        assert_eq!(a.status, 200, "{}", a.text);
    }
    let t = testing::app_with(&[("SIGN_ON_API_KEY_HASHES", &h2)]).await;
    let a = call(
        &t,
        with_key(&body("ann@example.com").to_string(), Some(&k1)),
    )
    .await;
    assert_eq!(a.status, 401, "a key whose hash was removed stops working");
}

#[tokio::test]
async fn with_neither_key_hashes_nor_an_iam_authorizer_every_call_is_refused() {
    let t = testing::app().await;
    for key in [None, Some(KEY), Some("")] {
        let a = call(&t, with_key(&body("ann@example.com").to_string(), key)).await;
        assert_eq!((a.status, a.code()), (401, "UNAUTHENTICATED"));
    }
    assert!(t.items(&t.tables.members).await.is_empty());
}

#[tokio::test]
async fn an_iam_principal_must_be_in_the_allowed_list_when_there_is_one() {
    // No list: the route's IAM authorizer (and the caller's IAM policy) decided.
    let t = testing::app().await;
    let a = call(
        &t,
        with_iam(&body("a@example.com"), ROLE_SESSION, json!({})),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);

    let user = "arn:aws:iam::123456789012:user/migrator";
    let allowed = format!("{ROLE},{user}");
    let t = app_with(&[("SIGN_ON_ALLOWED_PRINCIPALS", &allowed)]).await;
    for arn in [ROLE_SESSION, user] {
        let a = call(&t, with_iam(&body("b@example.com"), arn, json!({}))).await;
        assert_eq!(a.status, 200, "{arn}: {}", a.text);
    }
    for arn in [
        "arn:aws:sts::123456789012:assumed-role/other-role/job-1",
        "arn:aws:iam::123456789012:user/intern",
        "arn:aws:sts::999999999999:assumed-role/idp-bridge/job-1",
    ] {
        let a = call(&t, with_iam(&body("c@example.com"), arn, json!({}))).await;
        assert_eq!((a.status, a.code()), (403, "PERMISSION_DENIED"), "{arn}");
    }
    // A refused principal does not fall back to an API key carried beside it.
    let auth = json!({"authorization": format!("Bearer {KEY}")});
    let a = call(
        &t,
        with_iam(
            &body("c@example.com"),
            "arn:aws:iam::123456789012:user/intern",
            auth,
        ),
    )
    .await;
    assert_eq!(a.status, 403);
    assert!(
        stored(&t, "c@example.com").await.is_none(),
        "nothing written"
    );
}

fn rule_of(a: &Answer, field: &str) -> Option<String> {
    a.json["details"]["validationError"]["fieldViolations"]
        .as_array()?
        .iter()
        .find(|v| v["field"] == field)
        .and_then(|v| v["violatedRule"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn each_validation_rule_is_reported_by_name_and_nothing_is_written() {
    let t = app_with(&[
        (
            "SIGN_ON_ALLOWED_EMAIL_DOMAINS",
            "example.com,corp.example.org",
        ),
        ("SIGN_ON_REQUIRED_PROFILE_FIELDS", "firstName"),
    ])
    .await;
    let with =
        |email: &str, profile: Value| json!({"loginId": {"email": email}, "profile": profile});
    let ok = json!({"firstName": "Ann"});
    let merge = |extra: Value| {
        let mut p = ok.clone();
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        with("ann@example.com", p)
    };
    let many_phones: Vec<Value> = (0..11)
        .map(|i| json!({"phone": format!("555 01{i:02}")}))
        .collect();
    let many_fields: Vec<Value> = (0..21)
        .map(|i| json!({"name": format!("f{i}"), "value": 1}))
        .collect();
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"profile": ok}),
            "loginId.email",
            "REQUIRED_FIELD_MISSING",
        ),
        (
            with("not-an-email", ok.clone()),
            "loginId.email",
            "INVALID_FORMAT",
        ),
        (
            with("ann@localhost", ok.clone()),
            "loginId.email",
            "INVALID_FORMAT",
        ),
        (
            with(&format!("{}@example.com", "a".repeat(243)), ok.clone()),
            "loginId.email",
            "TOO_LONG",
        ),
        (
            with("ann@evil.example", ok.clone()),
            "loginId.email",
            "DOMAIN_NOT_ALLOWED",
        ),
        (
            with("ann@sub.example.com", ok.clone()),
            "loginId.email",
            "DOMAIN_NOT_ALLOWED",
        ),
        (
            with("ann@example.com", json!({})),
            "profile.firstName",
            "REQUIRED_FIELD_MISSING",
        ),
        (
            with("ann@example.com", json!({"firstName": "  "})),
            "profile.firstName",
            "REQUIRED_FIELD_MISSING",
        ),
        (
            with("ann@example.com", json!({"firstName": null})),
            "profile.firstName",
            "REQUIRED_FIELD_MISSING",
        ),
        (
            with("ann@example.com", json!("Ann")),
            "profile",
            "INVALID_FORMAT",
        ),
        (
            merge(json!({"firstName": "x".repeat(101)})),
            "profile.firstName",
            "TOO_LONG",
        ),
        (
            merge(json!({"lastName": "x".repeat(101)})),
            "profile.lastName",
            "TOO_LONG",
        ),
        (
            merge(json!({"nickname": 7})),
            "profile.nickname",
            "INVALID_FORMAT",
        ),
        (
            merge(json!({"company": ""})),
            "profile.company",
            "TOO_SHORT",
        ),
        (
            merge(json!({"position": "Boss\u{0}"})),
            "profile.position",
            "INVALID_FORMAT",
        ),
        (
            merge(json!({"lastName": "evil\u{202e}gnp.exe"})),
            "profile.lastName",
            "INVALID_FORMAT",
        ),
        (
            merge(json!({"picture": "http://cdn.example.com/a.png"})),
            "profile.picture",
            "INVALID_FORMAT",
        ),
        (
            merge(json!({"picture": "javascript:alert(1)"})),
            "profile.picture",
            "INVALID_FORMAT",
        ),
        (
            merge(json!({"picture": "https://user:pw@cdn.example.com/a.png"})),
            "profile.picture",
            "INVALID_FORMAT",
        ),
        (
            merge(json!({"picture": "not a url"})),
            "profile.picture",
            "INVALID_FORMAT",
        ),
        (
            merge(json!({"picture": format!("https://cdn.example.com/{}", "a".repeat(2048))})),
            "profile.picture",
            "TOO_LONG",
        ),
        (
            merge(json!({"language": "english please"})),
            "profile.language",
            "INVALID_FORMAT",
        ),
        (
            merge(json!({"birthdate": "2023-02-29"})),
            "profile.birthdate",
            "INVALID_FORMAT",
        ),
        (
            merge(json!({"birthdate": "1990-1-5"})),
            "profile.birthdate",
            "INVALID_FORMAT",
        ),
        (
            merge(json!({"birthdate": "05/01/1990"})),
            "profile.birthdate",
            "INVALID_FORMAT",
        ),
        (
            merge(json!({"birthdate": "+1990-01-05"})),
            "profile.birthdate",
            "INVALID_FORMAT",
        ),
        (
            merge(json!({"birthdate": "2999-01-01"})),
            "profile.birthdate",
            "OUT_OF_RANGE",
        ),
        (
            merge(json!({"phonesV2": "555"})),
            "profile.phonesV2",
            "INVALID_FORMAT",
        ),
        (
            merge(json!({"phonesV2": many_phones})),
            "profile.phonesV2",
            "TOO_MANY",
        ),
        (
            merge(json!({"phonesV2": [{"tag": "HOME"}]})),
            "profile.phonesV2[0].phone",
            "REQUIRED_FIELD_MISSING",
        ),
        (
            merge(json!({"phonesV2": [{"phone": "call me maybe"}]})),
            "profile.phonesV2[0].phone",
            "INVALID_FORMAT",
        ),
        (
            merge(json!({"phonesV2": [{"phone": "5".repeat(31)}]})),
            "profile.phonesV2[0].phone",
            "TOO_LONG",
        ),
        (
            merge(json!({"phonesV2": [{"phone": "555", "tag": "PAGER"}]})),
            "profile.phonesV2[0].tag",
            "INVALID_FORMAT",
        ),
        (
            merge(json!({"phonesV2": [{"phone": "555", "countryCode": "<script>"}]})),
            "profile.phonesV2[0].countryCode",
            "INVALID_FORMAT",
        ),
        (
            merge(json!({"phonesV2": [5]})),
            "profile.phonesV2[0]",
            "INVALID_FORMAT",
        ),
        (
            merge(json!({"customFields": many_fields})),
            "profile.customFields",
            "TOO_MANY",
        ),
        (
            merge(json!({"customFields": [{"value": 1}]})),
            "profile.customFields[0].name",
            "REQUIRED_FIELD_MISSING",
        ),
        (
            merge(json!({"customFields": [{"name": "a"}]})),
            "profile.customFields[0].value",
            "REQUIRED_FIELD_MISSING",
        ),
        (
            merge(json!({"customFields": [{"name": "a", "value": 1}, {"name": "a", "value": 2}]})),
            "profile.customFields[1].name",
            "DUPLICATE_NAME",
        ),
        (
            merge(json!({"customFields": [{"name": "n".repeat(101), "value": 1}]})),
            "profile.customFields[0].name",
            "TOO_LONG",
        ),
        (
            merge(json!({"customFields": [{"name": "a", "value": "v".repeat(1100)}]})),
            "profile.customFields[0].value",
            "TOO_LONG",
        ),
        (
            merge(json!({"customFields": [{"name": "a", "value": [[[[[1]]]]]}]})),
            "profile.customFields[0].value",
            "INVALID_FORMAT",
        ),
        (
            merge(json!({"customFields": [{"name": "a", "value": 1e300}]})),
            "profile.customFields[0].value",
            "INVALID_FORMAT",
        ),
    ];
    for (b, field, rule) in cases {
        let a = sign_on(&t, &b).await;
        assert_eq!(a.status, 400, "{b:.100}: {}", a.text);
        assert_eq!(
            rule_of(&a, field).as_deref(),
            Some(rule),
            "{b:.120}: {}",
            a.text
        );
    }
    // All problems at once.
    let a = sign_on(
        &t,
        &with("ann@evil.example", json!({"picture": "http://x.example"})),
    )
    .await;
    let violations = a.json["details"]["validationError"]["fieldViolations"]
        .as_array()
        .unwrap();
    assert_eq!(violations.len(), 3, "{}", a.text);
    assert!(
        t.items(&t.tables.members).await.is_empty(),
        "nothing is written"
    );
    assert!(t.items(&t.tables.sessions).await.is_empty());
    // And a valid request then goes through.
    let a = sign_on(
        &t,
        &merge(json!({"birthdate": "2000-02-29", "language": "pt-BR"})),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
}

#[tokio::test]
async fn malformed_oversize_and_mistyped_bodies_are_refused_after_authentication() {
    let t = app().await;
    let huge = json!({"loginId": {"email": "ann@example.com"}, "profile": {"firstName": "x".repeat(17 * 1024)}});
    for (text, field, rule) in [
        ("{\"loginId\":", "body", "MALFORMED_JSON"),
        ("[1,2]", "body", "INVALID_FORMAT"),
        ("", "body", "REQUIRED_FIELD_MISSING"),
        ("{\"loginId\": {\"email\": 5}}", "body", "INVALID_FORMAT"),
        (
            "{\"loginId\": {\"email\": \"a@example.com\"}, \"verifyEmail\": \"yes\"}",
            "body",
            "INVALID_FORMAT",
        ),
        ("{}", "loginId.email", "REQUIRED_FIELD_MISSING"),
        (&huge.to_string(), "body", "TOO_LONG"),
    ] {
        let a = call(&t, with_key(text, Some(KEY))).await;
        assert_eq!(a.status, 400, "{text:.60}: {}", a.text);
        assert_eq!(rule_of(&a, field).as_deref(), Some(rule), "{text:.60}");
    }
    let auth = format!("Bearer {KEY}");
    let form = testing::request(
        "POST",
        "/v2/sign-on",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("authorization", &auth),
        ],
        "loginId=a",
        IP,
    );
    assert_eq!(call(&t, form).await.status, 415);
    // Without a credential, even a broken body only learns that it is unauthenticated.
    let a = call(&t, with_key(&huge.to_string(), None)).await;
    assert_eq!((a.status, a.code()), (401, "UNAUTHENTICATED"));
    assert!(t.items(&t.tables.members).await.is_empty());
}

#[tokio::test]
async fn a_blocked_member_is_refused_and_nothing_is_written() {
    let t = app().await;
    t.member("bad@example.com", Some(PASSWORD), Status::Blocked)
        .await;
    let before = t.items(&t.tables.members).await;
    let mut b = body("bad@example.com");
    b["profile"] = json!({"firstName": "Mallory"});
    b["verifyEmail"] = json!(true);
    let a = sign_on(&t, &b).await;
    assert_eq!((a.status, a.code()), (403, "MEMBER_BLOCKED"));
    assert!(a.json.get("sessionToken").is_none());
    assert_eq!(
        t.items(&t.tables.members).await,
        before,
        "the member is untouched"
    );
    assert!(t.items(&t.tables.sessions).await.is_empty());
}

#[tokio::test]
async fn a_pending_member_gets_no_session_and_nothing_is_written() {
    let t = app().await;
    t.member("wait@example.com", None, Status::Pending).await;
    let before = t.items(&t.tables.members).await;
    let mut b = body("wait@example.com");
    b["profile"] = json!({"firstName": "Wes"});
    let a = sign_on(&t, &b).await;
    assert_eq!((a.status, a.code()), (403, "MEMBER_PENDING"));
    assert_eq!(
        a.json["details"]["applicationError"]["data"]["state"],
        "REQUIRE_EMAIL_VERIFICATION"
    );
    assert_eq!(t.items(&t.tables.members).await, before);
    assert!(t.items(&t.tables.sessions).await.is_empty());
}

#[tokio::test]
async fn a_member_blocked_between_the_two_round_trips_is_refused_and_its_new_session_is_dead() {
    let t = app().await;
    let active = t.member("race@example.com", None, Status::Active).await;
    // Blocked after round trip 1 read it as ACTIVE.
    let mut blocked = active.clone();
    blocked.status = Status::Blocked;
    t.client
        .put_item()
        .table_name(&t.tables.members)
        .set_item(Some(serde_dynamo::to_item(&blocked).unwrap()))
        .send()
        .await
        .unwrap();
    let before = t.items(&t.tables.members).await;
    let caller = crate::caller::Caller::ApiKey {
        fingerprint: "test".into(),
    };
    let audit = super::Audit {
        ip: IP,
        caller: Some(&caller),
    };
    let input = super::SignOn {
        email: shared::email::Email::parse("race@example.com", "e").unwrap(),
        patch: shared::member::ProfilePatch {
            first_name: Some("Rae".into()),
            ..Default::default()
        },
        verify_email: false,
    };
    let now = t.app.clock.now_ms();
    let err = super::existing(&t.app, active, &input, now, &audit)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    assert!(format!("{err:?}").contains("MEMBER_BLOCKED"));
    assert_eq!(
        t.items(&t.tables.members).await,
        before,
        "the profile is untouched"
    );
    let sessions = t.items(&t.tables.sessions).await;
    assert_eq!(sessions.len(), 1, "the concurrent session was stored...");
    assert_eq!(
        sessions[0]["revoked"].as_bool().ok(),
        Some(&true),
        "...and revoked before the answer"
    );
}

#[tokio::test]
async fn a_sign_on_takes_at_most_two_sequential_round_trips() {
    let t = app().await;
    let with_name = |name: &str| {
        let mut b = body("rt@example.com");
        b["profile"] = json!({ "firstName": name });
        with_key(&b.to_string(), Some(KEY))
    };
    assert!(super::sign_on(&t.app, &with_name("Rita"), IP).await.is_ok());
    let traffic = t.app.requests.take();
    assert_eq!(
        (traffic.requests, traffic.round_trips),
        (2, 2),
        "new member: {traffic:?}"
    );
    // The merge and the session are sent together. The interceptor times a request from its
    // first poll, so on a loaded machine a request whose answer is already waiting can finish
    // before its partner starts (1 run in 100 in the benchmark); a sequential implementation
    // never shows 2, so one run of 2 among a few settles it.
    let mut seen = vec![];
    for name in ["Rae", "Ria", "Roo"] {
        assert!(super::sign_on(&t.app, &with_name(name), IP).await.is_ok());
        let traffic = t.app.requests.take();
        assert_eq!(
            traffic.requests, 3,
            "existing member, profile merged: {traffic:?}"
        );
        seen.push(traffic.round_trips);
        if traffic.round_trips == 2 {
            break;
        }
    }
    assert_eq!(seen.last(), Some(&2), "merge and session overlap: {seen:?}");
    let req = with_key(&body("rt@example.com").to_string(), Some(KEY));
    assert!(super::sign_on(&t.app, &req, IP).await.is_ok());
    let traffic = t.app.requests.take();
    assert_eq!(
        (traffic.requests, traffic.round_trips),
        (2, 2),
        "existing member, nothing to merge"
    );
    t.member("blocked@example.com", None, Status::Blocked).await;
    let req = with_key(&body("blocked@example.com").to_string(), Some(KEY));
    assert!(super::sign_on(&t.app, &req, IP).await.is_err());
    let traffic = t.app.requests.take();
    assert_eq!(
        (traffic.requests, traffic.round_trips),
        (1, 1),
        "blocked: {traffic:?}"
    );
}

#[tokio::test]
async fn an_unreachable_dynamodb_gives_503_with_retry_after() {
    let dead = testing::dead_url().await;
    let endpoint = dead.trim_end_matches("/siteverify");
    let hash = key_hash();
    let t = testing::app_at(
        endpoint,
        &[("SKIP_TABLES", "1"), ("SIGN_ON_API_KEY_HASHES", &hash)],
    )
    .await;
    let a = sign_on(&t, &body("ann@example.com")).await;
    assert_eq!((a.status, a.code()), (503, "SERVICE_UNAVAILABLE"));
    assert_eq!(a.header("retry-after"), Some("2"));
    assert!(!a.text.contains("127.0.0.1"), "{}", a.text);
}

#[tokio::test]
async fn logs_record_each_decision_and_its_caller_but_never_the_key_or_token() {
    let t = app().await;
    let logs = LogCapture::start();
    let ok = sign_on(&t, &body("ann@example.com")).await;
    let again = sign_on(&t, &body("ann@example.com")).await;
    let wrong_key = format!("{KEY}x");
    let refused = call(
        &t,
        with_key(&body("ann@example.com").to_string(), Some(&wrong_key)),
    )
    .await;
    let invalid = sign_on(&t, &body("nope")).await;
    assert_eq!(
        (ok.status, again.status, refused.status, invalid.status),
        (200, 200, 401, 400)
    );
    let token = ok.json["sessionToken"].as_str().unwrap();
    let text = logs.text();
    for secret in [
        KEY,
        &KEY[4..],
        wrong_key.as_str(),
        token,
        token.split_once('.').unwrap().1,
    ] {
        assert!(!text.contains(secret), "a log line holds a secret");
    }
    let decisions = logs.events("sign_on");
    let outcomes = logs.outcomes("sign_on");
    assert_eq!(
        outcomes,
        ["created", "success", "unauthenticated", "invalid_request"]
    );
    let fingerprint = format!("api-key:{}", &key_hash()[..12]);
    assert_eq!(decisions[0]["fields"]["caller"], fingerprint.as_str());
    assert_eq!(
        decisions[0]["fields"]["member_id"],
        ok.json["identity"]["id"]
    );
    assert!(decisions.iter().all(|d| d["fields"]["client_ip"] == IP));
}

/// `SIGN_ON_API_KEY_HASHES` as `dev.env` sets it for local development.
fn dev_key_hashes() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../dev.env");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("SIGN_ON_API_KEY_HASHES="))
        .expect("dev.env sets SIGN_ON_API_KEY_HASHES")
        .to_owned()
}

#[tokio::test]
async fn the_event_fixtures_do_what_their_names_say_with_the_development_configuration() {
    let hashes = dev_key_hashes();
    let t = testing::app_with(&[("SIGN_ON_API_KEY_HASHES", &hashes)]).await;
    t.member("ann@example.com", Some(PASSWORD), Status::Active)
        .await;
    let a = call(&t, testing::fixture("sign-on-new.json")).await;
    assert_eq!(
        (a.status, a.json["created"].as_bool()),
        (200, Some(true)),
        "{}",
        a.text
    );
    assert_eq!(a.json["identity"]["email"]["isVerified"], true);
    let a = call(&t, testing::fixture("sign-on-existing.json")).await;
    assert_eq!(
        (a.status, a.json["created"].as_bool()),
        (200, Some(false)),
        "{}",
        a.text
    );
    assert_eq!(a.json["identity"]["identityProfile"]["nickname"], "annie");
    let a = call(&t, testing::fixture("sign-on-unauthorized.json")).await;
    assert_eq!((a.status, a.code()), (401, "UNAUTHENTICATED"));
    // The IAM fixture's principal is refused once a list leaves it out.
    let t = app_with(&[("SIGN_ON_ALLOWED_PRINCIPALS", ROLE)]).await;
    let a = call(&t, testing::fixture("sign-on-new.json")).await;
    assert_eq!((a.status, a.code()), (403, "PERMISSION_DENIED"));
}

#[test]
fn the_readme_shows_the_development_key_whose_hash_dev_env_configures() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let key = readme
        .split(|c: char| c.is_whitespace() || c == '\'')
        .find(|w| w.starts_with("sok_dev"))
        .expect("the README shows the development key");
    assert_eq!(sha256_hex(key.as_bytes()), dev_key_hashes());
}
