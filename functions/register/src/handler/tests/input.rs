//! A refused registration costs nothing: no DynamoDB request, no argon2 hash, none of the
//! client's allowance. (Which field and rule each refusal names is in `request`'s unit tests.)

use std::time::Duration;

use shared::testing::{self, answer};

use super::{WEAK, body, every_problem, form_post, margaret, refused_requests, register};

#[tokio::test]
async fn a_weak_password_is_refused_before_any_dynamodb_request() {
    let t = testing::app().await;
    let a = register(&t, &margaret()).await;
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(t.app.requests.take().requests, 0);
    assert_eq!(t.app.hasher.hash_time(), Duration::ZERO);
    for (password, _) in WEAK {
        let a = register(&t, &body("margaret.lee@example.com", password)).await;
        assert_eq!(a.status, 400, "{password}: {}", a.text);
    }
    assert!(
        t.items(&t.tables.counters).await.is_empty(),
        "refusals use no allowance"
    );
    assert!(t.items(&t.tables.members).await.is_empty());
}

#[tokio::test]
async fn malformed_oversize_and_hostile_bodies_are_400_before_any_work() {
    let t = testing::app().await;
    for (req, rule) in refused_requests() {
        let a = answer(crate::handler::handle(&t.app, req, "r".into()).await);
        assert_eq!(a.status, 400, "{rule}: {}", a.text);
    }
    assert_eq!(register(&t, &every_problem()).await.status, 400);
    assert_eq!(
        answer(crate::handler::handle(&t.app, form_post(), "r".into()).await).status,
        415
    );

    assert_eq!(t.app.requests.take().requests, 0);
    assert_eq!(t.app.hasher.hash_time(), Duration::ZERO);
}
