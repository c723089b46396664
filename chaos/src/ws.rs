//! GS2 WebSocket connection (protocol §7) for the workload's notification listeners.
//!
//! Owns: opening `ws://<api addr>/`, the session login frame (§7.2), request frames
//! (`x_gs2` header, flattened parameters, `xGs2ClientId` / `xGs2ProjectToken` /
//! `xGs2AccessToken`) answered by `requestId`, keep-alive pings, and classifying incoming
//! frames into responses, chat post notifications (§7.4, §10) and frames a client could
//! not use. One task owns a connection, so requests are sequential and no correlation map
//! is needed; notifications arriving while a request waits are handed to a callback.
//! Does not own: reconnecting or recording (see [`crate::workload::listeners`]).

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::client::{CLIENT_ID, CLIENT_SECRET};
use crate::history::Received;

/// `issuer` and `subject` of a chat post notification.
pub const CHAT_POST: &str = "Gs2Chat:Post";

/// A frame as the listener sees it.
#[derive(Debug)]
pub enum Frame {
    Response {
        request_id: String,
        status: u16,
        body: Value,
    },
    /// A well-formed chat post notification.
    Post(Received),
    /// A frame without `requestId` that is not a well-formed chat post notification.
    Bad(String),
    /// The connection ended (close frame, end of stream or error).
    Closed(String),
    /// Ping, pong and the like.
    Other,
}

pub struct WsConn {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    project_token: Option<String>,
}

impl WsConn {
    /// Opens `url` within `timeout`.
    pub async fn connect(url: &str, timeout: Duration) -> Result<WsConn> {
        let (ws, _) = tokio::time::timeout(timeout, tokio_tungstenite::connect_async(url))
            .await
            .map_err(|_| anyhow!("WebSocket connect to {url} timed out"))?
            .with_context(|| format!("WebSocket connect to {url}"))?;
        Ok(WsConn {
            ws,
            next_id: 1,
            project_token: None,
        })
    }

    fn request_id(&mut self) -> String {
        let id = format!("req-{}", self.next_id);
        self.next_id += 1;
        id
    }

    /// Sends `frame` and reads frames until the response to `id` (or `timeout`).
    /// Notifications read meanwhile go to `on_post`.
    async fn roundtrip(
        &mut self,
        id: &str,
        frame: Value,
        timeout: Duration,
        on_post: &mut (dyn FnMut(Frame) + Send),
    ) -> Result<(u16, Value)> {
        self.ws
            .send(Message::Text(frame.to_string()))
            .await
            .context("send frame")?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let next = tokio::time::timeout(left, self.next_frame())
                .await
                .map_err(|_| anyhow!("no response to {id} within {timeout:?}"))?;
            match next {
                Frame::Response {
                    request_id,
                    status,
                    body,
                } if request_id == id => return Ok((status, body)),
                Frame::Response { .. } | Frame::Other => {}
                Frame::Closed(why) => bail!("connection ended before the response: {why}"),
                other => on_post(other),
            }
        }
    }

    /// Session login over the socket (§7.2); keeps the project token.
    pub async fn login(
        &mut self,
        timeout: Duration,
        on_post: &mut (dyn FnMut(Frame) + Send),
    ) -> Result<()> {
        let id = self.request_id();
        let frame = json!({
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "x_gs2": {"service": "identifier", "component": "projectToken", "function": "login",
                      "contentType": "application/json", "requestId": id},
        });
        let (status, body) = self.roundtrip(&id, frame, timeout, on_post).await?;
        if status != 200 {
            bail!("WebSocket project login -> {status} {body}");
        }
        self.project_token = Some(
            body.get("access_token")
                .and_then(Value::as_str)
                .with_context(|| format!("no access_token in {body}"))?
                .to_owned(),
        );
        Ok(())
    }

    /// Calls `service.component.function` with the flattened `params`.
    pub async fn call(
        &mut self,
        service: &str,
        component: &str,
        function: &str,
        params: Value,
        timeout: Duration,
        on_post: &mut (dyn FnMut(Frame) + Send),
    ) -> Result<(u16, Value)> {
        let id = self.request_id();
        let mut frame = match params {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        if let Some(at) = frame.get("accessToken").cloned() {
            frame.entry("xGs2AccessToken").or_insert(at);
        }
        frame.insert("xGs2ClientId".into(), json!(CLIENT_ID));
        if let Some(t) = &self.project_token {
            frame.insert("xGs2ProjectToken".into(), json!(t));
        }
        frame.insert(
            "x_gs2".into(),
            json!({"service": service, "component": component, "function": function,
                   "contentType": "application/json", "requestId": id}),
        );
        self.roundtrip(&id, Value::Object(frame), timeout, on_post)
            .await
    }

    /// Player login (`auth` `accessToken.login`) then gateway `setUserId` binding this
    /// connection to `user` in gateway namespace `gw` (concurrent access allowed).
    pub async fn bind(
        &mut self,
        gw: &str,
        user: &str,
        timeout: Duration,
        on_post: &mut (dyn FnMut(Frame) + Send),
    ) -> Result<Value> {
        let (status, body) = self
            .call(
                "auth",
                "accessToken",
                "login",
                json!({"userId": user, "timeOffset": 0}),
                timeout,
                on_post,
            )
            .await?;
        if status != 200 {
            bail!("auth login of {user} over WebSocket -> {status} {body}");
        }
        let token = body
            .get("token")
            .and_then(Value::as_str)
            .with_context(|| format!("no token in {body}"))?
            .to_owned();
        let (status, body) = self
            .call(
                "gateway",
                "webSocketSession",
                "setUserId",
                json!({"namespaceName": gw, "accessToken": token,
                       "allowConcurrentAccess": true, "force": false}),
                timeout,
                on_post,
            )
            .await?;
        if status != 200 {
            bail!("setUserId of {user} -> {status} {body}");
        }
        Ok(body)
    }

    /// The next frame (waits as long as it takes).
    pub async fn next_frame(&mut self) -> Frame {
        let msg = match self.ws.next().await {
            None => return Frame::Closed("end of stream".into()),
            Some(Err(e)) => return Frame::Closed(format!("error: {e}")),
            Some(Ok(m)) => m,
        };
        let text = match msg {
            Message::Text(t) => t,
            Message::Close(f) => {
                return Frame::Closed(match f {
                    Some(f) => format!("close frame {} {}", u16::from(f.code), f.reason),
                    None => "close frame without payload".into(),
                })
            }
            Message::Binary(b) => return Frame::Bad(format!("binary frame of {} bytes", b.len())),
            _ => return Frame::Other,
        };
        classify(&text, Instant::now())
    }

    pub async fn ping(&mut self) -> Result<()> {
        self.ws
            .send(Message::Ping(Vec::new()))
            .await
            .context("send ping")
    }

    /// Sends a close frame (best effort).
    pub async fn close(&mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.ws.close(None)).await;
    }
}

/// Sorts a text frame into a response, a chat post notification or a bad frame.
pub fn classify(text: &str, at: Instant) -> Frame {
    let v: Value = match serde_json::from_str(text) {
        Ok(v @ Value::Object(_)) => v,
        _ => return Frame::Bad(format!("not a JSON object: {text}")),
    };
    match v.get("requestId") {
        None | Some(Value::Null) => {}
        Some(id) => {
            let request_id = id
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| id.to_string());
            let status = v.get("status").and_then(Value::as_u64).unwrap_or(0) as u16;
            let body = v.get("body").cloned().unwrap_or(Value::Null);
            return Frame::Response {
                request_id,
                status,
                body,
            };
        }
    }
    match parse_post(&v, at) {
        Ok(r) => Frame::Post(r),
        Err(why) => Frame::Bad(format!("{why}: {text}")),
    }
}

/// A chat post notification frame (§7.4, §10) into a [`Received`].
fn parse_post(v: &Value, at: Instant) -> Result<Received, String> {
    if v.get("type").and_then(Value::as_str) != Some("notification") {
        return Err("no \"type\":\"notification\"".into());
    }
    let body = v.get("body").ok_or("no body")?;
    for k in ["issuer", "subject"] {
        if body.get(k).and_then(Value::as_str) != Some(CHAT_POST) {
            return Err(format!("body.{k} is not {CHAT_POST}"));
        }
    }
    let payload = body
        .get("payload")
        .and_then(Value::as_str)
        .ok_or("body.payload is not a string")?;
    let p: Value = serde_json::from_str(payload).map_err(|e| format!("payload not JSON: {e}"))?;
    let s = |k: &str| {
        p.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("payload.{k} is not a string"))
    };
    let i = |k: &str| {
        p.get(k)
            .and_then(Value::as_i64)
            .ok_or_else(|| format!("payload.{k} is not an integer"))
    };
    Ok(Received {
        at,
        namespace: s("namespaceName")?,
        room: s("roomName")?,
        poster: s("userId")?,
        category: i("category")?,
        created_at: i("createdAt")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_frames() {
        let now = Instant::now();
        let post = r#"{"type":"notification","body":{"issuer":"Gs2Chat:Post","subject":"Gs2Chat:Post","payload":"{\"namespaceName\":\"ns\",\"roomName\":\"r-1\",\"userId\":\"p-7\",\"category\":2,\"createdAt\":1717000000000}"}}"#;
        match classify(post, now) {
            Frame::Post(r) => {
                assert_eq!((r.room.as_str(), r.poster.as_str()), ("r-1", "p-7"));
                assert_eq!((r.category, r.created_at), (2, 1717000000000));
            }
            other => panic!("{other:?}"),
        }
        match classify(
            r#"{"requestId":"req-3","status":200,"body":{"item":1}}"#,
            now,
        ) {
            Frame::Response {
                request_id, status, ..
            } => assert_eq!((request_id.as_str(), status), ("req-3", 200)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(classify("pong", now), Frame::Bad(_)));
        assert!(matches!(
            classify(r#"{"type":"notification","body":{"issuer":"x"}}"#, now),
            Frame::Bad(_)
        ));
    }
}
