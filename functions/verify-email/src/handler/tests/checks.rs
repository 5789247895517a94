//! Codes: the right one verifies and signs in, wrong ones are counted and kill the stateToken
//! at the limit, an expired one is dead; the owner's approval; a blocked member; round trips.

use super::*;

#[tokio::test]
async fn the_right_code_verifies_the_member_and_signs_it_in_once() {
    let t = app(&[]).await;
    let (m, token, code) = pending(&t).await;
    let metrics = testing::MetricCapture::start();
    let a = verify(&t, &token, &code).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["state"], "SUCCESS");
    let identity = &a.json["identity"];
    assert_eq!(identity["id"], m.member_id.as_str());
    assert_eq!(identity["email"]["isVerified"], true);
    assert_eq!(identity["status"]["name"], "ACTIVE");
    let session = a.json["sessionToken"].as_str().unwrap();
    testing::assert_session_cookie(&a, session);
    assert!(t.authenticates(session).await.is_some());
    assert_eq!(t.status_of(&m.email_key).await, Status::Active);
    // The stateToken is spent.
    assert_eq!(
        verify(&t, &token, &code).await.code(),
        "INVALID_STATE_TOKEN"
    );
    metrics.assert_decisions(&[
        ("verify_email", "success"),
        ("verify_email", "invalid_state_token"),
    ]);
}

#[tokio::test]
async fn wrong_codes_are_refused_and_the_fifth_kills_the_state_token() {
    let t = app(&[]).await;
    let (m, token, code) = pending(&t).await;
    for _ in 0..5 {
        let a = verify(&t, &token, &other(&code)).await;
        assert_eq!((a.status, a.code()), (400, "INVALID_VERIFICATION_CODE"));
    }
    // VERIFY_MAX_ATTEMPTS defaults to 5: now even the right code is too late.
    assert_eq!(
        verify(&t, &token, &code).await.code(),
        "INVALID_STATE_TOKEN"
    );
    assert_eq!(resend(&t, &token).await.code(), "INVALID_STATE_TOKEN");
    assert_eq!(t.status_of(&m.email_key).await, Status::Pending);
}

#[tokio::test]
async fn concurrent_guesses_are_counted_exactly() {
    let t = app(&[]).await;
    let (_, token, code) = pending(&t).await;
    let guesses = (0..20).map(|i| {
        let (app, token) = (t.app.clone(), token.clone());
        let guess = format!("{:06}", (code.parse::<u32>().unwrap() + 1 + i) % 1_000_000);
        async move {
            let req = post_json(
                super::super::VERIFY_PATH,
                &json!({"stateToken": token, "code": guess}),
                IP,
            );
            answer(super::super::handle(&app, req, "r".into()).await)
                .code()
                .to_owned()
        }
    });
    let handles: Vec<_> = guesses.map(tokio::spawn).collect();
    let mut codes = vec![];
    for h in handles {
        codes.push(h.await.unwrap());
    }
    let wrong = codes
        .iter()
        .filter(|c| *c == "INVALID_VERIFICATION_CODE")
        .count();
    assert_eq!(wrong, 5, "{codes:?}");
}

#[tokio::test]
async fn a_code_expires_with_its_state_token() {
    let t = app(&[]).await;
    let (_, token, code) = pending(&t).await;
    // VERIFY_CODE_TTL_SECONDS defaults to 600.
    t.app.clock.advance_secs(601);
    assert_eq!(
        verify(&t, &token, &code).await.code(),
        "INVALID_STATE_TOKEN"
    );
}

#[tokio::test]
async fn with_the_owners_approval_required_a_verified_member_waits_without_a_session() {
    let t = app(&[("REGISTER_REQUIRES_OWNER_APPROVAL", "true")]).await;
    let (m, token, code) = pending(&t).await;
    let a = verify(&t, &token, &code).await;
    assert_eq!(a.json["state"], "REQUIRE_OWNER_APPROVAL", "{}", a.text);
    assert!(a.json["sessionToken"].is_null());
    assert_eq!(a.json["identity"]["email"]["isVerified"], true);
    assert_eq!(t.status_of(&m.email_key).await, Status::Pending);
    assert!(t.items(&t.tables.sessions).await.is_empty());
}

#[tokio::test]
async fn a_blocked_member_is_refused_and_gets_no_session() {
    let t = app(&[]).await;
    let (mut m, token, code) = pending(&t).await;
    m.status = Status::Blocked;
    t.put_member(&m).await;
    assert_eq!(verify(&t, &token, &code).await.code(), "MEMBER_BLOCKED");
    let sessions = t.items(&t.tables.sessions).await;
    assert!(sessions.iter().all(|s| s["revoked"].as_bool() == Ok(&true)));
}

#[tokio::test]
async fn verify_takes_two_round_trips_and_a_wrong_code_one() {
    let t = app(&[]).await;
    let (_, token, code) = pending(&t).await;
    let req = |c: &str| {
        post_json(
            super::super::VERIFY_PATH,
            &json!({"stateToken": token, "code": c}),
            IP,
        )
    };
    assert!(
        crate::handler::verify(&t.app, &req(&other(&code)), IP)
            .await
            .is_err()
    );
    t.assert_traffic(1, 1, "wrong code");
    assert!(
        crate::handler::verify(&t.app, &req(&code), IP)
            .await
            .is_ok()
    );
    // 1: the counted check; 2: the member, the state's end and the session.
    t.assert_traffic(4, 2, "right code");
}
