//! What each flow costs in DynamoDB request units, measured against DynamoDB Local with
//! `ReturnConsumedCapacity=TOTAL` (shared::testing::capacity): the figures of the README's
//! "Scale and cost" model, printed as a table (`--nocapture`), and each held under a budget,
//! so that a change which makes a flow dearer (another write, an item past 1 KB, an index
//! projecting more) fails here and is priced in the README before it ships.

mod common;

use serde_json::{Value, json};
use shared::secret::sha256_hex;
use shared::testing::capacity::Units;
use shared::testing::{self, Answer, Auth, TestApp, answer, post_json};

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "another long passphrase 7";
const SIGN_ON_KEY: &str = "sok_capacity-test-key-0123456789abcdefghijklmnopqrstuvwxyzA";

/// A flow's measured units beside its budget: (read, write) units at most. The budgets are
/// the figures measured when the README's cost model was written, plus about one unit.
struct Row {
    flow: &'static str,
    units: Units,
    budget: (f64, f64),
}

async fn register(t: &TestApp, email: &str) -> Answer {
    let body = json!({
        "loginId": {"email": email},
        "password": PASSWORD,
        "profile": {"firstName": "Ann", "lastName": "Lee", "nickname": "ann"},
    });
    let req = post_json("/v2/register", &body, common::IP);
    answer(register::handler::handle(&t.app, req, "req-test".into()).await)
}

async fn sign_on(t: &TestApp, body: &Value) -> Answer {
    let req = Auth::Bearer(SIGN_ON_KEY).post_json("/v2/sign-on", &body.to_string(), common::IP);
    answer(sign_on::handler::handle(&t.app, req, "req-test".into()).await)
}

/// A flow's handler call, on the heap: the handlers' futures together overflow a test
/// thread's stack in a debug build.
type Flow<'a> = std::pin::Pin<Box<dyn Future<Output = Answer> + 'a>>;

/// Runs `flow`, checks its answer, and takes the units it consumed.
async fn measured(t: &TestApp, flow: Flow<'_>, status: u16) -> (Answer, Units) {
    t.capacity.start();
    let a = flow.await;
    let units = t.capacity.take();
    assert_eq!(a.status, status, "{}", a.text);
    (a, units)
}

#[tokio::test]
async fn every_flow_stays_within_its_request_unit_budget() {
    let hash = sha256_hex(SIGN_ON_KEY.as_bytes());
    let t = testing::app_with(&[("SIGN_ON_API_KEY_HASHES", &hash)]).await;
    let mut rows = vec![];
    let mut row = |flow, units, budget| {
        rows.push(Row {
            flow,
            units,
            budget,
        })
    };

    let (_, u) = measured(&t, Box::pin(register(&t, "ann@example.com")), 200).await;
    row("register (new member)", u, (1.0, 8.0));
    let (_, u) = measured(&t, Box::pin(register(&t, "ann@example.com")), 409).await;
    row("register (email taken)", u, (1.0, 9.0));
    let (l, u) = measured(
        &t,
        Box::pin(common::login(&t, "ann@example.com", PASSWORD)),
        200,
    )
    .await;
    row("login (success)", u, (2.0, 13.0));
    let (_, u) = measured(
        &t,
        Box::pin(common::login(&t, "ann@example.com", "wrong password here")),
        401,
    )
    .await;
    row("login (wrong password)", u, (1.0, 5.0));
    let session = l.json["sessionToken"]
        .as_str()
        .expect("sessionToken")
        .to_owned();
    let (x, u) = measured(&t, Box::pin(common::exchange(&t, &session)), 200).await;
    row("token exchange", u, (1.0, 2.0));
    let refresh = x.json["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned();
    t.app.clock.advance_secs(60);
    let (r, u) = measured(&t, Box::pin(common::refresh(&t, &refresh)), 200).await;
    row("token refresh", u, (1.0, 2.0));
    let access = r.json["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    t.app.clock.advance_secs(5);
    let body = json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD});
    let (_, u) = measured(
        &t,
        Box::pin(common::change_password(&t, &session, &body)),
        200,
    )
    .await;
    row("change password", u, (2.0, 4.0));
    let (_, u) = measured(&t, Box::pin(common::logout_by_token(&t, &access)), 200).await;
    row("logout", u, (1.0, 4.0));
    let profile = json!({"loginId": {"email": "bo@example.com"}, "profile": {"firstName": "Bo"}});
    let (_, u) = measured(&t, Box::pin(sign_on(&t, &profile)), 200).await;
    row("sign-on (new member)", u, (1.0, 6.0));
    let (_, u) = measured(&t, Box::pin(sign_on(&t, &profile)), 200).await;
    row("sign-on (existing member)", u, (1.0, 6.0));

    println!(
        "| flow | DynamoDB requests | read units | write units | of which index writes | refused conditional writes |"
    );
    println!("|---|---|---|---|---|---|");
    for r in &rows {
        let indexes: Vec<String> = r
            .units
            .index_write
            .iter()
            .map(|(i, u)| format!("{i} {u}"))
            .collect();
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.flow,
            r.units.requests,
            r.units.read,
            r.units.write,
            indexes.join(", "),
            r.units.refused_writes
        );
    }
    for r in &rows {
        assert!(r.units.requests > 0, "{}: no request measured", r.flow);
        assert!(
            r.units.read <= r.budget.0 && r.units.write <= r.budget.1,
            "{} consumed {} read and {} write units, over its budget {:?}",
            r.flow,
            r.units.read,
            r.units.write,
            r.budget
        );
    }
}
