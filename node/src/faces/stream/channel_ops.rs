//! Channel updates: full update (`POST /channels/{type}/{id}`: `data` replaces the custom
//! fields, `add_members`, `remove_members`), partial update (`PATCH`: `set`, `unset`) and delete
//! (`DELETE`), truncate, and stop watching. Watchers get `channel.updated`, `member.added`,
//! `member.removed`, `channel.deleted`, `channel.truncated`; the users added or removed get the `notification.*` forms.

use axum::extract::{Path, State};
use axum::Json;
use proto::account::Custom;
use proto::channel::{ChannelRecord, ROLE_MODERATOR, ROLE_OWNER};
use proto::command::{Command, Outcome};
use proto::stream::error::StreamError;
use serde_json::{json, Value};

use super::auth::Caller;
use super::call::Call;
use super::channels::{check_channel_id, check_type, member_ids};
use super::error::ApiError;
use super::{barrier, render, state, write, Stream};

/// Keys of `data` that are not custom fields (and that an update does not store as such).
const KNOWN: &[&str] = &[
    "members",
    "created_by",
    "created_by_id",
    "custom",
    "team",
    "frozen",
    "disabled",
    "cooldown",
    "config_overrides",
    "id",
    "type",
    "cid",
    "created_at",
    "updated_at",
    "member_count",
    "own_capabilities",
    "config",
];

fn custom_of(obj: &serde_json::Map<String, Value>) -> Custom {
    render::request_custom(obj, |k| KNOWN.contains(&k))
}

/// A slow-mode value: whole seconds, at most 120 (Stream's limit); `None` when not given.
fn cooldown_of(v: Option<&Value>) -> Result<Option<u32>, StreamError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if n <= 120 => Ok(Some(n as u32)),
            _ => Err(StreamError::input_field(
                "cooldown",
                "must be 0-120 seconds",
            )),
        },
    }
}

/// Who may change a channel: the server; a member (data); an owner or moderator (members).
async fn check_may_update(
    s: &Stream,
    call: &Call,
    ch: &ChannelRecord,
    members: bool,
) -> Result<(), ApiError> {
    let Caller::User { id, .. } = &call.caller else {
        return match call.caller {
            Caller::Server => Ok(()),
            _ => Err(StreamError::not_allowed("anonymous users may not update channels").into()),
        };
    };
    let Some(m) = s.view.member(&ch.ctype, &ch.id, id)? else {
        return Err(
            StreamError::not_allowed(format!("user {id} is not a member of {}", ch.cid())).into(),
        );
    };
    let moderates = [ROLE_OWNER, ROLE_MODERATOR].contains(&m.channel_role.as_str());
    if members && !moderates {
        return Err(StreamError::not_allowed(format!(
            "user {id} may not change the members of {}",
            ch.cid()
        ))
        .into());
    }
    Ok(())
}

async fn load(s: &Stream, ctype: &str, id: &str) -> Result<ChannelRecord, ApiError> {
    check_type(ctype)?;
    check_channel_id(id)?;
    barrier(s).await?;
    s.view.channel(ctype, id)?.ok_or_else(|| {
        StreamError::not_found(format!("channel {ctype}:{id} does not exist")).into()
    })
}

/// The answer of an update: the channel and its members, read back after the write.
async fn answer(s: &Stream, call: &Call, ch: &ChannelRecord) -> Result<Json<Value>, ApiError> {
    barrier(s).await?;
    let members = s.view.members(&ch.ctype, &ch.id, 1000)?;
    let mut ids: Vec<&str> = members.iter().map(|m| m.user_id.as_str()).collect();
    ids.extend(ch.created_by.as_deref());
    let users = state::accounts(s, ids)?;
    let caps = state::own_capabilities(true);
    Ok(Json(render::ok(json!({
        "channel": state::channel(ch, call.family, caps, &users),
        "members": members.iter().map(|m| state::member(m, call.family, &users)).collect::<Vec<_>>(),
    }))))
}

async fn apply(s: &Stream, cmd: Command) -> Result<ChannelRecord, ApiError> {
    match write(s, cmd).await? {
        Outcome::Channel { channel, .. } => Ok(*channel),
        _ => Err(StreamError::internal("unexpected reply to a channel update").into()),
    }
}

/// `POST /channels/{type}/{id}` (`channel.update`, `addMembers`, `removeMembers`, `update_channel`).
pub async fn update(
    State(s): State<Stream>,
    Path((ctype, id)): Path<(String, String)>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    let ch = load(&s, &ctype, &id).await?;
    let b = &call.body;
    let add_members = member_ids(b.get("add_members"), "add_members")?;
    let remove_members = member_ids(b.get("remove_members"), "remove_members")?;
    let data = match b.get("data") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m.clone()),
        Some(_) => return Err(StreamError::input_field("data", "must be an object").into()),
    };
    check_may_update(
        &s,
        &call,
        &ch,
        !add_members.is_empty() || !remove_members.is_empty(),
    )
    .await?;
    let frozen = data
        .as_ref()
        .and_then(|d| d.get("frozen"))
        .and_then(Value::as_bool);
    let cmd = Command::UpdateChannel {
        ctype,
        id,
        custom: data.as_ref().map(custom_of),
        set: Custom::new(),
        unset: Vec::new(),
        frozen,
        add_members,
        remove_members,
        cooldown: cooldown_of(
            b.get("cooldown")
                .or_else(|| data.as_ref().and_then(|d| d.get("cooldown"))),
        )?,
    };
    let ch = apply(&s, cmd).await?;
    answer(&s, &call, &ch).await
}

/// `PATCH /channels/{type}/{id}` (`channel.updatePartial`, `update_channel_partial`).
pub async fn update_partial(
    State(s): State<Stream>,
    Path((ctype, id)): Path<(String, String)>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    let ch = load(&s, &ctype, &id).await?;
    check_may_update(&s, &call, &ch, false).await?;
    let b = &call.body;
    let set = match b.get("set") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(StreamError::input_field("set", "must be an object").into()),
    };
    let unset: Vec<String> = match b.get("unset") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|_| StreamError::input_field("unset", "must be a list of names"))?,
    };
    let frozen = set.get("frozen").and_then(Value::as_bool);
    let cmd = Command::UpdateChannel {
        ctype,
        id,
        custom: None,
        set: custom_of(&set),
        unset,
        frozen,
        add_members: Vec::new(),
        remove_members: Vec::new(),
        cooldown: cooldown_of(set.get("cooldown"))?,
    };
    let ch = apply(&s, cmd).await?;
    answer(&s, &call, &ch).await
}

/// `DELETE /channels/{type}/{id}` (`channel.delete`, `delete_channel`; soft and hard alike:
/// the channel is gone at once, its rows go in chunks).
pub async fn delete(
    State(s): State<Stream>,
    Path((ctype, id)): Path<(String, String)>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    let ch = load(&s, &ctype, &id).await?;
    if let Caller::User { id: user, .. } = &call.caller {
        let owner = s
            .view
            .member(&ch.ctype, &ch.id, user)?
            .is_some_and(|m| m.channel_role == ROLE_OWNER);
        if !owner {
            return Err(StreamError::not_allowed(format!(
                "user {user} may not delete {}",
                ch.cid()
            ))
            .into());
        }
    }
    let ch = apply(&s, Command::DeleteChannel { ctype, id }).await?;
    let users = state::accounts(&s, ch.created_by.as_deref())?;
    let mut channel = state::channel(&ch, call.family, state::own_capabilities(false), &users);
    channel["deleted_at"] = proto::stream::time::render(
        proto::stream::time::from_millis(crate::clock::now_ms()),
        call.family,
    );
    Ok(Json(render::ok(json!({ "channel": channel }))))
}

/// `POST /channels/{type}/{id}/truncate` (`channel.truncate`, `truncate_channel`): hides every
/// message so far (soft; `hard_delete` is answered the same way). Owner, moderator or server.
pub async fn truncate(
    State(s): State<Stream>,
    Path((ctype, id)): Path<(String, String)>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    let ch = load(&s, &ctype, &id).await?;
    check_may_update(&s, &call, &ch, true).await?;
    let ch = apply(&s, Command::TruncateChannel { ctype, id }).await?;
    answer(&s, &call, &ch).await
}

/// `POST /channels/{type}/{id}/stop-watching` (`channel.stopWatching`): this socket no longer
/// gets the channel's events.
pub async fn stop_watching(
    State(s): State<Stream>,
    Path((ctype, id)): Path<(String, String)>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    check_type(&ctype)?;
    check_channel_id(&id)?;
    if let Some(conn) = call.param("connection_id") {
        s.watches.stop(&proto::channel::cid(&ctype, &id), conn);
    }
    Ok(Json(render::ok(json!({}))))
}

/// `POST /channels/{type}/{id}/hide` and `/show` (`channel.hide`, `channel.show`,
/// `hide_channel`, `show_channel`): for the acting member only; a hidden channel leaves the
/// member's channel queries until a newer message arrives (or `show`); `clear_history` also
/// hides the messages so far from that member.
async fn set_hidden(
    s: Stream,
    ctype: String,
    id: String,
    call: Call,
    hidden: bool,
) -> Result<Json<Value>, ApiError> {
    check_type(&ctype)?;
    check_channel_id(&id)?;
    let Some(user_id) = call.acting_user()? else {
        return Err(
            StreamError::input_field("user_id", "is required when using server side auth").into(),
        );
    };
    let clear_history =
        hidden && call.body.get("clear_history").and_then(Value::as_bool) == Some(true);
    let cmd = Command::SetChannelHidden {
        ctype,
        id,
        user_id,
        hidden,
        clear_history,
    };
    write(&s, cmd).await?;
    Ok(Json(render::ok(json!({}))))
}

pub async fn hide(
    State(s): State<Stream>,
    Path((ctype, id)): Path<(String, String)>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    set_hidden(s, ctype, id, call, true).await
}

pub async fn show(
    State(s): State<Stream>,
    Path((ctype, id)): Path<(String, String)>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    set_hidden(s, ctype, id, call, false).await
}
