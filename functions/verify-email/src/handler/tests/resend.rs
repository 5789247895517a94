//! Resend: a new code by mail (the old one dies), limited per member; an unreachable SES
//! changes nothing in the answer and is logged without the code.

use super::*;

#[tokio::test]
async fn a_resent_code_replaces_the_old_one() {
    let t = app(&[]).await;
    let (m, token, old) = pending(&t).await;
    let a = resend(&t, &token).await;
    assert_eq!((a.status, a.text.as_str()), (200, "{}"));
    let inbox = t.inbox(&m.email).await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].from, testing::TEST_EMAIL_FROM);
    let new = inbox[0].code().expect("the mail holds a code");
    assert!(inbox[0].html.contains(&new));
    if new != old {
        assert_eq!(
            verify(&t, &token, &old).await.code(),
            "INVALID_VERIFICATION_CODE"
        );
    }
    assert_eq!(verify(&t, &token, &new).await.json["state"], "SUCCESS");
}

#[tokio::test]
async fn resends_are_limited_per_member() {
    let t = app(&[]).await;
    let (m, token, _) = pending(&t).await;
    let metrics = testing::MetricCapture::start();
    // VERIFY_RESEND_MAX_PER_HOUR defaults to 5.
    for _ in 0..5 {
        assert_eq!(resend(&t, &token).await.status, 200);
    }
    let a = resend(&t, &token).await;
    assert_eq!((a.status, a.code()), (429, "THROTTLED"));
    assert_eq!(metrics.count("verify_resend", "mailed"), 5);
    assert_eq!(metrics.count("verify_resend", "throttled"), 1);
    assert_eq!(t.inbox(&m.email).await.len(), 5);
    // An hour later, once more.
    t.app.clock.advance_secs(3601);
    assert_eq!(
        resend(&t, &token).await.code(),
        "INVALID_STATE_TOKEN",
        "the state died meanwhile"
    );
}

#[tokio::test]
async fn an_unreachable_ses_leaves_the_answer_as_it_is_and_is_logged_without_the_code() {
    let t = testing::dead_mail_app(&[]).await;
    let (_, token, _) = pending(&t).await;
    let logs = testing::LogCapture::start();
    let a = resend(&t, &token).await;
    assert_eq!((a.status, a.text.as_str()), (200, "{}"));
    t.flush_mail().await;
    let failed = logs.events("mail_failed");
    assert_eq!(failed.len(), 1, "{}", logs.text());
    assert_eq!(failed[0]["fields"]["kind"], "verification");
    logs.assert_holds_none(&[&token, token.split_once('.').unwrap().1]);
}
