//! The Lambda invocation: the scheduled event, forged and late ones, an unreachable
//! DynamoDB, and what a run logs.

use super::*;

#[tokio::test]
async fn the_scheduled_event_fixture_runs_a_cleanup_that_answers_the_report() {
    let f = Fixture::new().await;
    let (live, expired, refresh) = f.live_and_expired(20, 7, 2).await;
    let event = scheduled_event();
    assert_eq!(event.detail_type, "Scheduled Event");

    let report = handle(
        &f.c,
        LambdaEvent::new(event, context(Duration::from_secs(30))),
    )
    .await
    .unwrap();

    assert_eq!(
        serde_json::to_value(report).unwrap(),
        json!({"deleted": {"sessions": expired.len(), "refreshTokens": refresh, "counters": 0},
               "remaining": false})
    );
    assert_eq!(f.session_ids().await, set(&live));
}

#[tokio::test]
async fn a_warm_container_keeps_no_record_of_past_runs_requests() {
    let f = Fixture::new().await;
    f.live_and_expired(5, 5, 2).await;
    f.t.app.requests.take();
    // The collector's client records every request it makes …
    run(&f.c, f.t.app.clock.now_ms(), ample()).await;
    assert!(f.c.requests.take().requests > 0);
    // … and an invocation logs and forgets them.
    for _ in 0..3 {
        handle(
            &f.c,
            LambdaEvent::new(scheduled_event(), context(Duration::from_secs(30))),
        )
        .await
        .unwrap();
        assert_eq!(
            f.c.requests.take().requests,
            0,
            "each invocation clears the record of its requests"
        );
    }
}

#[tokio::test]
async fn a_forged_event_cannot_make_live_sessions_collectable() {
    let f = Fixture::new().await;
    let live = f.live(30).await;
    let mut event = scheduled_event();
    // Claims to come from far in the future and carries a "now" of its own: both ignored.
    event.time = Some("2999-01-01T00:00:00Z".parse().unwrap());
    event.detail = json!({"now": 32_503_680_000_000_i64, "deleteAll": true});
    event.source = "attacker".into();

    let report = handle(
        &f.c,
        LambdaEvent::new(event, context(Duration::from_secs(30))),
    )
    .await
    .unwrap();

    assert_eq!(report.deleted, Deleted::default());
    assert_eq!(f.session_ids().await, set(&live));
}

#[tokio::test]
async fn an_invocation_past_its_deadline_returns_remaining_without_touching_anything() {
    let f = Fixture::new().await;
    let (expired, _) = f.expired(5, 1).await;
    let report = handle(
        &f.c,
        LambdaEvent::new(scheduled_event(), Context::default()),
    )
    .await
    .unwrap();
    assert!(report.remaining);
    assert_eq!(f.session_ids().await, set(&expired));
}

#[tokio::test]
async fn an_unreachable_dynamodb_fails_the_invocation_and_reports_work_remaining() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let t = testing::app_at(&dead, &[("SKIP_TABLES", "1")]).await;
    let c = Collector::new(
        t.client.clone(),
        &t.tables,
        t.app.clock.clone(),
        Settings::default(),
    );

    let o = run(&c, t.app.clock.now_ms(), ample()).await;
    assert!(o.error.is_some());
    assert!(o.report.remaining);
    let err = handle(
        &c,
        LambdaEvent::new(scheduled_event(), context(Duration::from_secs(30))),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("cleanup cursor"), "{err}");
}

#[tokio::test]
async fn a_run_logs_its_report_and_nothing_of_what_the_items_held() {
    let f = Fixture::new().await;
    let (_, expired, refresh) = f.live_and_expired(10, 12, 2).await;
    // The stored hashes (session and refresh) of every item the run will delete.
    let mut stored = vec![];
    for item in f.t.items(&f.t.tables.sessions).await {
        for attr in ["tokenHash", shared::session::REFRESH_ATTRIBUTE] {
            if let Some(v) = item.get(attr).and_then(|v| v.as_s().ok()) {
                stored.push(v.clone());
            }
        }
    }
    assert!(stored.len() > expired.len());
    let logs = LogCapture::start();

    let report = handle(
        &f.c,
        LambdaEvent::new(scheduled_event(), context(Duration::from_secs(30))),
    )
    .await
    .unwrap();

    let text = logs.text();
    for secret in &stored {
        assert!(
            !text.contains(secret.as_str()),
            "a log line holds a stored hash"
        );
    }
    let lines = logs.events("session_cleanup");
    assert_eq!(
        lines.len(),
        1,
        "{}",
        text.lines()
            .filter(|l| !l.contains("\"DEBUG\""))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let fields = &lines[0]["fields"];
    assert_eq!(fields["outcome"], "ok");
    assert_eq!(fields["deleted_sessions"], expired.len() as u64);
    assert_eq!(fields["deleted_refresh_tokens"], refresh);
    assert_eq!(fields["remaining"], false);
    let logged: serde_json::Value =
        serde_json::from_str(fields["report"].as_str().unwrap()).unwrap();
    assert_eq!(logged, serde_json::to_value(report).unwrap());
}
