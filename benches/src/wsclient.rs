//! A lean GS2 WebSocket client for many connections, over [`testkit::ws::raw`]: connect
//! (optionally from a chosen loopback source address, so more than one ephemeral port range
//! is available), calls correlated by `requestId` while setting up, then a reader task that
//! hands every notification frame to a callback without parsing the whole JSON.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use testkit::ws::{frame, raw};

pub use testkit::ws::raw::read_notifications;
pub use testkit::ws::Closed;

pub type Ws = raw::Stream;

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
    let dial = raw::Dial {
        source: src,
        nodelay: true,
        timeout: Duration::from_secs(10),
        ..raw::Dial::default()
    };
    raw::dial(&format!("ws://{addr}/"), &dial).await
}

/// One GS2 call over the socket; frames other than the answer (notifications) are dropped.
pub async fn call(
    ws: &mut Ws,
    creds: &Creds,
    request_id: &str,
    function: (&str, &str, &str),
    params: Value,
) -> Result<(u16, Value)> {
    let frame = frame::request(
        function,
        request_id,
        params,
        &creds.client_id,
        Some(&creds.project_token),
    )?;
    raw::call(ws, request_id, frame, CALL_TIMEOUT).await
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
