//! Refused input costs nothing: no argon2 work and no counting. (Which field and rule each
//! refusal names is in `request`'s unit tests.)

use serde_json::json;
use shared::testing::{self, answer};

use super::{form_post, json_post, login, refused_bodies};

#[tokio::test]
async fn bad_input_gets_a_validation_error_and_costs_no_argon2_work() {
    let t = testing::app().await;
    for (text, _, _) in refused_bodies() {
        let a = answer(crate::handler::handle(&t.app, json_post(&text), "r".into()).await);
        assert_eq!(a.status, 400, "{text:.80}: {}", a.text);
    }
    let a = login(&t, &json!({"loginId": {}})).await;
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(
        answer(crate::handler::handle(&t.app, form_post(), "r".into()).await).status,
        415
    );
    assert_eq!(t.app.hasher.verifications(), 0);
    assert!(
        t.items(&t.tables.counters).await.is_empty(),
        "refused input is not even counted"
    );
}
