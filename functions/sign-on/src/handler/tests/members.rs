//! Creating a member for a new email, merging the given fields into an existing one, and
//! concurrent sign-ons for one new email.

use base64::Engine;
use serde_json::json;
use shared::member::Status;
use shared::testing::{Answer, assert_new_active_identity, session_secret};

use super::{KEY, PASSWORD, app, authenticated_member, body, outcome, sign_on, stored, with_key};

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
    assert_new_active_identity(identity, "New.Member@Example.com", true);
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
    let secret = session_secret(token);
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
async fn an_existing_member_gets_only_the_given_fields_and_keeps_password_and_status() {
    let t = app().await;
    let mut m = t.active_member("ann@example.com", PASSWORD).await;
    m.profile.first_name = Some("Ann".into());
    m.profile.last_name = Some("Lee".into());
    m.profile.company = Some("Acme".into());
    m.profile.phones_v2 = vec![shared::member::Phone {
        phone: Some("555 0101".into()),
        ..Default::default()
    }];
    t.put_member(&m).await;
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
    // That the old password still logs in is asserted across flows, in
    // tests/tests/sign_on_across.rs.

    // Without profile fields nothing changes, but a session is still given.
    let a = sign_on(&t, &body("ann@example.com")).await;
    assert_eq!(outcome(&a), (200, Some(false)));
    assert_eq!(a.json["identity"]["revision"], "2");
    // verifyEmail marks an unverified email verified (and never the reverse); what that does to
    // a password set before it is tested across flows (tests/tests/sign_on_across.rs).
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
            shared::testing::answer(crate::handler::handle(&app, req, "r".into()).await)
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
