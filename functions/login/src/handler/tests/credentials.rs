//! Wrong passwords, unknown emails and passwordless members look and cost alike; a hash made
//! under older argon2 parameters is replaced by a right password.

use shared::member::Status;
use shared::testing;

use super::{PASSWORD, body, login, login_from};

#[tokio::test]
async fn wrong_password_unknown_email_and_passwordless_member_look_alike_and_cost_alike() {
    let t = testing::app().await;
    t.active_member("ann@example.com", PASSWORD).await;
    t.member("sso@example.com", None, Status::Active).await;
    let mut answers = vec![];
    for (i, email) in ["ann@example.com", "nobody@example.com", "sso@example.com"]
        .iter()
        .enumerate()
    {
        let before = t.app.hasher.verifications();
        let a = login_from(
            &t,
            &body(email, "wrong password here"),
            &format!("198.51.100.{i}"),
        )
        .await;
        assert_eq!(
            t.app.hasher.verifications() - before,
            1,
            "{email}: one argon2 verification"
        );
        answers.push((
            a.status,
            a.text.clone(),
            a.header("set-cookie").map(str::to_owned),
        ));
    }
    assert_eq!(answers[0].0, 401);
    assert!(answers[0].1.contains("INVALID_CREDENTIALS"));
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], answers[2]);
    assert_eq!(answers[0].2, None);
}

#[tokio::test]
async fn a_hash_made_under_older_parameters_is_replaced_at_login() {
    let t = testing::app().await;
    let old = testing::app_with(&[("ARGON2_MEMORY_KIB", "1024"), ("ARGON2_ITERATIONS", "1")]).await;
    let mut m = old.active_member("ann@example.com", PASSWORD).await;
    assert!(m.password_hash.as_deref().unwrap().contains("m=1024,t=1"));
    m.email_key = "ann@example.com".into();
    t.app.members.create(&m).await.unwrap();
    let a = login(&t, &body("ann@example.com", PASSWORD)).await;
    assert_eq!(a.status, 200);
    let stored = t.app.members.get("ann@example.com").await.unwrap().unwrap();
    let hash = stored.password_hash.unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    let a = login(&t, &body("ann@example.com", PASSWORD)).await;
    assert_eq!(a.status, 200, "the new hash verifies");
}
