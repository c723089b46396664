//! Changes to a message after its send, and its thread: update (`POST /messages/{id}`, a full
//! replace of text, attachments and custom fields), partial update (`PUT /messages/{id}`,
//! `set`/`unset`), delete (`DELETE /messages/{id}`, soft unless `hard=true`), undelete
//! (`POST /messages/{id}/undelete`, server only) and the replies of a thread
//! (`GET /messages/{parent_id}/replies`). Only the author (user token) or the server edits or
//! deletes; watchers get `message.updated`, `message.deleted`, `message.undeleted`.

use axum::extract::{Path, State};
use axum::Json;
use proto::channel::{ChannelMessageRecord, MessageEdit};
use proto::command::{Command, Outcome};
use proto::stream::error::StreamError;
use serde_json::{json, Map, Value};

use super::auth::Caller;
use super::call::Call;
use super::error::ApiError;
use super::messages::{attachments_of, check_text, custom_of, is_known, mentioned_of, text_field};
use super::{barrier, render, state, write, Stream};
use crate::storage::view::ReplyPage;

/// Replies a page holds unless `limit` says otherwise, and at most.
const REPLIES_DEFAULT: usize = 10;
const REPLIES_MAX: usize = 300;

/// The user an edit acts as: a user token's own (who must be the author, checked in apply);
/// `None` for the server, who may change any message.
fn editor(call: &Call, named: Option<&str>) -> Result<Option<String>, StreamError> {
    match (&call.caller, named) {
        (Caller::User { id, .. }, Some(n)) if n != id => Err(StreamError::not_allowed(format!(
            "user {id} may not act for user {n}"
        ))),
        (Caller::User { id, .. }, _) => Ok(Some(id.clone())),
        (Caller::Server, _) => Ok(None),
        (Caller::Anonymous, _) => Err(StreamError::not_allowed(
            "anonymous users may not change messages",
        )),
    }
}

/// The user named by a message object or a request body (`user_id` or `user.id`).
fn named(obj: &Map<String, Value>) -> Option<&str> {
    obj.get("user_id").and_then(Value::as_str).or_else(|| {
        obj.get("user")
            .and_then(|u| u.get("id"))
            .and_then(Value::as_str)
    })
}

/// The message as the answer shows it: read back with its reactions after the write.
async fn answer(
    s: &Stream,
    call: &Call,
    m: &ChannelMessageRecord,
) -> Result<Json<Value>, ApiError> {
    barrier(s).await?;
    let m = s.view.channel_message(&m.id)?.unwrap_or_else(|| m.clone());
    let reactions = s.view.reactions(&m.id, None, state::REACTIONS_MAX)?;
    let mut ids = vec![m.user_id.as_str()];
    ids.extend(m.mentioned_users.iter().map(String::as_str));
    ids.extend(reactions.iter().map(|r| r.user_id.as_str()));
    let users = state::accounts(s, ids)?;
    let caller = call.caller.user_id();
    Ok(Json(render::ok(json!({
        "message": state::message_full(&m, call.family, &users, &reactions, caller),
    }))))
}

async fn edit(
    s: &Stream,
    call: &Call,
    message_id: String,
    editor: Option<String>,
    edit: MessageEdit,
) -> Result<Json<Value>, ApiError> {
    let cmd = Command::UpdateChannelMessage {
        message_id,
        editor,
        edit,
    };
    let Outcome::ChannelMessage(m) = write(s, cmd).await? else {
        return Err(StreamError::internal("unexpected reply to a message update").into());
    };
    answer(s, call, &m).await
}

/// `POST /messages/{id}` (`client.updateMessage`, `update_message`): text, attachments,
/// mentions and custom fields replaced by the body's; id, author, channel and times kept.
pub async fn update(
    State(s): State<Stream>,
    Path(id): Path<String>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    let obj = call
        .body
        .get("message")
        .and_then(Value::as_object)
        .ok_or_else(|| StreamError::input_field("message", "is required"))?;
    if let Some(other) = text_field(obj, "id")?.filter(|m| *m != id) {
        return Err(StreamError::input_field(
            "message.id",
            format!("{other} is not the message of the path ({id})"),
        )
        .into());
    }
    let editor = editor(&call, named(obj))?;
    let text = text_field(obj, "text")?.unwrap_or_default();
    check_text(&text)?;
    let e = MessageEdit {
        text: Some(text),
        attachments: Some(attachments_of(obj)?.unwrap_or_default()),
        mentioned_users: Some(mentioned_of(obj)?.unwrap_or_default()),
        quoted_message_id: Some(text_field(obj, "quoted_message_id")?),
        silent: obj.get("silent").and_then(Value::as_bool),
        show_in_channel: obj.get("show_in_channel").and_then(Value::as_bool),
        custom: Some(custom_of(obj)),
        ..Default::default()
    };
    edit(&s, &call, id, editor, e).await
}

/// `PUT /messages/{id}` (`client.partialUpdateMessage`, `update_message_partial`): the fields
/// of `set` set, those of `unset` cleared, the others kept.
pub async fn partial(
    State(s): State<Stream>,
    Path(id): Path<String>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    let body = call.body.as_object().cloned().unwrap_or_default();
    let editor = editor(&call, named(&body))?;
    let mut e = MessageEdit::default();
    let set = match body.get("set") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(o)) => o.clone(),
        Some(_) => return Err(StreamError::input_field("set", "must be an object").into()),
    };
    if set.contains_key("text") {
        let text = text_field(&set, "text")?.unwrap_or_default();
        check_text(&text)?;
        e.text = Some(text);
    }
    e.attachments = attachments_of(&set)?;
    e.mentioned_users = mentioned_of(&set)?;
    if set.contains_key("quoted_message_id") {
        e.quoted_message_id = Some(text_field(&set, "quoted_message_id")?);
    }
    e.silent = set.get("silent").and_then(Value::as_bool);
    e.show_in_channel = set.get("show_in_channel").and_then(Value::as_bool);
    e.set_custom = custom_of(&set);
    let unset = match body.get("unset") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(StreamError::input_field("unset", "must be a list").into()),
    };
    for field in unset {
        let Some(f) = field.as_str() else {
            return Err(StreamError::input_field("unset", "must be field names").into());
        };
        match f {
            "text" => e.text = Some(String::new()),
            "attachments" => e.attachments = Some(Vec::new()),
            "mentioned_users" => e.mentioned_users = Some(Vec::new()),
            "quoted_message_id" => e.quoted_message_id = Some(None),
            f if is_known(f) => {}
            f => e.unset_custom.push(f.to_string()),
        }
    }
    edit(&s, &call, id, editor, e).await
}

/// `DELETE /messages/{id}` (`client.deleteMessage`, `delete_message`): soft by default (the
/// message stays as `deleted`), `hard=true` removes it with its reactions.
pub async fn delete(
    State(s): State<Stream>,
    Path(id): Path<String>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    if call.param("delete_for_me") == Some("true") {
        return Err(
            StreamError::input_field("delete_for_me", "is not supported by this server").into(),
        );
    }
    let deleter = editor(&call, call.param("deleted_by"))?;
    let cmd = Command::DeleteChannelMessage {
        message_id: id,
        deleter,
        hard: call.param("hard") == Some("true"),
    };
    let Outcome::ChannelMessage(m) = write(&s, cmd).await? else {
        return Err(StreamError::internal("unexpected reply to a message delete").into());
    };
    let users = state::accounts(&s, [m.user_id.as_str()])?;
    Ok(Json(render::ok(
        json!({ "message": state::message(&m, call.family, &users) }),
    )))
}

/// `POST /messages/{id}/undelete` (`client.undeleteMessage`, `undelete_message`; server only).
pub async fn undelete(
    State(s): State<Stream>,
    Path(id): Path<String>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    call.require_server("undeleting a message")?;
    let cmd = Command::UndeleteChannelMessage { message_id: id };
    let Outcome::ChannelMessage(m) = write(&s, cmd).await? else {
        return Err(StreamError::internal("unexpected reply to an undelete").into());
    };
    answer(&s, &call, &m).await
}

/// The page of a replies call: `id_lt`/`id_lte` (before), `id_gt`/`id_gte` (after), else the
/// latest.
fn reply_page(call: &Call) -> ReplyPage {
    let at = |name: &str| call.param(name).map(str::to_string);
    if let Some(id) = at("id_lt") {
        ReplyPage::Before {
            id,
            inclusive: false,
        }
    } else if let Some(id) = at("id_lte") {
        ReplyPage::Before {
            id,
            inclusive: true,
        }
    } else if let Some(id) = at("id_gt") {
        ReplyPage::After {
            id,
            inclusive: false,
        }
    } else if let Some(id) = at("id_gte") {
        ReplyPage::After {
            id,
            inclusive: true,
        }
    } else {
        ReplyPage::Latest
    }
}

/// `GET /messages/{parent_id}/replies` (`channel.getReplies`, `get_replies`): replies oldest
/// first, `limit` (default 10, at most 300) of the page asked for.
pub async fn replies(
    State(s): State<Stream>,
    Path(parent_id): Path<String>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    let limit = match call.param("limit") {
        None => REPLIES_DEFAULT,
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| StreamError::input_field("limit", "must be a number"))?,
    }
    .min(REPLIES_MAX);
    barrier(&s).await?;
    let Some(parent) = s.view.channel_message(&parent_id)? else {
        return Err(StreamError::not_found(format!("message {parent_id} does not exist")).into());
    };
    if let Caller::User { id: user, .. } = &call.caller {
        let ch = (&parent.ctype, &parent.channel_id);
        if parent.ctype != "livestream" && s.view.member(ch.0, ch.1, user)?.is_none() {
            return Err(
                StreamError::not_allowed(format!("user {user} may not read this thread")).into(),
            );
        }
    }
    let replies = s.view.replies(&parent_id, &reply_page(&call), limit)?;
    let mut reactions = Vec::with_capacity(replies.len());
    for m in &replies {
        reactions.push(s.view.reactions(&m.id, None, state::REACTIONS_MAX)?);
    }
    let mut ids: Vec<&str> = replies.iter().map(|m| m.user_id.as_str()).collect();
    ids.extend(reactions.iter().flatten().map(|r| r.user_id.as_str()));
    let users = state::accounts(&s, ids)?;
    let caller = call.caller.user_id();
    let messages: Vec<Value> = replies
        .iter()
        .zip(&reactions)
        .map(|(m, r)| state::message_full(m, call.family, &users, r, caller))
        .collect();
    Ok(Json(render::ok(json!({ "messages": messages }))))
}
