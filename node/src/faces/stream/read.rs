//! Read state and client events of a channel: mark read (`POST /channels/{type}/{id}/read`,
//! watchers get `message.read`) and send event (`POST /channels/{type}/{id}/event`: typing and
//! custom events, relayed to the channel's sockets in log order).

use axum::extract::{Path, State};
use axum::Json;
use proto::command::{Command, Outcome};
use proto::stream::error::StreamError;
use proto::stream::time;
use serde_json::{json, Value};

use super::auth::Caller;
use super::call::Call;
use super::channels::{check_channel_id, check_type};
use super::error::ApiError;
use super::{render, state, write, Stream};

/// Client event types a channel relays (Stream's built-ins; custom ones need another type).
const BUILT_IN: &[&str] = &[
    "typing.start",
    "typing.stop",
    "message.read",
    "ai_indicator.update",
    "ai_indicator.stop",
    "ai_indicator.clear",
];

/// The user a channel call acts for: the token's, or for a server token the one named.
fn acting(call: &Call) -> Result<String, StreamError> {
    match call.acting_user()? {
        Some(u) => Ok(u),
        None if matches!(call.caller, Caller::Server) => Err(StreamError::input_field(
            "user_id",
            "is required when using server side auth",
        )),
        None => Err(StreamError::not_allowed("anonymous users may not do this")),
    }
}

/// `POST /channels/{type}/{id}/read` (`channel.markRead`, `mark_read`).
pub async fn mark_read(
    State(s): State<Stream>,
    Path((ctype, id)): Path<(String, String)>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    check_type(&ctype)?;
    check_channel_id(&id)?;
    let user_id = acting(&call)?;
    let message_id = call
        .body
        .get("message_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let cmd = Command::MarkRead {
        ctype: ctype.clone(),
        id: id.clone(),
        user_id: user_id.clone(),
        message_id,
    };
    let Outcome::Read(r) = write(&s, cmd).await? else {
        return Err(StreamError::internal("unexpected reply to a mark read").into());
    };
    let users = state::accounts(&s, [user_id.as_str()])?;
    let user = render::user_or_id(&users, &user_id, call.family);
    let mut event = json!({
        "type": "message.read",
        "cid": proto::channel::cid(&ctype, &id),
        "channel_id": id,
        "channel_type": ctype,
        "user": user,
        "created_at": time::render(r.last_read, call.family),
    });
    if let Some(m) = r.last_read_message_id {
        event["last_read_message_id"] = json!(m);
    }
    Ok(Json(render::ok(json!({ "event": event }))))
}

/// `POST /channels/{type}/{id}/event` (`channel.sendEvent`, `keystroke`, `send_event`).
pub async fn send_event(
    State(s): State<Stream>,
    Path((ctype, id)): Path<(String, String)>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    check_type(&ctype)?;
    check_channel_id(&id)?;
    let mut event = call
        .body
        .get("event")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| StreamError::input_field("event", "is required"))?;
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| StreamError::input_field("event.type", "is required"))?
        .to_string();
    if !BUILT_IN.contains(&kind.as_str()) && !kind.contains('.') && kind.len() > 64 {
        return Err(StreamError::input_field("event.type", "is not a valid event type").into());
    }
    let named = event
        .get("user_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let user_id = match (&call.caller, named) {
        (Caller::User { id, .. }, Some(n)) if n != *id => {
            return Err(
                StreamError::not_allowed(format!("user {id} may not send events as {n}")).into(),
            )
        }
        (Caller::User { id, .. }, _) => id.clone(),
        (_, Some(n)) => n,
        (_, None) => acting(&call)?,
    };
    if let Caller::User { id: u, .. } = &call.caller {
        if s.view.member(&ctype, &id, u)?.is_none() && ctype != "livestream" {
            return Err(StreamError::not_allowed(format!(
                "user {u} may not send events to this channel"
            ))
            .into());
        }
    }
    event.remove("user");
    event.insert("user_id".into(), json!(user_id));
    let cmd = Command::SendChannelEvent {
        ctype: ctype.clone(),
        id: id.clone(),
        user_id: user_id.clone(),
        event: Value::Object(event.clone()).to_string(),
    };
    write(&s, cmd).await?;
    let users = state::accounts(&s, [user_id.as_str()])?;
    let mut out = Value::Object(event);
    out["cid"] = json!(proto::channel::cid(&ctype, &id));
    out["channel_id"] = json!(id);
    out["channel_type"] = json!(ctype);
    out["user"] = render::user_or_id(&users, &user_id, call.family);
    // v2 events carry their custom fields under `custom`, a required key of `WSEvent`.
    if call.family == time::Family::V2 && !out.get("custom").is_some_and(Value::is_object) {
        out["custom"] = json!({});
    }
    out["created_at"] = time::render(time::from_millis(crate::clock::now_ms()), call.family);
    Ok(Json(render::ok(json!({ "event": out }))))
}

/// Most channels an unread count reads.
const UNREAD_CHANNELS_MAX: usize = 1000;
/// Unread messages counted per channel at most.
const UNREAD_PER_CHANNEL_MAX: usize = 1000;

/// `GET /unread` (`getUnreadCount`, `unread_counts`): the user's unread messages per channel
/// and per channel type, and their total.
pub async fn unread_counts(State(s): State<Stream>, call: Call) -> Result<Json<Value>, ApiError> {
    let user = acting(&call)?;
    super::barrier(&s).await?;
    let counts = unread_of(&s, &user)?;
    let mut channels = Vec::new();
    let mut by_type: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    for c in &counts {
        let entry = by_type.entry(c.ctype.clone()).or_default();
        entry.0 += 1;
        entry.1 += c.unread;
        channels.push(json!({
            "channel_id": proto::channel::cid(&c.ctype, &c.id),
            "unread_count": c.unread,
            "last_read": time::render(c.last_read, call.family),
        }));
    }
    let total: u64 = counts.iter().map(|c| c.unread).sum();
    let channel_type: Vec<Value> = by_type
        .into_iter()
        .map(|(t, (count, unread))| {
            json!({ "channel_type": t, "channel_count": count, "unread_count": unread })
        })
        .collect();
    Ok(Json(render::ok(json!({
        "total_unread_count": total,
        "total_unread_threads_count": 0,
        "channels": channels,
        "channel_type": channel_type,
        "threads": [],
    }))))
}

/// One channel's unread count for a member.
pub struct ChannelUnread {
    pub ctype: String,
    pub id: String,
    pub unread: u64,
    pub last_read: i64,
}

/// The unread counts of every channel `user` is a member of (from this replica).
pub fn unread_of(s: &Stream, user: &str) -> Result<Vec<ChannelUnread>, ApiError> {
    let mut out = Vec::new();
    for (ctype, id) in s.view.channels_of_member(user, UNREAD_CHANNELS_MAX)? {
        let Some(ch) = s.view.channel(&ctype, &id)? else {
            continue;
        };
        let Some(member) = s.view.member(&ctype, &id, user)? else {
            continue;
        };
        let read = s.view.read_state(&ctype, &id, user)?;
        let last_read = read.as_ref().map_or(member.created_at, |r| r.last_read);
        let from = last_read.max(ch.truncated_at.unwrap_or(0));
        let unread =
            s.view
                .unread_count(&ctype, &id, user, from, UNREAD_PER_CHANNEL_MAX)? as u64;
        out.push(ChannelUnread {
            ctype,
            id,
            unread,
            last_read,
        });
    }
    Ok(out)
}
