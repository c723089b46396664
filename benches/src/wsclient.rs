//! A lean GS2 WebSocket client for many connections: connect (optionally from a chosen
//! loopback source address, so more than one ephemeral port range is available), calls
//! correlated by `requestId` while setting up, then a reader task that hands every
//! notification frame to a callback without parsing the whole JSON.

use anyhow::{anyhow, bail, Context, Result};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub type Ws = WebSocketStream<TcpStream>;

const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Project credentials sent in every frame (`xGs2ClientId`, `xGs2ProjectToken`), as the SDK
/// does with a `ProjectTokenGs2Credential` (no login frame per socket).
#[derive(Clone)]
pub struct Creds {
    pub client_id: String,
    pub project_token: String,
}

/// Source address number `i` of a small pool of loopback addresses (127.0.0.1..=127.0.0.8).
pub fn source_ip(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (i % 8) as u8))
}

/// Opens `ws://addr/`, from `src` when given.
pub async fn connect(addr: SocketAddr, src: Option<IpAddr>) -> Result<Ws> {
    let socket = TcpSocket::new_v4().context("socket")?;
    if let Some(ip) = src {
        socket
            .bind(SocketAddr::new(ip, 0))
            .with_context(|| format!("bind {ip}"))?;
    }
    let stream = tokio::time::timeout(Duration::from_secs(10), socket.connect(addr))
        .await
        .map_err(|_| anyhow!("TCP connect to {addr} timed out"))?
        .with_context(|| format!("TCP connect to {addr}"))?;
    stream.set_nodelay(true).ok();
    let url = format!("ws://{addr}/");
    let (ws, _) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::client_async(url.as_str(), stream),
    )
    .await
    .map_err(|_| anyhow!("WebSocket handshake with {addr} timed out"))?
    .with_context(|| format!("WebSocket handshake with {addr}"))?;
    Ok(ws)
}

/// One GS2 call over the socket; frames other than the answer (notifications) are dropped.
pub async fn call(
    ws: &mut Ws,
    creds: &Creds,
    request_id: &str,
    (service, component, function): (&str, &str, &str),
    params: Value,
) -> Result<(u16, Value)> {
    let mut frame = match params {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    if let Some(at) = frame.get("accessToken").cloned() {
        frame.insert("xGs2AccessToken".into(), at);
    }
    frame.insert("xGs2ClientId".into(), json!(creds.client_id));
    frame.insert("xGs2ProjectToken".into(), json!(creds.project_token));
    frame.insert(
        "x_gs2".into(),
        json!({"service": service, "component": component, "function": function,
               "contentType": "application/json", "requestId": request_id}),
    );
    ws.send(Message::Text(Value::Object(frame).to_string()))
        .await
        .context("send frame")?;
    let deadline = tokio::time::Instant::now() + CALL_TIMEOUT;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| anyhow!("no answer to {service}.{component}.{function}"))?;
        let text = match msg {
            None => bail!("socket closed before the answer"),
            Some(Err(e)) => bail!("socket error: {e}"),
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(f))) => bail!("socket closed: {f:?}"),
            Some(Ok(_)) => continue,
        };
        if !text.contains(request_id) {
            continue;
        }
        let v: Value = serde_json::from_str(&text).context("answer is not JSON")?;
        if v["requestId"].as_str() == Some(request_id) {
            let status = v["status"].as_u64().unwrap_or(0) as u16;
            return Ok((status, v["body"].clone()));
        }
    }
}

/// Logs `user` in over the socket (`auth.accessToken.login`) and binds the socket to it in
/// gateway namespace `gw` (`gateway.webSocketSession.setUserId`, concurrent access allowed).
pub async fn bind_session(ws: &mut Ws, creds: &Creds, gw: &str, user: &str) -> Result<()> {
    let (s, body) = call(
        ws,
        creds,
        "r1",
        ("auth", "accessToken", "login"),
        json!({"userId": user, "timeOffset": 0}),
    )
    .await?;
    if s != 200 {
        bail!("auth login of {user} over WebSocket -> {s}: {body}");
    }
    let token = body["token"]
        .as_str()
        .with_context(|| format!("no token in {body}"))?
        .to_owned();
    let (s, body) = call(
        ws,
        creds,
        "r2",
        ("gateway", "webSocketSession", "setUserId"),
        json!({"namespaceName": gw, "accessToken": token, "allowConcurrentAccess": true}),
    )
    .await?;
    if s != 200 {
        bail!("setUserId of {user} -> {s}: {body}");
    }
    Ok(())
}

/// Connects from source address `i % 8` and binds a session for `user`.
pub async fn open_session(
    addr: SocketAddr,
    i: usize,
    creds: &Creds,
    gw: &str,
    user: &str,
) -> Result<Ws> {
    let mut ws = connect(addr, Some(source_ip(i))).await?;
    bind_session(&mut ws, creds, gw, user).await?;
    Ok(ws)
}

/// How a reader ended.
#[derive(Debug, Clone)]
pub enum End {
    /// Stopped by the generator.
    Stopped,
    /// The server closed the socket (close code, reason).
    Closed(u16, String),
    Error(String),
}

/// Reads `ws` until `stop` fires, calling `on_notification(frame_text, arrival)` for every
/// frame that is a notification (no `requestId`).
pub async fn read_notifications(
    mut ws: Ws,
    mut stop: tokio::sync::watch::Receiver<bool>,
    mut on_notification: impl FnMut(&str, Instant) + Send,
) -> End {
    loop {
        let msg = tokio::select! {
            m = ws.next() => m,
            _ = stop.changed() => return End::Stopped,
        };
        match msg {
            None => return End::Closed(1006, "stream ended".into()),
            Some(Err(e)) => return End::Error(e.to_string()),
            Some(Ok(Message::Text(t))) => {
                let now = Instant::now();
                if t.contains("\"notification\"") {
                    on_notification(&t, now);
                }
            }
            Some(Ok(Message::Close(f))) => {
                return match f {
                    Some(f) => End::Closed(u16::from(f.code), f.reason.into_owned()),
                    None => End::Closed(1005, String::new()),
                }
            }
            Some(Ok(_)) => {}
        }
    }
}

/// The poster's `userId` inside a chat post notification frame, found without parsing the
/// frame (the payload is a JSON string inside the frame, so its quotes are escaped).
pub fn poster_of(frame: &str) -> Option<&str> {
    let at = frame.find("userId")? + "userId".len();
    let rest = &frame[at..];
    let start = rest.find(|c: char| c.is_ascii_alphanumeric())?;
    let rest = &rest[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poster_is_found_in_escaped_payload() {
        let f = r#"{"type":"notification","body":{"issuer":"Gs2Chat:Post","subject":"Gs2Chat:Post","payload":"{\"namespaceName\":\"ns\",\"roomName\":\"room-1\",\"userId\":\"e-42\",\"category\":0,\"createdAt\":1}"}}"#;
        assert_eq!(poster_of(f), Some("e-42"));
        assert_eq!(poster_of("{}"), None);
    }
}
