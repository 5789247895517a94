//! The whole journey: the mail, the link, a weak password refused, the new password set, the
//! old one dead, every other session ended, the token single use and mortal.

use serde_json::json;
use shared::testing::{self, MetricCapture, unique_email};

use super::*;

#[tokio::test]
async fn a_member_recovers_the_account_through_the_mailed_link() {
    let t = app(&[]).await;
    let email = unique_email("ann");
    let (member, old_session) = t.signed_in(&email, OLD_PASSWORD).await;
    let second_session = t.session_token(&member).await;
    let metrics = MetricCapture::start();

    let a = send_email(&t, &email).await;
    assert_eq!((a.status, a.text.as_str()), (200, "{}"));
    let inbox = t.inbox(&email).await;
    assert_eq!(inbox.len(), 1);
    let mail = &inbox[0];
    assert_eq!(mail.from, testing::TEST_EMAIL_FROM);
    let link = mail.link().expect("the mail holds a link");
    assert!(
        link.starts_with(&format!("{PAGE}?recoveryToken=rc_")),
        "{link}"
    );
    let token = mail.recovery_token().unwrap();
    assert!(
        mail.html.contains(&token),
        "the HTML body links the token too"
    );

    // A weak password is refused, and the token stays good.
    let weak = recover(&t, &token, "ann").await;
    assert_eq!(weak.status, 400, "{}", weak.text);
    assert!(weak.violations().iter().all(|(f, _)| f == "newPassword"));
    assert!(t.authenticates(&old_session).await.is_some());

    let ok = recover(&t, &token, NEW_PASSWORD).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json["state"], "SUCCESS");
    assert_eq!(ok.json["identity"]["id"], member.member_id.as_str());
    assert_eq!(ok.json["identity"]["email"]["isVerified"], true);
    let session = ok.json["sessionToken"].as_str().unwrap();
    testing::assert_session_cookie(&ok, session);

    // The old password is dead, the new one is the member's.
    let stored = t.app.members.get(&member.email_key).await.unwrap().unwrap();
    let hash = stored.password_hash.as_deref();
    let parse = |p| shared::password::Password::parse(p, "p", 128).unwrap();
    assert!(
        !t.app
            .hasher
            .verify(&parse(OLD_PASSWORD), hash)
            .await
            .matches
    );
    assert!(
        t.app
            .hasher
            .verify(&parse(NEW_PASSWORD), hash)
            .await
            .matches
    );
    assert!(stored.revision > member.revision);

    // Every other session ended; the new one opens.
    assert!(t.authenticates(&old_session).await.is_none());
    assert!(t.authenticates(&second_session).await.is_none());
    assert!(t.authenticates(session).await.is_some());

    // Single use.
    let again = recover(&t, &token, "another fine passphrase").await;
    assert_eq!(again.code(), "INVALID_RECOVERY_TOKEN");

    // Recoveries requested and completed, as operators count them.
    metrics.assert_decisions(&[
        ("recovery_send", "mailed"),
        ("recovery", "weak_password"),
        ("recovery", "success"),
        ("recovery", "invalid_token"),
    ]);
}

#[tokio::test]
async fn a_token_dies_when_it_expires_or_a_newer_one_is_sent() {
    let t = app(&[]).await;
    let email = unique_email("bo");
    t.active_member(&email, OLD_PASSWORD).await;
    let first = mailed_token(&t, &email).await;
    let second = mailed_token(&t, &email).await;
    assert_ne!(first, second);
    assert_eq!(
        recover(&t, &first, NEW_PASSWORD).await.code(),
        "INVALID_RECOVERY_TOKEN",
        "a newer link voids the older"
    );
    // RECOVERY_TOKEN_TTL_SECONDS defaults to 1800.
    t.app.clock.advance_secs(1801);
    assert_eq!(
        recover(&t, &second, NEW_PASSWORD).await.code(),
        "INVALID_RECOVERY_TOKEN"
    );
    let third = mailed_token(&t, &email).await;
    t.app.clock.advance_secs(1799);
    assert_eq!(recover(&t, &third, NEW_PASSWORD).await.status, 200);
}

#[tokio::test]
async fn a_link_opens_the_allowlisted_page_the_request_names() {
    let t = app(&[]).await;
    let email = unique_email("cy");
    t.active_member(&email, OLD_PASSWORD).await;
    let body = json!({"email": email, "redirect": {"url": OTHER_PAGE, "clientId": "web"}, "language": "en"});
    assert_eq!(send_email_from(&t, &body, IP).await.status, 200);
    let link = t.inbox(&email).await[0].link().unwrap();
    assert!(
        link.starts_with("https://other.example.com/reset?from=mail&recoveryToken=rc_"),
        "{link}"
    );
    let body = json!({"email": email, "redirect": {"url": "https://evil.example/steal"}});
    let a = send_email_from(&t, &body, IP).await;
    assert_eq!(
        a.violations(),
        [("redirect.url".to_owned(), "REDIRECT_NOT_ALLOWED".to_owned())]
    );
}

#[tokio::test]
async fn recovery_while_locked_lifts_the_lock_and_a_blocked_member_is_refused() {
    let t = app(&[]).await;
    let email = unique_email("dee");
    let member = t.active_member(&email, OLD_PASSWORD).await;
    let key = shared::lockout::email_key("login", &member.email_key);
    let now = t.app.clock.now_ms();
    loop {
        let a = t
            .app
            .counters
            .count(&key, t.app.policies.login_email, now)
            .await
            .unwrap();
        if let shared::lockout::Attempt::Refused { locked: true, .. } = a {
            break;
        }
    }
    let token = mailed_token(&t, &email).await;
    assert_eq!(recover(&t, &token, NEW_PASSWORD).await.status, 200);
    assert_eq!(
        t.app.counters.get(&key).await.unwrap(),
        None,
        "the lock is gone"
    );

    // Blocked after the mail went out: the link no longer helps.
    let token = mailed_token(&t, &email).await;
    let mut blocked = t.app.members.get(&member.email_key).await.unwrap().unwrap();
    blocked.status = shared::member::Status::Blocked;
    t.put_member(&blocked).await;
    assert_eq!(
        recover(&t, &token, "yet another long passphrase")
            .await
            .code(),
        "MEMBER_BLOCKED"
    );
    // And a blocked member is mailed nothing.
    assert_eq!(send_email(&t, &email).await.status, 200);
    assert_eq!(t.inbox(&email).await.len(), 2);
}
