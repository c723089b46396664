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
//!
//! Layout: this file ([`WsClient`]), [`frame`] (building request frames, reading
//! notification frames), [`raw`] (the lean path for many sockets: dial, one call on an
//! owned socket, a text-only notification reader).

pub mod frame;
pub mod raw;

pub use frame::{Notification, PostPayload, CHAT_POST};
pub use raw::{Closed, Dial};

use anyhow::{anyhow, bail, Context, Result};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Overall time a call waits for its response, unless [`WsClient::with_call_timeout`].
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

type Sink = SplitSink<WebSocketStream<TcpStream>, Message>;
type Stream = SplitStream<WebSocketStream<TcpStream>>;

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
    call_timeout: Duration,
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
        let ws = raw::dial(
            url,
            &Dial {
                recv_buffer,
                ..Dial::default()
            },
        )
        .await?;
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
            call_timeout: CALL_TIMEOUT,
            reader,
        })
    }

    /// Same client with another overall time a call waits for its response.
    pub fn with_call_timeout(mut self, timeout: Duration) -> WsClient {
        self.call_timeout = timeout;
        self
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
        let timeout = self.call_timeout;
        let resp = match tokio::time::timeout(timeout, rx).await {
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
                bail!("no response within {timeout:?} to {}", describe(&frame));
            }
        };
        frame::response(&resp).map_err(|e| anyhow!("{e} for {}", describe(&frame)))
    }

    /// Session login over the socket (§7.2): `{"client_id","client_secret","x_gs2":{
    /// "service":"identifier","component":"projectToken","function":"login",…}}`.
    /// Keeps the returned project token for later frames.
    pub async fn login(&self, client_id: &str, client_secret: &str) -> Result<String> {
        let id = self.next_request_id();
        let frame = frame::login(client_id, client_secret, &id);
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
        let client_id = self.client_id.lock().expect("client id lock").clone();
        let token = self.project_token();
        let frame = frame::request(
            (service, component, function),
            &id,
            params,
            &client_id,
            token.as_deref(),
        )?;
        self.roundtrip(id, frame).await
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

    /// Player login over the socket (`auth` `accessToken.login`); returns the access token.
    pub async fn player_login(&self, user_id: &str) -> Result<String> {
        let (status, body) = self
            .call(
                "auth",
                "accessToken",
                "login",
                json!({"userId": user_id, "timeOffset": 0}),
            )
            .await?;
        if status != 200 {
            bail!("auth login of {user_id} over WebSocket -> {status} {body}");
        }
        body.get("token")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("auth login of {user_id}: no token in {body}"))
    }

    /// Sends a ping frame (the official SDK pings every 10 s).
    pub async fn ping(&self) -> Result<()> {
        self.sink
            .lock()
            .await
            .send(Message::Ping(Vec::new()))
            .await
            .with_context(|| format!("send ping on {}", self.url))
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
            Some(Ok(Message::Close(frame))) => break Closed::from_frame(frame),
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
        let request_id = frame::request_id(&frame);
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
