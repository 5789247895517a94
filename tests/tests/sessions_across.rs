//! A member's sessions seen across the flows: login, register and sign-on record the device a
//! session was created from; exchange and refresh record it as used; a session the member ends
//! from its list is refused by the token endpoint and change password. (The sessions function
//! on its own is tested in `functions/sessions`.)

mod common;

use common::{IP, change_password, exchange, my_sessions, refresh};
use serde_json::json;
use shared::clock::rfc3339;
use shared::testing::{self, Auth, answer, request};

const PASSWORD: &str = "correct horse battery staple";
const AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0";

#[tokio::test]
async fn login_register_and_sign_on_record_the_device_a_session_was_created_from() {
    let key = "sok_cross-flow-sign-on-key-0123456789abcdefghijklmnopqrst";
    let hash = shared::secret::sha256_hex(key.as_bytes());
    let t = testing::app_with(&[("SIGN_ON_API_KEY_HASHES", &hash)]).await;
    let long_agent = format!("{AGENT} {}", "x".repeat(400));
    let body = json!({"loginId": {"email": "ann@example.com"}, "password": PASSWORD}).to_string();
    let json_ct = ("content-type", "application/json");
    let registered = answer(
        register::handler::handle(
            &t.app,
            request(
                "POST",
                "/v2/register",
                &[json_ct, ("user-agent", AGENT)],
                &body,
                "192.0.2.1",
            ),
            "r".into(),
        )
        .await,
    );
    assert_eq!(registered.status, 200, "{}", registered.text);
    t.app.clock.advance_secs(1);
    let logged_in = answer(
        login::handler::handle(
            &t.app,
            request(
                "POST",
                "/v2/login",
                &[json_ct, ("user-agent", &long_agent)],
                &body,
                "2001:db8::1",
            ),
            "r".into(),
        )
        .await,
    );
    assert_eq!(logged_in.status, 200, "{}", logged_in.text);
    t.app.clock.advance_secs(1);
    let auth = format!("Bearer {key}");
    let signed_on = answer(
        sign_on::handler::handle(
            &t.app,
            request(
                "POST",
                "/v2/sign-on",
                &[
                    json_ct,
                    ("authorization", &auth),
                    ("user-agent", "member-sync/1.0"),
                ],
                &json!({"loginId": {"email": "ann@example.com"}}).to_string(),
                "10.0.0.9",
            ),
            "r".into(),
        )
        .await,
    );
    assert_eq!(signed_on.status, 200, "{}", signed_on.text);

    let token = logged_in.json["sessionToken"].as_str().unwrap();
    let a = my_sessions(&t, token).await;
    let devices: Vec<(String, String, bool)> = a.json["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["clientIp"].as_str().unwrap().to_owned(),
                s["userAgent"].as_str().unwrap().to_owned(),
                s["current"].as_bool().unwrap(),
            )
        })
        .collect();
    let cut: String = long_agent.chars().take(256).collect();
    assert_eq!(
        devices,
        [
            ("10.0.0.9".into(), "member-sync/1.0".into(), false),
            ("2001:db8::1".into(), cut.trim_end().to_owned(), true),
            ("192.0.2.1".into(), AGENT.into(), false),
        ]
    );
}

#[tokio::test]
async fn exchange_and_refresh_record_the_session_as_used() {
    let t = testing::app().await;
    let (m, session) = t.signed_in("ann@example.com", PASSWORD).await;
    let other = t.session_token(&m).await;
    let created = t.app.clock.now_ms();
    t.app.clock.advance_secs(30);
    let granted = exchange(&t, &session).await;
    t.app.clock.advance_secs(60);
    let refreshed = refresh(&t, granted.json["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let a = my_sessions(&t, &other).await;
    let id = session.trim_start_matches("st_").split_once('.').unwrap().0;
    let listed = a.json["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(listed["lastUsedDate"], rfc3339(created + 90_000));
    assert_eq!(listed["createdDate"], rfc3339(created));
}

#[tokio::test]
async fn a_session_the_member_ends_from_its_list_is_refused_everywhere() {
    let t = testing::app().await;
    let (m, mine) = t.signed_in("ann@example.com", PASSWORD).await;
    let stolen = t.session_token(&m).await;
    let granted = exchange(&t, &stolen).await;
    let refresh_token = granted.json["refresh_token"].as_str().unwrap().to_owned();
    let access = granted.json["access_token"].as_str().unwrap().to_owned();
    let id = stolen.trim_start_matches("st_").split_once('.').unwrap().0;
    let req = Auth::Bearer(&mine).post_json(
        "/v2/sessions/revoke",
        &json!({"sessionId": id}).to_string(),
        IP,
    );
    let a = answer(sessions::handler::handle(&t.app, req, "r".into()).await);
    assert_eq!(a.json, json!({"revokedSessions": 1}), "{}", a.text);
    assert_eq!(refresh(&t, &refresh_token).await.status, 400);
    assert_eq!(exchange(&t, &stolen).await.status, 400);
    let body = json!({"currentPassword": PASSWORD, "newPassword": "a brand new passphrase"});
    assert_eq!(change_password(&t, &access, &body).await.status, 401);
    assert_eq!(change_password(&t, &stolen, &body).await.status, 401);
    // The member's own session goes on working.
    assert_eq!(exchange(&t, &mine).await.status, 200);
}
