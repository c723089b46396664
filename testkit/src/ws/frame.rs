//! GS2 WebSocket frames (protocol §7): building request and session-login frames, and
//! the notification frames a client receives (§7.4, §10).
//! Does not own: sockets (see [`super::WsClient`] and [`super::raw`]).

use crate::gs2::json_in_string;
use anyhow::{bail, Result};
use serde_json::{json, Map, Value};
use std::time::Instant;

/// `issuer` and `subject` of a chat post notification (§10).
pub const CHAT_POST: &str = "Gs2Chat:Post";

/// The `x_gs2` header of a frame.
fn header(service: &str, component: &str, function: &str, request_id: &str) -> Value {
    json!({
        "service": service,
        "component": component,
        "function": function,
        "contentType": "application/json",
        "requestId": request_id,
    })
}

/// The session login frame (§7.2): `{"client_id","client_secret","x_gs2":{"service":
/// "identifier","component":"projectToken","function":"login",…}}`.
pub fn login(client_id: &str, client_secret: &str, request_id: &str) -> Value {
    json!({
        "client_id": client_id,
        "client_secret": client_secret,
        "x_gs2": header("identifier", "projectToken", "login", request_id),
    })
}

/// A request frame for `service.component.function` with the flattened `params` (an
/// object, or `null` for none), adding `xGs2ClientId`, `xGs2ProjectToken` (when given)
/// and, when `params` has `accessToken`, `xGs2AccessToken` (as the SDK does).
pub fn request(
    (service, component, function): (&str, &str, &str),
    request_id: &str,
    params: Value,
    client_id: &str,
    project_token: Option<&str>,
) -> Result<Value> {
    let mut frame = match params {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        other => bail!("call params must be a JSON object, got {other}"),
    };
    if let Some(at) = frame.get("accessToken").cloned() {
        frame.entry("xGs2AccessToken").or_insert(at);
    }
    frame.insert("xGs2ClientId".into(), json!(client_id));
    if let Some(t) = project_token {
        frame.insert("xGs2ProjectToken".into(), json!(t));
    }
    frame.insert(
        "x_gs2".into(),
        header(service, component, function, request_id),
    );
    Ok(Value::Object(frame))
}

/// A response frame's `(status, body)`; the status must be an integer (the SDK needs one).
pub fn response(frame: &Value) -> Result<(u16, Value), String> {
    let status = frame
        .get("status")
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("response status is not an integer (the SDK needs one): {frame}"))?;
    Ok((
        status as u16,
        frame.get("body").cloned().unwrap_or(Value::Null),
    ))
}

/// The `requestId` of a frame as a string (`None` for a notification).
pub fn request_id(frame: &Value) -> Option<String> {
    match frame.get("requestId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    }
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
        let p = json_in_string(self.body().get("payload"), "body.payload", f)?;
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

/// The fields of a chat post notification's payload (§10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostPayload {
    pub namespace: String,
    pub room: String,
    pub user_id: String,
    pub category: i64,
    pub created_at: i64,
}

impl Notification {
    /// [`Notification::check_post`] as typed fields.
    pub fn post(&self) -> Result<PostPayload, String> {
        let p = self.check_post()?;
        let s = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
        let i = |k: &str| p[k].as_i64().unwrap_or_default();
        Ok(PostPayload {
            namespace: s("namespaceName"),
            room: s("roomName"),
            user_id: s("userId"),
            category: i("category"),
            created_at: i("createdAt"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_frame_carries_credentials_and_header() {
        let f = request(
            ("chat", "room", "get"),
            "req-3",
            json!({"accessToken": "at", "roomName": "r"}),
            "cid",
            Some("pt"),
        )
        .unwrap();
        assert_eq!(f["xGs2AccessToken"], "at");
        assert_eq!(f["xGs2ClientId"], "cid");
        assert_eq!(f["xGs2ProjectToken"], "pt");
        assert_eq!(f["x_gs2"]["function"], "get");
        assert_eq!(f["x_gs2"]["requestId"], "req-3");
        assert!(request(("a", "b", "c"), "r", json!([1]), "cid", None).is_err());
    }

    #[test]
    fn post_notification_fields() {
        let frame: Value = serde_json::from_str(r#"{"type":"notification","body":{"issuer":"Gs2Chat:Post","subject":"Gs2Chat:Post","payload":"{\"namespaceName\":\"ns\",\"roomName\":\"r-1\",\"userId\":\"p-7\",\"category\":2,\"createdAt\":1717000000000}"}}"#).unwrap();
        let n = Notification {
            frame,
            received_at: Instant::now(),
        };
        let p = n.post().unwrap();
        assert_eq!((p.room.as_str(), p.user_id.as_str()), ("r-1", "p-7"));
        assert_eq!((p.category, p.created_at), (2, 1717000000000));
        let bad = Notification {
            frame: json!({"type":"notification","body":{"issuer":"x"}}),
            received_at: Instant::now(),
        };
        assert!(bad.post().is_err());
        assert_eq!(request_id(&json!({"requestId": 7})).as_deref(), Some("7"));
        assert_eq!(
            response(&json!({"status": 200, "body": 1})),
            Ok((200, json!(1)))
        );
    }
}
