//! A new email: an ACTIVE member, its session and cookie, in two round trips and one hash.

use serde_json::json;
use shared::testing::{self, post_json};

use super::{IP, PASSWORD, body, register};

#[tokio::test]
async fn a_new_email_gets_an_active_member_a_session_and_the_cookie() {
    let t = testing::app().await;
    let mut b = body("Ann.Lee@Example.com", PASSWORD);
    b["profile"] = json!({"firstName": "Ann", "lastName": "Lee", "nickname": "annie"});
    let a = register(&t, &b).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["state"], "SUCCESS");
    let identity = &a.json["identity"];
    testing::assert_new_active_identity(identity, "Ann.Lee@Example.com", false);
    assert_eq!(identity["identityProfile"]["firstName"], "Ann");
    assert_eq!(identity["identityProfile"]["nickname"], "annie");
    assert_eq!(a.header("cache-control"), Some("no-store"));

    let token = a.json["sessionToken"].as_str().unwrap();
    testing::assert_session_cookie(&a, token);

    // One member, keyed by the normalized email, holding an argon2id hash and not the password.
    let members = t.items(&t.tables.members).await;
    assert_eq!(members.len(), 1);
    assert_eq!(
        members[0]["emailKey"].as_s().unwrap(),
        "ann.lee@example.com"
    );
    assert_eq!(members[0]["status"].as_s().unwrap(), "ACTIVE");
    let hash = members[0]["passwordHash"].as_s().unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m="), "{hash}");
    assert!(!format!("{members:?}").contains(PASSWORD));

    // The token opens a session of that member. (That the password logs in is in
    // tests/tests/register_across.rs.)
    let signed_in = t.authenticates(token).await.expect("the session is live");
    assert_eq!(
        signed_in.session.member_id,
        identity["id"].as_str().unwrap()
    );
}

#[tokio::test]
async fn a_registration_takes_two_round_trips_and_one_argon2_hash() {
    let t = testing::app().await;
    let req = post_json("/v2/register", &body("ann@example.com", PASSWORD), IP);
    let before = t.app.hasher.hash_time();
    assert!(crate::handler::register(&t.app, &req, IP).await.is_ok());
    t.assert_traffic(3, 2, "a registration");
    assert!(t.app.hasher.hash_time() > before);
    assert_eq!(t.app.hasher.verifications(), 0);
}
