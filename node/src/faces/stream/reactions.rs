//! Reactions: send (`POST /messages/{id}/reaction`, `{reaction: {type, score?, …}}`, with
//! `enforce_unique`) and delete (`DELETE /messages/{id}/reaction/{type}`). Both answer the
//! reaction and the message with its aggregates; watchers get `reaction.new`, `.updated` or
//! `.deleted` over the WebSocket.

use axum::extract::{Path, State};
use axum::Json;
use proto::channel::ReactionRecord;
use proto::command::{Command, Outcome};
use proto::stream::error::StreamError;
use serde_json::{json, Value};

use super::auth::Caller;
use super::call::Call;
use super::error::ApiError;
use super::users::check_user_id;
use super::{barrier, render, state, write, Stream};

/// Keys of a reaction request that are not custom fields.
const KNOWN: &[&str] = &[
    "type",
    "score",
    "user_id",
    "user",
    "message_id",
    "created_at",
    "updated_at",
    "custom",
];

/// The user a reaction call acts for (the token's user, or for a server token the one named).
fn reacting_user(call: &Call, named: Option<&str>) -> Result<String, StreamError> {
    let user = match (&call.caller, named) {
        (Caller::User { id, .. }, Some(n)) if n != id => {
            return Err(StreamError::not_allowed(format!(
                "user {id} may not react as {n}"
            )))
        }
        (Caller::User { id, .. }, _) => id.clone(),
        (Caller::Server, Some(n)) => n.to_string(),
        (Caller::Server, None) => {
            return Err(StreamError::input_field(
                "user_id",
                "is required when using server side auth",
            ))
        }
        (Caller::Anonymous, _) => {
            return Err(StreamError::not_allowed("anonymous users may not react"))
        }
    };
    check_user_id(&user)?;
    Ok(user)
}

/// The message and reaction of an answer, read back after the write.
async fn answer(s: &Stream, call: &Call, r: &ReactionRecord) -> Result<Json<Value>, ApiError> {
    barrier(s).await?;
    let m = s.view.channel_message(&r.message_id)?.ok_or_else(|| {
        StreamError::not_found(format!("message {} does not exist", r.message_id))
    })?;
    let reactions = s.view.reactions(&m.id, None, state::REACTIONS_MAX)?;
    let mut ids = vec![m.user_id.as_str(), r.user_id.as_str()];
    ids.extend(reactions.iter().map(|x| x.user_id.as_str()));
    let users = state::accounts(s, ids)?;
    let caller = Some(r.user_id.as_str());
    Ok(Json(render::ok(json!({
        "message": state::message_full(&m, call.family, &users, &reactions, caller),
        "reaction": state::reaction(r, call.family, &users),
    }))))
}

/// `POST /messages/{id}/reaction` (`channel.sendReaction`, `send_reaction`).
pub async fn send(
    State(s): State<Stream>,
    Path(message_id): Path<String>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    let obj = call
        .body
        .get("reaction")
        .and_then(Value::as_object)
        .ok_or_else(|| StreamError::input_field("reaction", "is required"))?;
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty() && t.len() <= 64)
        .ok_or_else(|| {
            StreamError::input_field("reaction.type", "must be a string of 1-64 characters")
        })?;
    let named = obj.get("user_id").and_then(Value::as_str).or_else(|| {
        obj.get("user")
            .and_then(|u| u.get("id"))
            .and_then(Value::as_str)
    });
    let user_id = reacting_user(&call, named)?;
    let score = match obj.get("score") {
        None | Some(Value::Null) => 1,
        Some(v) => v
            .as_i64()
            .ok_or_else(|| StreamError::input_field("reaction.score", "must be an integer"))?,
    };
    let custom = render::request_custom(obj, |k| KNOWN.contains(&k));
    let reaction = ReactionRecord {
        message_id,
        user_id,
        kind: kind.to_string(),
        score,
        custom,
        ..Default::default()
    };
    let cmd = Command::SendReaction {
        reaction,
        enforce_unique: call.body.get("enforce_unique").and_then(Value::as_bool) == Some(true),
        require_member: matches!(call.caller, Caller::User { .. }),
    };
    let Outcome::Reaction(r) = write(&s, cmd).await? else {
        return Err(StreamError::internal("unexpected reply to a reaction").into());
    };
    answer(&s, &call, &r).await
}

/// `DELETE /messages/{id}/reaction/{type}` (`channel.deleteReaction`, `delete_reaction`).
pub async fn delete(
    State(s): State<Stream>,
    Path((message_id, kind)): Path<(String, String)>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    let user_id = reacting_user(&call, call.param("user_id"))?;
    let cmd = Command::DeleteReaction {
        message_id,
        user_id,
        kind,
    };
    let Outcome::Reaction(r) = write(&s, cmd).await? else {
        return Err(StreamError::internal("unexpected reply to a reaction delete").into());
    };
    answer(&s, &call, &r).await
}
