use std::io::{Read, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use testkit::dingtalk::expected_sign;
use testkit::{DingTalkOptions, DingTalkServer, ThrottleReply};

const MORE: &str = "more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn markdown(title: &str, text: &str) -> Value {
    json!({"msgtype": "markdown", "markdown": {"title": title, "text": text}})
}

async fn post(url: &str, body: &Value) -> Value {
    crate::http()
        .build()
        .unwrap()
        .post(url)
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn signed_url(server: &DingTalkServer, ts: i64, secret: &str) -> String {
    let sign: String =
        url::form_urlencoded::byte_serialize(expected_sign(ts, secret).as_bytes()).collect();
    format!("{}&timestamp={ts}&sign={sign}", server.webhook_url())
}

#[tokio::test]
async fn accepts_a_markdown_message() {
    let server = DingTalkServer::start(DingTalkOptions::default()).unwrap();
    assert!(server
        .webhook_url()
        .ends_with("/robot/send?access_token=test-access-token"));
    let msg = markdown("t", "body");
    assert_eq!(
        post(&server.webhook_url(), &msg).await,
        json!({"errcode": 0, "errmsg": "ok"})
    );
    assert_eq!(server.accepted(), vec![msg]);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].query, "access_token=test-access-token");
    assert_eq!(reqs[0].errcode, 0);
}

#[tokio::test]
async fn unknown_token() {
    let server = DingTalkServer::start(DingTalkOptions::default()).unwrap();
    let url = format!("{}/robot/send?access_token=nope", server.base_url());
    assert_eq!(
        post(&url, &markdown("t", "x")).await,
        json!({"errcode": 300001, "errmsg": "token is not exist"})
    );
    assert!(server.accepted().is_empty());
}

#[tokio::test]
async fn signature_good_bad_and_stale() {
    let secret = "SECabc+/=123";
    let server = DingTalkServer::start(DingTalkOptions {
        secret: Some(secret.into()),
        ..Default::default()
    })
    .unwrap();
    let ts = now_ms();
    let msg = markdown("t", "x");
    assert_eq!(
        post(&signed_url(&server, ts, secret), &msg).await,
        json!({"errcode": 0, "errmsg": "ok"})
    );
    assert_eq!(
        post(&signed_url(&server, ts, "SECwrong"), &msg).await,
        json!({"errcode": 310000, "errmsg": format!("sign not match, {MORE}")})
    );
    assert_eq!(
        post(&server.webhook_url(), &msg).await,
        json!({"errcode": 310000, "errmsg": format!("sign not match, {MORE}")})
    );
    let stale = ts - 3_700_000;
    assert_eq!(
        post(&signed_url(&server, stale, secret), &msg).await,
        json!({"errcode": 310000, "errmsg": format!("invalid timestamp {stale}, {MORE}")})
    );
    assert_eq!(server.accepted().len(), 1);
    assert_eq!(server.count_errcode(310000), 3);
}

#[test]
fn known_signature_vector() {
    // HMAC-SHA256(key="secret", "1700000000000\nsecret"), base64.
    // Computed independently with Python's hmac module.
    assert_eq!(
        expected_sign(1_700_000_000_000, "secret"),
        "OuzzJR5+xZ4/EYwqtNt6sMYZQMTa/HEGvc9miJe7XzY="
    );
}

#[tokio::test]
async fn keywords() {
    let server = DingTalkServer::start(DingTalkOptions {
        keywords: vec!["告警".into()],
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        post(&server.webhook_url(), &markdown("hello", "world")).await,
        json!({"errcode": 310000, "errmsg": format!("keywords not in content, {MORE}")})
    );
    // A markdown message needs the keyword in its title and in its text.
    assert_eq!(
        post(&server.webhook_url(), &markdown("告警 x", "world")).await["errcode"],
        310000
    );
    assert_eq!(
        post(&server.webhook_url(), &markdown("x", "告警 world")).await["errcode"],
        310000
    );
    assert_eq!(
        post(&server.webhook_url(), &markdown("告警 x", "### 告警 world")).await["errcode"],
        0
    );
    assert_eq!(
        post(
            &server.webhook_url(),
            &json!({"msgtype": "text", "text": {"content": "a 告警"}})
        )
        .await["errcode"],
        0
    );
}

#[tokio::test]
async fn message_shape() {
    let server = DingTalkServer::start(DingTalkOptions::default()).unwrap();
    let url = server.webhook_url();
    assert_eq!(
        post(
            &url,
            &json!({"msgtype": "markdown", "markdown": {"title": "", "text": "x"}})
        )
        .await,
        json!({"errcode": 40035, "errmsg": "缺少参数 markdown"})
    );
    assert_eq!(
        post(&url, &json!({"msgtype": "nope"})).await,
        json!({"errcode": 40035, "errmsg": "缺少参数 msgtype"})
    );
    let resp: Value = crate::http()
        .build()
        .unwrap()
        .post(&url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resp, json!({"errcode": 40035, "errmsg": "缺少参数 json"}));
}

#[tokio::test]
async fn oversize_message() {
    let server = DingTalkServer::start(DingTalkOptions::default()).unwrap();
    let msg = markdown("t", &"x".repeat(20_001));
    assert_eq!(
        post(&server.webhook_url(), &msg).await,
        json!({"errcode": 460101, "errmsg": "message too long, exceed 20000 bytes"})
    );
    // The whole body counts: 9,000 quotes are 9,000 bytes of text but
    // 18,000 bytes of JSON, plus the envelope.
    let quotes = markdown("t", &"\"".repeat(9_000));
    assert!(quotes.to_string().len() > 18_000 && quotes.to_string().len() <= 20_000);
    assert_eq!(post(&server.webhook_url(), &quotes).await["errcode"], 0);
    let more = markdown("t", &"\"".repeat(10_000));
    assert!(more.to_string().len() > 20_000);
    assert_eq!(post(&server.webhook_url(), &more).await["errcode"], 460101);
}

#[tokio::test]
async fn wrong_content_type() {
    let server = DingTalkServer::start(DingTalkOptions::default()).unwrap();
    let resp = crate::http()
        .build()
        .unwrap()
        .post(server.webhook_url())
        .header("content-type", "text/plain")
        .body(markdown("t", "x").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"errcode": 43004, "errmsg": "无效的HTTP HEADER Content-Type"})
    );
}

#[test]
fn as_hard_as_dingtalk_by_default() {
    let d = DingTalkOptions::default();
    assert_eq!(
        (d.rate_limit, d.window, d.block_windows, d.throttle_reply),
        (20, Duration::from_secs(60), 10, ThrottleReply::TooFast)
    );
}

/// 20 messages per window; the 21st is refused and blocks the robot for
/// `block_windows` windows (DingTalk: 10 minutes), scaled with the window.
#[tokio::test]
async fn breach_blocks_the_robot_for_whole_windows() {
    let server = DingTalkServer::start(DingTalkOptions {
        // Long enough that 20 posts fit in one window on a loaded machine.
        window: Duration::from_secs(3),
        block_windows: 3,
        ..Default::default()
    })
    .unwrap();
    let url = server.webhook_url();
    for i in 0..20 {
        assert_eq!(
            post(&url, &markdown("t", &i.to_string())).await["errcode"],
            0,
            "message {i}"
        );
    }
    assert_eq!(
        post(&url, &markdown("t", "21")).await,
        json!({"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"})
    );
    // Taken after the answer: the robot's block began before this.
    let breach = Instant::now();
    // A window later the robot is still blocked ...
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    assert_eq!(post(&url, &markdown("t", "22")).await["errcode"], 130101);
    // ... until three windows after the breach.
    tokio::time::sleep(
        (breach + Duration::from_millis(9_050)).saturating_duration_since(Instant::now()),
    )
    .await;
    assert_eq!(post(&url, &markdown("t", "23")).await["errcode"], 0);
    assert_eq!(server.accepted().len(), 21);
    assert_eq!(server.count_errcode(130101), 2);
    assert_eq!(server.throttle_answers(), 2);
}

#[tokio::test]
async fn window_without_block_when_asked() {
    let server = DingTalkServer::start(DingTalkOptions {
        rate_limit: 2,
        window: Duration::from_secs(2),
        block_windows: 0,
        ..Default::default()
    })
    .unwrap();
    let url = server.webhook_url();
    assert_eq!(post(&url, &markdown("t", "1")).await["errcode"], 0);
    assert_eq!(post(&url, &markdown("t", "2")).await["errcode"], 0);
    assert_eq!(post(&url, &markdown("t", "3")).await["errcode"], 130101);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(post(&url, &markdown("t", "4")).await["errcode"], 0);
}

#[tokio::test]
async fn throttled_robot_answers_410100_in_that_mode() {
    let server = DingTalkServer::start(DingTalkOptions {
        throttle_reply: ThrottleReply::Limited,
        ..Default::default()
    })
    .unwrap();
    server.throttle_now();
    assert_eq!(
        post(&server.webhook_url(), &markdown("t", "x")).await,
        json!({"errcode": 410100, "errmsg": "发送速度太快而限流"})
    );
    assert_eq!(server.throttle_answers(), 1);
    assert!(server.accepted().is_empty());
}

#[tokio::test]
async fn throttled_robot_redirects_in_that_mode() {
    let server = DingTalkServer::start(DingTalkOptions::default()).unwrap();
    server.set_throttle_reply(ThrottleReply::Redirect);
    server.throttle_now();
    let client = crate::http()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = client
        .post(server.webhook_url())
        .json(&markdown("t", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.headers()["location"], testkit::dingtalk::REDIRECT_PATH);
    assert_eq!(server.throttle_answers(), 1);
    assert_eq!(server.requests()[0].status, 302);
    assert_eq!(server.requests()[0].errcode, testkit::dingtalk::NO_ERRCODE);
    // A client that follows the redirect lands on a web page, and is counted.
    let page = crate::http()
        .build()
        .unwrap()
        .get(format!(
            "{}{}",
            server.base_url(),
            testkit::dingtalk::REDIRECT_PATH
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().starts_with("<html>"));
    assert_eq!(server.redirects_followed(), 1);
    assert!(server.accepted().is_empty());
}

#[tokio::test]
async fn busy_rotation_and_raw_replies() {
    let server = DingTalkServer::start(DingTalkOptions::default()).unwrap();
    let old = server.webhook_url();
    server.set_busy(true);
    assert_eq!(
        post(&old, &markdown("t", "x")).await,
        json!({"errcode": -1, "errmsg": "系统繁忙"})
    );
    server.set_busy(false);
    server.rotate("new-token", Some("SECnew"));
    assert_eq!(post(&old, &markdown("t", "x")).await["errcode"], 300001);
    let new = server.webhook_url();
    assert!(new.ends_with("access_token=new-token"), "{new}");
    assert_eq!(post(&new, &markdown("t", "x")).await["errcode"], 310000);
    assert_eq!(
        post(
            &signed_url(&server, now_ms(), "SECnew"),
            &markdown("t", "x")
        )
        .await["errcode"],
        0
    );
    server.push_raw_reply(200, r#"{"status":1111,"wait":5}"#);
    assert_eq!(
        post(&new, &markdown("t", "x")).await,
        json!({"status": 1111, "wait": 5})
    );
    assert_eq!(server.accepted().len(), 1);
}

#[tokio::test]
async fn scripted_replies_and_outage() {
    let server = DingTalkServer::start(DingTalkOptions::default()).unwrap();
    let url = server.webhook_url();
    server.push_reply(-1, "系统繁忙");
    assert_eq!(
        post(&url, &markdown("t", "x")).await,
        json!({"errcode": -1, "errmsg": "系统繁忙"})
    );
    server.set_down(true);
    let resp = crate::http()
        .build()
        .unwrap()
        .post(&url)
        .json(&markdown("t", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    server.set_down(false);
    assert_eq!(post(&url, &markdown("t", "x")).await["errcode"], 0);
    assert_eq!(server.accepted().len(), 1);
}

/// Works from a plain sync test, no runtime around.
#[test]
fn usable_from_sync_tests() {
    let server = DingTalkServer::start(DingTalkOptions::default()).unwrap();
    let addr = server.base_url().trim_start_matches("http://").to_string();
    let body = markdown("t", "x").to_string();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "POST /robot/send?access_token=test-access-token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.ends_with(r#"{"errcode":0,"errmsg":"ok"}"#), "{out}");
}
