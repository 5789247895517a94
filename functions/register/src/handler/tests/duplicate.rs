//! A taken email: 409, the existing member untouched, and no live session beside it; however
//! many registrations of one new email race, exactly one member.

use shared::testing::{self, Answer, TestApp, answer, post_json};

use super::{PASSWORD, body, register};

/// The live sessions stored in the sessions table.
async fn live_sessions(t: &TestApp) -> usize {
    t.items(&t.tables.sessions)
        .await
        .iter()
        .filter(|s| s["revoked"].as_bool() == Ok(&false))
        .count()
}

#[tokio::test]
async fn a_taken_email_gets_409_and_leaves_the_member_and_no_session() {
    let t = testing::app().await;
    let first = t.active_member("ann@example.com", PASSWORD).await;
    let a = register(&t, &body("ANN@example.com", "another long passphrase 7")).await;
    assert_eq!((a.status, a.code()), (409, "DUPLICATE_EMAIL"), "{}", a.text);
    assert!(a.header("set-cookie").is_none());
    assert!(a.json.get("sessionToken").is_none());
    let members = t.items(&t.tables.members).await;
    assert_eq!(members.len(), 1);
    assert_eq!(
        members[0]["passwordHash"].as_s().unwrap(),
        first.password_hash.as_deref().unwrap(),
        "the existing member keeps its password"
    );
    assert_eq!(
        live_sessions(&t).await,
        0,
        "the session minted beside it is revoked"
    );
}

#[tokio::test]
async fn twenty_concurrent_registrations_of_one_new_email_create_exactly_one_member() {
    let t = testing::app().await;
    let metrics = testing::MetricCapture::start();
    let answers = futures::future::join_all((0..20).map(|i| {
        let app = t.app.clone();
        async move {
            let req = post_json(
                "/v2/register",
                &body("race@example.com", &format!("{PASSWORD} {i}")),
                &format!("198.51.100.{i}"),
            );
            answer(crate::handler::handle(&app, req, "r".into()).await)
        }
    }))
    .await;
    let ok: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    assert_eq!(
        ok.len(),
        1,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    assert!(
        answers
            .iter()
            .filter(|a| a.status != 200)
            .all(|a| (a.status, a.code()) == (409, "DUPLICATE_EMAIL"))
    );
    assert_eq!(metrics.count("register", "success"), 1);
    assert_eq!(metrics.count("register", "duplicate_email"), 19);
    let members = t.items(&t.tables.members).await;
    assert_eq!(members.len(), 1);
    assert_eq!(
        members[0]["memberId"].as_s().unwrap(),
        ok[0].json["identity"]["id"].as_str().unwrap()
    );
    assert_eq!(
        live_sessions(&t).await,
        1,
        "only the winner holds a live session"
    );
}
