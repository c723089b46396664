//! GS2 WebSocket client for tests (protocol §7).
//!
//! Owns: one socket to `ws://<api addr>/`, the session login frame (§7.2), request
//! frames `{"x_gs2":{service,component,function,contentType,requestId},…params}`
//! correlated with their responses by `requestId` (a counter), and a queue of the
//! frames without `requestId` (notifications, §7.4), each stamped with its arrival
//! time. A reader task owns the receiving half; responses go to the waiting call
//! through a oneshot map. Reading can be paused (the socket is then left unread, so
//! the server's send queue for it fills up) and resumed.
//! Frames the official Python SDK would crash on (§7.3: non-JSON text, a JSON value
//! that is not an object, binary frames) are recorded in [`WsClient::bad_frames`].
//! Does not own: assertions about server semantics beyond the frame shape helpers of
//! [`Notification`].

use anyhow::{anyhow, bail, Context, Result};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Overall time a call waits for its response.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// `issuer` and `subject` of a chat post notification (§10).
pub const CHAT_POST: &str = "Gs2Chat:Post";

type Sink = SplitSink<WebSocketStream<TcpStream>, Message>;
type Stream = SplitStream<WebSocketStream<TcpStream>>;

/// How the socket ended, as seen by the reader task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    /// The server sent a close frame (`code` 1005 when it carried no payload).
    Frame { code: u16, reason: String },
    /// The stream ended without a close frame.
    Ended,
    /// A transport or protocol error (e.g. connection reset).
    Error(String),
}

/// A frame without `requestId`, with the instant the reader task received it.
#[derive(Debug, Clone)]
pub struct Notification {
    pub frame: Value,
    pub received_at: Instant,
}

impl Notification {
    /// `frame.body` (`Null` if absent).
    pub fn body(&self) -> &Value {
        self.frame.get("body").unwrap_or(&Value::Null)
    }
    pub fn issuer(&self) -> Option<&str> {
        self.body().get("issuer").and_then(Value::as_str)
    }
    pub fn subject(&self) -> Option<&str> {
        self.body().get("subject").and_then(Value::as_str)
    }
    /// `body.payload` (a string).
    pub fn payload(&self) -> Option<&str> {
        self.body().get("payload").and_then(Value::as_str)
    }
    pub fn is_chat_post(&self) -> bool {
        self.subject() == Some(CHAT_POST)
    }

    /// Checks the cross-SDK frame shape of a chat post notification (§7.4, §10):
    /// `{"type":"notification","body":{"issuer":"Gs2Chat:Post","subject":"Gs2Chat:Post",
    /// "payload":"<JSON text>"}}` without `requestId`, the payload an object with exactly
    /// `namespaceName`, `roomName`, `userId` (strings), `category`, `createdAt`
    /// (integers). Returns the parsed payload.
    pub fn check_post(&self) -> Result<Value, String> {
        let f = &self.frame;
        if f.get("type").and_then(Value::as_str) != Some("notification") {
            return Err(format!("frame lacks \"type\":\"notification\": {f}"));
        }
        if !f.get("requestId").is_none_or(Value::is_null) {
            return Err(format!("notification frame carries a requestId: {f}"));
        }
        if self.issuer() != Some(CHAT_POST) {
            return Err(format!("body.issuer is not {CHAT_POST:?}: {f}"));
        }
        if self.subject() != Some(CHAT_POST) {
            return Err(format!("body.subject is not {CHAT_POST:?}: {f}"));
        }
        let text = self
            .payload()
            .ok_or_else(|| format!("body.payload is not a string: {f}"))?;
        let p: Value = serde_json::from_str(text)
            .map_err(|e| format!("body.payload is not JSON ({e}): {f}"))?;
        let obj = p
            .as_object()
            .ok_or_else(|| format!("body.payload is not a JSON object: {f}"))?;
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        if keys
            != [
                "category",
                "createdAt",
                "namespaceName",
                "roomName",
                "userId",
            ]
        {
            return Err(format!(
                "payload keys {keys:?} != [namespaceName, roomName, userId, category, createdAt]: {f}"
            ));
        }
        for k in ["namespaceName", "roomName", "userId"] {
            if !obj[k].is_string() {
                return Err(format!("payload.{k} is not a string: {f}"));
            }
        }
        for k in ["category", "createdAt"] {
            if !obj[k].is_i64() {
                return Err(format!("payload.{k} is not an integer: {f}"));
            }
        }
        Ok(p)
    }

    /// [`Notification::check_post`], panicking with the frame on a mismatch.
    pub fn post_payload(&self) -> Value {
        self.check_post().unwrap_or_else(|e| panic!("{e}"))
    }
}

struct Shared {
    pending: Mutex<HashMap<String, oneshot::Sender<Value>>>,
    bad_frames: Mutex<Vec<String>>,
    unmatched: Mutex<Vec<Value>>,
}

/// One GS2 WebSocket connection.
pub struct WsClient {
    url: String,
    sink: tokio::sync::Mutex<Sink>,
    shared: Arc<Shared>,
    notifications: tokio::sync::Mutex<mpsc::UnboundedReceiver<Notification>>,
    closed: watch::Receiver<Option<Closed>>,
    paused: watch::Sender<bool>,
    next_id: AtomicU64,
    client_id: Mutex<String>,
    project_token: Mutex<Option<String>>,
    reader: JoinHandle<()>,
}

impl WsClient {
    /// Opens `url` (e.g. `ws://127.0.0.1:PORT/`).
    pub async fn connect(url: &str) -> Result<WsClient> {
        WsClient::connect_with(url, None).await
    }

    /// Opens `url` with the socket's receive buffer set to `recv_buffer` bytes before
    /// connecting (a small window makes a paused client back-pressure the server fast).
    pub async fn connect_with(url: &str, recv_buffer: Option<u32>) -> Result<WsClient> {
        let hostport = url
            .strip_prefix("ws://")
            .with_context(|| format!("not a ws:// URL: {url}"))?
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let addr = tokio::net::lookup_host(&hostport)
            .await
            .with_context(|| format!("resolve {hostport}"))?
            .next()
            .with_context(|| format!("no address for {hostport}"))?;
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .context("create TCP socket")?;
        if let Some(n) = recv_buffer {
            socket
                .set_recv_buffer_size(n)
                .context("set SO_RCVBUF on the WebSocket client socket")?;
        }
        let stream = tokio::time::timeout(Duration::from_secs(5), socket.connect(addr))
            .await
            .map_err(|_| anyhow!("TCP connect to {addr} timed out"))?
            .with_context(|| format!("TCP connect to {addr}"))?;
        let (ws, _resp) = tokio::time::timeout(
            Duration::from_secs(5),
            tokio_tungstenite::client_async(url, stream),
        )
        .await
        .map_err(|_| anyhow!("WebSocket handshake with {url} timed out"))?
        .with_context(|| format!("WebSocket handshake with {url}"))?;
        let (sink, stream) = ws.split();
        let shared = Arc::new(Shared {
            pending: Mutex::new(HashMap::new()),
            bad_frames: Mutex::new(Vec::new()),
            unmatched: Mutex::new(Vec::new()),
        });
        let (notif_tx, notif_rx) = mpsc::unbounded_channel();
        let (closed_tx, closed_rx) = watch::channel(None);
        let (paused_tx, paused_rx) = watch::channel(false);
        let reader = tokio::spawn(read_loop(
            stream,
            shared.clone(),
            notif_tx,
            closed_tx,
            paused_rx,
        ));
        Ok(WsClient {
            url: url.to_owned(),
            sink: tokio::sync::Mutex::new(sink),
            shared,
            notifications: tokio::sync::Mutex::new(notif_rx),
            closed: closed_rx,
            paused: paused_tx,
            next_id: AtomicU64::new(1),
            client_id: Mutex::new(String::new()),
            project_token: Mutex::new(None),
            reader,
        })
    }

    /// Connects and logs in with the project credentials (§7.2).
    pub async fn open(url: &str, client_id: &str, client_secret: &str) -> Result<WsClient> {
        let ws = WsClient::connect(url).await?;
        ws.login(client_id, client_secret).await?;
        Ok(ws)
    }

    pub fn url(&self) -> &str {
        &self.url
    }
    pub fn project_token(&self) -> Option<String> {
        self.project_token.lock().expect("token lock").clone()
    }

    fn next_request_id(&self) -> String {
        format!("req-{}", self.next_id.fetch_add(1, Ordering::SeqCst))
    }

    /// Sends any JSON frame as a text frame.
    pub async fn send_raw(&self, frame: &Value) -> Result<()> {
        self.sink
            .lock()
            .await
            .send(Message::Text(frame.to_string()))
            .await
            .with_context(|| format!("send frame on {}", self.url))
    }

    /// Sends `frame` (which must carry `x_gs2.requestId` = `id`) and waits for the
    /// response with that `requestId`. Returns `(status, body)`.
    async fn roundtrip(&self, id: String, frame: Value) -> Result<(u16, Value)> {
        let (tx, rx) = oneshot::channel();
        self.shared
            .pending
            .lock()
            .expect("pending lock")
            .insert(id.clone(), tx);
        if let Err(e) = self.send_raw(&frame).await {
            self.shared
                .pending
                .lock()
                .expect("pending lock")
                .remove(&id);
            return Err(e);
        }
        let resp = match tokio::time::timeout(CALL_TIMEOUT, rx).await {
            Ok(Ok(v)) => v,
            Ok(Err(_)) => bail!(
                "connection closed ({:?}) before the response to {}",
                self.closed_state(),
                describe(&frame)
            ),
            Err(_) => {
                self.shared
                    .pending
                    .lock()
                    .expect("pending lock")
                    .remove(&id);
                bail!(
                    "no response within {CALL_TIMEOUT:?} to {}",
                    describe(&frame)
                );
            }
        };
        let status = resp
            .get("status")
            .and_then(Value::as_u64)
            .with_context(|| {
                format!(
                    "response status is not an integer (the SDK needs one): {resp} for {}",
                    describe(&frame)
                )
            })?;
        Ok((
            status as u16,
            resp.get("body").cloned().unwrap_or(Value::Null),
        ))
    }

    /// Session login over the socket (§7.2): `{"client_id","client_secret","x_gs2":{
    /// "service":"identifier","component":"projectToken","function":"login",…}}`.
    /// Keeps the returned project token for later frames.
    pub async fn login(&self, client_id: &str, client_secret: &str) -> Result<String> {
        let id = self.next_request_id();
        let frame = json!({
            "client_id": client_id,
            "client_secret": client_secret,
            "x_gs2": {
                "service": "identifier",
                "component": "projectToken",
                "function": "login",
                "contentType": "application/json",
                "requestId": id,
            },
        });
        let (status, body) = self.roundtrip(id, frame).await?;
        if status != 200 {
            bail!("WebSocket project login -> {status}: {body}");
        }
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .with_context(|| format!("WebSocket project login: no access_token in {body}"))?
            .to_owned();
        *self.client_id.lock().expect("client id lock") = client_id.to_owned();
        *self.project_token.lock().expect("token lock") = Some(token.clone());
        Ok(token)
    }

    /// Calls `service.component.function` with the flattened `params` (an object),
    /// adding `xGs2ClientId`, `xGs2ProjectToken` and, when `params` has `accessToken`,
    /// `xGs2AccessToken` (as the SDK does). Returns `(status, body)`.
    pub async fn call(
        &self,
        service: &str,
        component: &str,
        function: &str,
        params: Value,
    ) -> Result<(u16, Value)> {
        let id = self.next_request_id();
        let mut frame = match params {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            other => bail!("call params must be a JSON object, got {other}"),
        };
        if let Some(at) = frame.get("accessToken").cloned() {
            frame.entry("xGs2AccessToken").or_insert(at);
        }
        frame.insert(
            "xGs2ClientId".into(),
            json!(self.client_id.lock().expect("client id lock").clone()),
        );
        if let Some(t) = self.project_token() {
            frame.insert("xGs2ProjectToken".into(), json!(t));
        }
        frame.insert(
            "x_gs2".into(),
            json!({
                "service": service,
                "component": component,
                "function": function,
                "contentType": "application/json",
                "requestId": id,
            }),
        );
        self.roundtrip(id, Value::Object(frame)).await
    }

    /// [`WsClient::call`] asserting status 200; returns the body.
    pub async fn call_ok(
        &self,
        service: &str,
        component: &str,
        function: &str,
        params: Value,
    ) -> Value {
        let what = format!("{service}.{component}.{function} {params} on {}", self.url);
        match self.call(service, component, function, params).await {
            Ok((200, body)) => body,
            Ok((status, body)) => panic!("{what}: expected 200, got {status} {body}"),
            Err(e) => panic!("{what}: {e:#}"),
        }
    }

    /// gateway `webSocketSession.setUserId` (§7.6) binding this connection to the user
    /// of `access_token` in gateway namespace `gw_ns`. Returns `(status, body)`.
    pub async fn set_user_id(
        &self,
        gw_ns: &str,
        access_token: &str,
        allow_concurrent: bool,
        force: bool,
    ) -> Result<(u16, Value)> {
        self.set_user_id_session(gw_ns, access_token, allow_concurrent, force, None)
            .await
    }

    /// [`WsClient::set_user_id`] with an optional `sessionId`.
    pub async fn set_user_id_session(
        &self,
        gw_ns: &str,
        access_token: &str,
        allow_concurrent: bool,
        force: bool,
        session_id: Option<&str>,
    ) -> Result<(u16, Value)> {
        let mut params = json!({
            "namespaceName": gw_ns,
            "accessToken": access_token,
            "allowConcurrentAccess": allow_concurrent,
            "force": force,
        });
        if let Some(s) = session_id {
            params["sessionId"] = json!(s);
        }
        self.call("gateway", "webSocketSession", "setUserId", params)
            .await
    }

    /// setUserId with `allowConcurrentAccess: true`, asserting 200; returns the
    /// WebSocketSession item (its `connectionId` identifies this socket).
    pub async fn bind(&self, gw_ns: &str, access_token: &str) -> Value {
        match self.set_user_id(gw_ns, access_token, true, false).await {
            Ok((200, body)) => match body.get("item") {
                Some(item) if item.is_object() => item.clone(),
                _ => panic!("setUserId on {}: 200 without an item: {body}", self.url),
            },
            Ok((status, body)) => panic!("setUserId on {}: {status} {body}", self.url),
            Err(e) => panic!("setUserId on {}: {e:#}", self.url),
        }
    }

    /// Next notification, or `None` after `timeout`.
    pub async fn next_notification(&self, timeout: Duration) -> Option<Notification> {
        let mut rx = self.notifications.lock().await;
        tokio::time::timeout(timeout, rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// Collects notifications until `n` arrived or `timeout` elapsed (returns what came).
    pub async fn notifications(&self, n: usize, timeout: Duration) -> Vec<Notification> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        let mut rx = self.notifications.lock().await;
        while out.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, rx.recv()).await {
                Ok(Some(n)) => out.push(n),
                _ => break,
            }
        }
        out
    }

    /// Every notification that arrives within `window` (a bounded wait used to check
    /// that nothing more comes).
    pub async fn notifications_during(&self, window: Duration) -> Vec<Notification> {
        self.notifications(usize::MAX, window).await
    }

    /// Notifications already queued, without waiting.
    pub async fn drain_notifications(&self) -> Vec<Notification> {
        let mut rx = self.notifications.lock().await;
        let mut out = Vec::new();
        while let Ok(n) = rx.try_recv() {
            out.push(n);
        }
        out
    }

    /// Stops reading the socket (frames pile up in the kernel buffers and then in the
    /// server's send queue).
    pub fn pause_reading(&self) {
        let _ = self.paused.send(true);
    }
    pub fn resume_reading(&self) {
        let _ = self.paused.send(false);
    }

    /// How the socket ended, if it did.
    pub fn closed_state(&self) -> Option<Closed> {
        self.closed.borrow().clone()
    }

    /// Waits until the socket ends (close frame, end of stream or error), at most
    /// `timeout`. Frames received meanwhile still go to the notification queue.
    pub async fn wait_closed(&self, timeout: Duration) -> Option<Closed> {
        let mut rx = self.closed.clone();
        let r = tokio::time::timeout(timeout, rx.wait_for(Option::is_some)).await;
        match r {
            Ok(Ok(v)) => v.clone(),
            // The reader task is gone; whatever it recorded is final.
            Ok(Err(_)) => self.closed_state(),
            Err(_) => None,
        }
    }

    /// Sends a close frame (best effort).
    pub async fn close(&self) {
        let _ = self.sink.lock().await.send(Message::Close(None)).await;
    }

    /// Frames the official Python SDK would crash on (§7.3), as received.
    pub fn bad_frames(&self) -> Vec<String> {
        self.shared
            .bad_frames
            .lock()
            .expect("bad frames lock")
            .clone()
    }

    /// Responses whose `requestId` matched no pending call.
    pub fn unmatched_responses(&self) -> Vec<Value> {
        self.shared
            .unmatched
            .lock()
            .expect("unmatched lock")
            .clone()
    }
}

impl Drop for WsClient {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

fn describe(frame: &Value) -> String {
    let mut s = frame.to_string();
    if s.len() > 600 {
        let mut end = 600;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

async fn read_loop(
    mut stream: Stream,
    shared: Arc<Shared>,
    notif_tx: mpsc::UnboundedSender<Notification>,
    closed_tx: watch::Sender<Option<Closed>>,
    mut paused: watch::Receiver<bool>,
) {
    let end = loop {
        if *paused.borrow_and_update() {
            if paused.changed().await.is_err() {
                break Closed::Error("client dropped".into());
            }
            continue;
        }
        let msg = tokio::select! {
            m = stream.next() => m,
            changed = paused.changed() => {
                if changed.is_err() {
                    break Closed::Error("client dropped".into());
                }
                continue;
            }
        };
        let text = match msg {
            None => break Closed::Ended,
            Some(Err(e)) => break Closed::Error(e.to_string()),
            Some(Ok(Message::Close(frame))) => {
                break match frame {
                    Some(f) => Closed::Frame {
                        code: u16::from(f.code),
                        reason: f.reason.into_owned(),
                    },
                    None => Closed::Frame {
                        code: 1005,
                        reason: String::new(),
                    },
                }
            }
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Binary(b))) => {
                shared
                    .bad_frames
                    .lock()
                    .expect("bad frames lock")
                    .push(format!("binary frame of {} bytes", b.len()));
                continue;
            }
            Some(Ok(_)) => continue, // ping / pong / raw frame
        };
        let received_at = Instant::now();
        let frame: Value = match serde_json::from_str(&text) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) | Err(_) => {
                shared
                    .bad_frames
                    .lock()
                    .expect("bad frames lock")
                    .push(text);
                continue;
            }
        };
        let request_id = match frame.get("requestId") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        };
        match request_id {
            Some(id) => {
                let waiter = shared.pending.lock().expect("pending lock").remove(&id);
                match waiter {
                    Some(tx) => {
                        let _ = tx.send(frame);
                    }
                    None => shared.unmatched.lock().expect("unmatched lock").push(frame),
                }
            }
            None => {
                let _ = notif_tx.send(Notification { frame, received_at });
            }
        }
    };
    // Dropping the pending senders fails every waiting call.
    shared.pending.lock().expect("pending lock").clear();
    let _ = closed_tx.send(Some(end));
}
