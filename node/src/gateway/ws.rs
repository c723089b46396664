//! The WebSocket endpoint at `/`: GS2 request frames dispatched through the same table and
//! handlers as REST, responses correlated by `requestId`, notifications pushed by the registry.
//! A reader task handles frames; a writer task drains the connection's bounded queue and closes
//! the socket with a reason when asked (overflow, disconnect, kick).

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};

use super::sessions::Outgoing;
use crate::api::error::ApiError;
use crate::api::http::authenticate;
use crate::api::request::Req;
use crate::api::routes;
use crate::api::App;
use crate::metrics;
use crate::raft::cluster::Consistency;

/// A connection that sends nothing (not even a ping) for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// Largest accepted frame.
const MAX_FRAME: usize = 6 * 1024 * 1024;

pub async fn upgrade(State(app): State<App>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(MAX_FRAME)
        .on_upgrade(move |socket| serve(app, socket))
}

async fn serve(app: App, socket: WebSocket) {
    let registry = app.gateway.registry.clone();
    let handle = registry.open(app.gateway.ws_send_queue);
    let id = handle.id.clone();
    let (mut sink, mut stream) = socket.split();
    let close = handle.close.clone();
    let mut rx = handle.rx;
    let mut ctl_rx = handle.ctl_rx;
    let writer = tokio::spawn(async move {
        // One close future for the connection's life, not one per frame (profiled: per-frame
        // waits cost a mutex and a waker registration each).
        let closed = close.wait();
        tokio::pin!(closed);
        loop {
            let out = tokio::select! {
                biased;
                (code, reason) = &mut closed => {
                    send_close(&mut sink, code, reason).await;
                    return;
                }
                Some(out) = ctl_rx.recv() => out,
                out = rx.recv() => match out {
                    Some(out) => out,
                    None => return,
                },
            };
            let msg = match out {
                Outgoing::Text(t) => Message::Text(t),
                Outgoing::Pong(p) => Message::Pong(p),
            };
            // A peer that stops reading blocks the send: the close signal must still win.
            tokio::select! {
                biased;
                (code, reason) = &mut closed => {
                    send_close(&mut sink, code, reason).await;
                    return;
                }
                sent = sink.send(msg) => {
                    if sent.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let close = handle.close.clone();
    let closed = close.wait();
    tokio::pin!(closed);
    loop {
        let next = tokio::select! {
            _ = &mut closed => break,
            next = tokio::time::timeout(IDLE_TIMEOUT, stream.next()) => next,
        };
        let msg = match next {
            Err(_) => {
                handle
                    .close
                    .close(super::sessions::CLOSE_NORMAL, "idle timeout");
                break;
            }
            Ok(None) | Ok(Some(Err(_))) => break,
            Ok(Some(Ok(m))) => m,
        };
        match msg {
            Message::Text(text) => {
                let app = app.clone();
                let id = id.clone();
                tokio::spawn(async move {
                    if let Some(reply) = dispatch(&app, &id, &text).await {
                        app.gateway.registry.send_to_conn(&id, reply);
                    }
                });
            }
            Message::Ping(p) => registry.pong(&id, p),
            Message::Close(_) => break,
            Message::Binary(_) | Message::Pong(_) => {}
        }
    }
    registry.remove(&id);
    handle.close.close(super::sessions::CLOSE_NORMAL, "bye");
    let _ = handle.ctl;
    let _ = writer.await;
}

/// Sends a close frame, giving up after a moment if the peer does not read.
async fn send_close<S>(sink: &mut S, code: u16, reason: String)
where
    S: futures::Sink<Message> + Unpin,
{
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    let _ = tokio::time::timeout(Duration::from_secs(2), sink.send(frame)).await;
}

/// Handles one request frame; `None` when the frame cannot be answered (no `requestId`).
pub async fn dispatch(app: &App, conn: &str, text: &str) -> Option<String> {
    let Some(RequestFrame {
        request_id,
        service,
        component,
        function,
        params: frame,
    }) = decode_request_frame(text)
    else {
        tracing::debug!(
            conn,
            "ignored a frame that is not a JSON object with an x_gs2 header"
        );
        return None;
    };
    let (service, component, function) = (&*service, &*component, &*function);
    let name = format!("{service}.{component}.{function}");
    let started = std::time::Instant::now();
    let result = match routes::find_by_name(service, component, function) {
        None => Err(ApiError::NoRoute(name.clone())),
        Some(route) => match build_req(app, route.access, conn, frame) {
            Ok(req) => (route.handler)(app.clone(), req).await,
            Err(e) => Err(e),
        },
    };
    let (status, body) = match result {
        Ok(v) => (200u16, v),
        Err(e) => {
            let (s, b) = e.status_and_body();
            (s.as_u16(), b)
        }
    };
    metrics::HTTP_REQUESTS
        .with_label_values(&[&format!("ws:{name}"), &status.to_string()])
        .inc();
    metrics::HTTP_LATENCY
        .with_label_values(&[&format!("ws:{name}")])
        .observe(started.elapsed().as_secs_f64());
    Some(json!({ "requestId": request_id, "status": status, "body": body }).to_string())
}

/// A request frame: the `x_gs2` header's fields and the other fields as the call's params.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestFrame {
    pub request_id: Value,
    pub service: String,
    pub component: String,
    pub function: String,
    pub params: Map<String, Value>,
}

/// `None` when the frame is not a JSON object with an `x_gs2` header carrying a `requestId`.
pub fn decode_request_frame(text: &str) -> Option<RequestFrame> {
    let Ok(Value::Object(mut params)) = serde_json::from_str::<Value>(text) else {
        return None;
    };
    let header = params.remove("x_gs2")?;
    let request_id = header.get("requestId")?.clone();
    let field = |k: &str| {
        let v = header.get(k).and_then(Value::as_str).unwrap_or_default();
        v.to_string()
    };
    Some(RequestFrame {
        request_id,
        service: field("service"),
        component: field("component"),
        function: field("function"),
        params,
    })
}

fn build_req(
    app: &App,
    access: routes::Access,
    conn: &str,
    params: Map<String, Value>,
) -> Result<Req, ApiError> {
    let text = |k: &str| params.get(k).and_then(Value::as_str).map(str::to_string);
    let bearer = text("xGs2ProjectToken").map(|t| format!("Bearer {t}"));
    let access_token = text("xGs2AccessToken").or_else(|| text("accessToken"));
    let caller = authenticate(app, access, bearer.as_deref(), access_token.as_deref())?;
    Ok(Req {
        duplication_avoider: text("xGs2DuplicationAvoider").filter(|s| !s.is_empty()),
        params,
        caller,
        consistency: Consistency::ReadYourWrites,
        raw: None,
        connection: Some(conn.to_string()),
    })
}
