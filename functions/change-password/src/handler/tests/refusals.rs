//! Refusals decided from the member: the attempt limit, the password policy against the
//! member's own facts, a blocked member.

use serde_json::json;
use shared::member::{Member, Status};
use shared::testing;

use super::{Auth, NEW_PASSWORD, PASSWORD, change, pair};

#[tokio::test]
async fn attempts_per_member_are_limited_before_any_argon2_work() {
    let t = testing::app_with(&[("CHANGE_PASSWORD_MAX_ATTEMPTS", "2")]).await;
    let (m, token) = t.signed_in("ann@example.com", PASSWORD).await;
    let wrong = json!({"currentPassword": "a wrong guess here", "newPassword": NEW_PASSWORD});
    // Refusals that need no argon2 (a weak new password) give their attempt back.
    for _ in 0..4 {
        let a = change(
            &t,
            Auth::Bearer(&token),
            &json!({"currentPassword": PASSWORD, "newPassword": "password1234"}),
        )
        .await;
        assert_eq!(a.violations(), [pair("newPassword", "TOO_COMMON")]);
    }
    for _ in 0..2 {
        assert_eq!(change(&t, Auth::Bearer(&token), &wrong).await.status, 401);
    }
    let verified = t.app.hasher.verifications();
    // Even the right password, from another session of the member, is now refused.
    let other = t.session_token(&m).await;
    let right = json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD});
    let a = change(&t, Auth::Bearer(&other), &right).await;
    assert_eq!((a.status, a.code()), (429, "THROTTLED"));
    let retry: i64 = a.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert_eq!(
        t.app.hasher.verifications(),
        verified,
        "no argon2 work when throttled"
    );
    // Another member is not affected; after the window this one may try again.
    let bob = t.active_member("bob@example.com", PASSWORD).await;
    let bobs = t.session_token(&bob).await;
    assert_eq!(
        change(
            &t,
            Auth::Bearer(&bobs),
            &json!({"currentPassword": PASSWORD, "newPassword": "bob picks a fresh passphrase"})
        )
        .await
        .status,
        200
    );
    t.app.clock.advance_secs(900);
    let a = change(&t, Auth::Bearer(&token), &right).await;
    assert_eq!(a.status, 200, "{}", a.text);
}

#[tokio::test]
async fn the_new_password_must_pass_the_policy_against_the_members_own_facts() {
    let t = testing::app().await;
    let mut m = Member::new(
        &shared::email::Email::parse("jonathan.smithers@example.com", "e").unwrap(),
        Status::Active,
        t.app.clock.now_ms(),
    );
    m.profile.first_name = Some("Margaret".into());
    let p = shared::password::Password::parse(PASSWORD, "p", 128).unwrap();
    m.password_hash = Some(t.app.hasher.hash(&p).await.unwrap());
    t.app.members.create(&m).await.unwrap();
    let token = t.session_token(&m).await;
    let hashed = t.app.hasher.hash_time();
    for (password, expected) in [
        ("Margaret", vec!["TOO_SHORT", "TOO_COMMON", "TOO_SIMILAR"]),
        ("jonathan rocks the boat", vec!["TOO_SIMILAR"]),
        ("margaret likes tea 2024", vec!["TOO_SIMILAR"]),
        ("kartoffelpuffer", vec!["TOO_COMMON"]),
        ("11 chars ok", vec!["TOO_SHORT"]),
    ] {
        let a = change(
            &t,
            Auth::Bearer(&token),
            &json!({"currentPassword": PASSWORD, "newPassword": password}),
        )
        .await;
        assert_eq!(a.status, 400, "{password}");
        let got: Vec<String> = a
            .violations()
            .into_iter()
            .map(|(f, r)| {
                assert_eq!(f, "newPassword");
                r
            })
            .collect();
        assert_eq!(got, expected, "{password}");
    }
    assert_eq!(t.app.hasher.verifications(), 0);
    assert_eq!(t.app.hasher.hash_time(), hashed);
    // Missing current password and a weak new one: both reported.
    t.app.clock.advance_secs(3600);
    let a = change(
        &t,
        Auth::Bearer(&token),
        &json!({"newPassword": "kartoffelpuffer"}),
    )
    .await;
    assert_eq!(
        a.violations(),
        [
            pair("currentPassword", "REQUIRED_FIELD_MISSING"),
            pair("newPassword", "TOO_COMMON")
        ]
    );
}

#[tokio::test]
async fn a_blocked_member_cannot_change_the_password() {
    let t = testing::app().await;
    let m = t
        .member("blocked@example.com", Some(PASSWORD), Status::Blocked)
        .await;
    let token = t.session_token(&m).await;
    let a = change(
        &t,
        Auth::Bearer(&token),
        &json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}),
    )
    .await;
    assert_eq!((a.status, a.code()), (403, "MEMBER_BLOCKED"));
    assert_eq!(t.app.hasher.verifications(), 0);
}
