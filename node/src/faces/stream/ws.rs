//! The Stream WebSocket, `GET /connect` (`stream-protocol.md` §5): the query carries `json`
//! (`user_id`, `user_details`), `api_key`, `authorization` (the user JWT) and
//! `stream-auth-type`. The first frame is the handshake: a `health.check` naming the
//! connection and the connected user (`me`), or `{"error": …}` followed by a close with code
//! 1000 (a deliberate rejection: the JS client does not retry at once). The client pings with a
//! JSON array every 25 s; each ping is answered with a `health.check`.
//!
//! Connecting creates the user if it does not exist yet and updates its name, image and
//! custom fields from `user_details` (never its role), as Stream does. The socket itself
//! (queues, writer, close frames, idle timeout) is the gateway's pump; the connection is bound
//! to the user in the registry under [`REGISTRY_NAMESPACE`].

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::response::Response;
use proto::account::{AccountInput, AccountPatch, AccountRecord, Custom};
use proto::command::{Command, Outcome};
use proto::stream::error::StreamError;
use proto::stream::time::{self, Family};
use serde_json::{json, Value};

use super::auth::Caller;
use super::call::{check_token_account, parse_query};
use super::error::ApiError;
use super::users::{account_input, check_user_id};
use super::{presence, render, write, Stream};
use crate::clock::now_ms;
use crate::gateway::ws::{pump_greeting, MAX_FRAME};

/// The registry namespace of Stream connections (not a valid GS2 name, so never shared).
pub const REGISTRY_NAMESPACE: &str = "~stream";

pub async fn upgrade(
    State(s): State<Stream>,
    RawQuery(query): RawQuery,
    ws: WebSocketUpgrade,
) -> Response {
    let accepted = accept(&s, query.as_deref()).await;
    ws.max_message_size(MAX_FRAME)
        .on_upgrade(move |socket| async move {
            match accepted {
                Ok(me) => serve(s, socket, me).await,
                Err(e) => reject(socket, e.0).await,
            }
        })
}

/// Checks the connect parameters and makes sure the user exists; the user as stored.
async fn accept(s: &Stream, query: Option<&str>) -> Result<AccountRecord, ApiError> {
    let q = parse_query(query)?;
    s.keys.check_api_key(q.get("api_key").map(String::as_str))?;
    let json: Value = serde_json::from_str(q.get("json").map_or("", String::as_str))
        .map_err(|_| StreamError::input("the json query parameter must be a JSON object"))?;
    let user_id = json
        .get("user_id")
        .and_then(Value::as_str)
        .ok_or_else(|| StreamError::input_field("user_id", "is required"))?
        .to_string();
    let caller = s.keys.caller(
        q.get("stream-auth-type").map(String::as_str),
        q.get("authorization").map(String::as_str),
        now_ms() / 1000,
    )?;
    match &caller {
        Caller::User { id, .. } if *id == user_id => {}
        Caller::User { id, .. } => {
            return Err(StreamError::auth(
                proto::stream::error::StreamCode::TokenSignatureInvalid,
                format!("the token is for user {id}, not {user_id}"),
            )
            .into())
        }
        Caller::Anonymous => check_user_id(&user_id)?,
        Caller::Server => {
            return Err(StreamError::input("a WebSocket connects as a user, not the server").into())
        }
    }
    check_token_account(s, &caller)?;
    let details = json
        .get("user_details")
        .cloned()
        .unwrap_or(json!({ "id": user_id }));
    let mut input = account_input(&details)?;
    if input.id != user_id {
        return Err(StreamError::input("user_details.id must be the user_id").into());
    }
    input.role = matches!(caller, Caller::Anonymous).then(|| "anonymous".to_string());
    ensure_account(s, input).await
}

/// Creates the account, or updates the fields `user_details` gives when they differ.
async fn ensure_account(s: &Stream, input: AccountInput) -> Result<AccountRecord, ApiError> {
    let existing = s.view.account(&input.id)?;
    let cmd = match &existing {
        None => Command::UpsertAccounts {
            accounts: vec![input],
        },
        Some(old) => {
            let mut set = Custom::new();
            for (name, new, now) in [
                ("name", &input.name, &old.name),
                ("image", &input.image, &old.image),
                ("language", &input.language, &old.language),
            ] {
                if new.is_some() && new != now {
                    set.insert(name.into(), json!(new));
                }
            }
            for (k, v) in &input.custom {
                if old.custom.get(k) != Some(v) {
                    set.insert(k.clone(), v.clone());
                }
            }
            if set.is_empty() {
                return Ok(old.clone());
            }
            Command::PatchAccounts {
                patches: vec![AccountPatch {
                    id: input.id.clone(),
                    set,
                    unset: vec![],
                }],
            }
        }
    };
    match write(s, cmd).await? {
        Outcome::Accounts(mut list) if !list.is_empty() => Ok(list.remove(0)),
        _ => Err(StreamError::internal("unexpected reply to the connect upsert").into()),
    }
}

/// A `health.check` event for this connection, with the user on the first one.
fn health_check(connection_id: &str, me: Option<(&AccountRecord, (u64, u64))>) -> String {
    let mut event = json!({
        "type": "health.check",
        "connection_id": connection_id,
        "cid": "*",
        "created_at": time::rfc3339(time::from_millis(now_ms())),
    });
    if let Some((me, (total, channels))) = me {
        event["me"] = render::own_user(me, Family::V1, true);
        event["me"]["total_unread_count"] = json!(total);
        event["me"]["unread_count"] = json!(total);
        event["me"]["unread_channels"] = json!(channels);
    }
    event.to_string()
}

async fn serve(s: Stream, socket: WebSocket, me: AccountRecord) {
    let gateway = s.gateway.clone();
    let registry = gateway.registry.clone();
    let user = me.id.clone();
    // The user's first socket in the cluster: record it online (the bind below happens as the
    // pump starts, before the log entry can be applied).
    if !presence::online(&s, vec![user.clone()])
        .await
        .contains(&user)
    {
        let (s, user) = (s.clone(), user.clone());
        tokio::spawn(async move { presence::record(&s, &user, true).await });
    }
    let bound_user = user.clone();
    // Unread messages and channels for the handshake's `me` (the JS client's badges).
    let unread = match super::read::unread_of(&s, &user) {
        Ok(list) => (
            list.iter().map(|c| c.unread).sum(),
            list.iter().filter(|c| c.unread > 0).count() as u64,
        ),
        Err(_) => (0, 0),
    };
    pump_greeting(
        &gateway,
        socket,
        move |conn| {
            registry.bind(conn, REGISTRY_NAMESPACE, &bound_user, None, now_ms());
            Some(health_check(conn, Some((&me, unread))))
        },
        move |conn, text| async move { answer(&conn, &text) },
    )
    .await;
    presence::maybe_offline(&s, &user).await;
}

/// The answer to a client frame: a `health.check` for a ping (a JSON array of health checks);
/// nothing for anything else.
fn answer(conn: &str, text: &str) -> Option<String> {
    let frame: Value = serde_json::from_str(text).ok()?;
    let is_ping = frame.as_array().is_some_and(|a| {
        a.iter()
            .any(|e| e.get("type") == Some(&json!("health.check")))
    });
    is_ping.then(|| health_check(conn, None))
}

/// Sends the error frame of a refused connect and closes with 1000.
async fn reject(mut socket: WebSocket, e: StreamError) {
    let frame = json!({ "error": e.body("0.00ms") }).to_string();
    let _ = socket.send(Message::Text(frame.into())).await;
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: 1000,
            reason: e.message.chars().take(100).collect::<String>().into(),
        })))
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_get_a_health_check_and_other_frames_nothing() {
        let reply = answer("c1", r#"[{"type":"health.check","client_id":"a--1"}]"#).unwrap();
        let v: Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(v["type"], "health.check");
        assert_eq!(v["connection_id"], "c1");
        assert!(v.get("me").is_none());
        assert!(answer("c1", r#"{"type":"typing.start"}"#).is_none());
        assert!(answer("c1", "not json").is_none());
    }
}
