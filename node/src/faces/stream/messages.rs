//! Messages: send (`POST /channels/{type}/{id}/message`) and get (`GET /messages/{id}`). The
//! id is the client's when it gives one (the UI kit's composer does): a send retried with the
//! same id is refused (code 4), never stored twice. Without one the node makes a UUID.

use axum::extract::{Path, State};
use axum::Json;
use proto::account::Custom;
use proto::channel::MessageInput;
use proto::command::{Command, Outcome};
use proto::stream::error::{StreamCode, StreamError};
use serde_json::{json, Value};

use super::auth::Caller;
use super::call::Call;
use super::channels::{check_channel_id, check_type};
use super::error::ApiError;
use super::users::check_user_id;
use super::{render, state, write, Stream};

/// Longest message text (Stream's default `max_message_length`).
pub const MAX_LENGTH: usize = 5000;
/// Longest message id.
const ID_MAX: usize = 255;

/// Keys of a message request that are not custom fields (the JS client's update sends back
/// the whole message as it holds it).
const KNOWN: &[&str] = &[
    "reaction_groups",
    "deleted_reply_count",
    "shadowed",
    "message_text_updated_at",
    "deleted_at",
    "thread_participants",
    "quoted_message",
    "mentioned_channel",
    "mentioned_here",
    "channel",
    "member",
    "error",
    "id",
    "text",
    "html",
    "type",
    "user",
    "user_id",
    "attachments",
    "mentioned_users",
    "parent_id",
    "show_in_channel",
    "quoted_message_id",
    "silent",
    "custom",
    "pinned",
    "pin_expires",
    "pinned_at",
    "restricted_visibility",
    "poll_id",
    "shared_location",
    "cid",
    "created_at",
    "updated_at",
    "mml",
    "command",
    "args",
    "i18n",
    "latest_reactions",
    "own_reactions",
    "reaction_counts",
    "reaction_scores",
    "reply_count",
    "status",
];

pub(super) fn text_field(
    obj: &serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<String>, StreamError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(StreamError::input_field(name, "must be a string")),
    }
}

/// Refuses a text over [`MAX_LENGTH`] (code 20).
pub(super) fn check_text(text: &str) -> Result<(), StreamError> {
    match text.chars().count() > MAX_LENGTH {
        true => Err(StreamError::new(
            StreamCode::MessageTooLong,
            format!("message text is longer than {MAX_LENGTH} characters"),
        )),
        false => Ok(()),
    }
}

/// The `attachments` of a message object, if given.
pub(super) fn attachments_of(
    obj: &serde_json::Map<String, Value>,
) -> Result<Option<Vec<Value>>, StreamError> {
    match obj.get("attachments") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a.clone())),
        Some(_) => Err(StreamError::input_field("attachments", "must be a list")),
    }
}

/// The `mentioned_users` of a message object (ids or user objects), if given.
pub(super) fn mentioned_of(
    obj: &serde_json::Map<String, Value>,
) -> Result<Option<Vec<String>>, StreamError> {
    match obj.get("mentioned_users") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|u| {
                u.as_str()
                    .or_else(|| u.get("id").and_then(Value::as_str))
                    .map(str::to_string)
            })
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| StreamError::input_field("mentioned_users", "must be user ids")),
        Some(_) => Err(StreamError::input_field(
            "mentioned_users",
            "must be a list",
        )),
    }
}

/// The custom fields of a message object: those under `custom` (v2) and the unknown keys (v1).
pub(super) fn custom_of(obj: &serde_json::Map<String, Value>) -> Custom {
    render::request_custom(obj, is_known)
}

/// Whether a key of a message object is a known field (not a custom one).
pub(super) fn is_known(key: &str) -> bool {
    KNOWN.contains(&key)
}

/// The message of a send request, its author decided by the caller.
fn message_input(call: &Call) -> Result<MessageInput, StreamError> {
    let obj = call
        .body
        .get("message")
        .and_then(Value::as_object)
        .ok_or_else(|| StreamError::input_field("message", "is required"))?;
    let named = text_field(obj, "user_id")?.or_else(|| {
        obj.get("user")
            .and_then(|u| u.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let user_id = match (&call.caller, named) {
        (Caller::User { id, .. }, Some(n)) if n != *id => {
            return Err(StreamError::not_allowed(format!(
                "user {id} may not post as {n}"
            )))
        }
        (Caller::User { id, .. }, _) => id.clone(),
        (Caller::Server, Some(n)) => n,
        (Caller::Server, None) => return Err(StreamError::input_field(
            "message.user",
            "either message.user or message.user_id must be provided when using server side auth",
        )),
        (Caller::Anonymous, _) => {
            return Err(StreamError::not_allowed(
                "anonymous users may not send messages",
            ))
        }
    };
    check_user_id(&user_id)?;
    let text = text_field(obj, "text")?.unwrap_or_default();
    check_text(&text)?;
    let id = match text_field(obj, "id")? {
        Some(id) if id.is_empty() || id.len() > ID_MAX || id.chars().any(char::is_whitespace) => {
            return Err(StreamError::input_field(
                "message.id",
                "must be 1-255 characters without spaces",
            ))
        }
        Some(id) => id,
        None => uuid::Uuid::new_v4().to_string(),
    };
    let attachments = attachments_of(obj)?.unwrap_or_default();
    let mentioned_users = mentioned_of(obj)?.unwrap_or_default();
    if text.is_empty() && attachments.is_empty() {
        return Err(StreamError::input("a message needs a text or attachments"));
    }
    let custom = custom_of(obj);
    Ok(MessageInput {
        id,
        user_id,
        text,
        attachments,
        mentioned_users,
        parent_id: text_field(obj, "parent_id")?,
        show_in_channel: obj
            .get("show_in_channel")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        quoted_message_id: text_field(obj, "quoted_message_id")?,
        silent: obj.get("silent").and_then(Value::as_bool).unwrap_or(false),
        custom,
    })
}

/// `POST /channels/{type}/{id}/message` (`channel.sendMessage`, `send_message`).
pub async fn send(
    State(s): State<Stream>,
    Path((ctype, id)): Path<(String, String)>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    check_type(&ctype)?;
    check_channel_id(&id)?;
    let message = message_input(&call)?;
    let require_member = matches!(call.caller, Caller::User { .. }) && ctype != "livestream";
    let cmd = Command::SendChannelMessage {
        ctype,
        id,
        message,
        require_member,
    };
    let Outcome::ChannelMessage(m) = write(&s, cmd).await? else {
        return Err(StreamError::internal("unexpected reply to a send").into());
    };
    let mut ids = vec![m.user_id.as_str()];
    ids.extend(m.mentioned_users.iter().map(String::as_str));
    let users = state::accounts(&s, ids)?;
    Ok(Json(render::ok(
        json!({ "message": state::message(&m, call.family, &users) }),
    )))
}

/// `GET /messages/{id}` (`getMessage`, `get_message`).
pub async fn get(
    State(s): State<Stream>,
    Path(id): Path<String>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    s.cluster
        .read_barrier(crate::raft::cluster::Consistency::ReadYourWrites)
        .await?;
    let found = match s.view.channel_message(&id)? {
        // A message of a deleted channel is gone with it.
        Some(m) if s.view.channel(&m.ctype, &m.channel_id)?.is_some() => Some(m),
        _ => None,
    };
    let Some(m) = found else {
        return Err(StreamError::not_found(format!("message {id} does not exist")).into());
    };
    if let Caller::User { id: user, .. } = &call.caller {
        if m.ctype != "livestream" && s.view.member(&m.ctype, &m.channel_id, user)?.is_none() {
            return Err(
                StreamError::not_allowed(format!("user {user} may not read this message")).into(),
            );
        }
    }
    let reactions = s.view.reactions(&m.id, None, state::REACTIONS_MAX)?;
    let mut ids = vec![m.user_id.as_str()];
    let ch = s.view.channel(&m.ctype, &m.channel_id)?;
    ids.extend(ch.as_ref().and_then(|c| c.created_by.as_deref()));
    ids.extend(reactions.iter().map(|r| r.user_id.as_str()));
    let users = state::accounts(&s, ids)?;
    // `MessageWithChannelResponse`: the message with its channel.
    let caller = call.caller.user_id();
    let mut message = state::message_full(&m, call.family, &users, &reactions, caller);
    if let Some(ch) = &ch {
        let caps = state::own_capabilities(true);
        message["channel"] = state::channel(ch, call.family, caps, &users);
    }
    Ok(Json(render::ok(json!({ "message": message }))))
}
