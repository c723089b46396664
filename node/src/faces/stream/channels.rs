//! Channels: get-or-create by id (`POST /channels/{type}/{id}/query`), distinct by members
//! (`POST /channels/{type}/query`, no id: the same member set always names the same channel)
//! and query channels (`POST /channels`, the filter language over the caller's channels).
//! `watch: true` with the JS client's `connection_id` makes that socket a watcher.

use axum::extract::{Path, State};
use axum::Json;
use proto::account::Custom;
use proto::channel::{cid, ChannelRecord};
use proto::command::{Command, Outcome};
use proto::stream::error::StreamError;
use proto::stream::filter::{sort_docs, Filter};
use proto::stream::query::{sort_value, SortField};
use proto::stream::time::Family;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::auth::Caller;
use super::call::Call;
use super::error::ApiError;
use super::state::{self, TYPES};
use super::users::check_user_id;
use super::{barrier, render, write, Stream};

/// Longest channel id Stream accepts.
const ID_MAX: usize = 64;
/// Messages per channel in a channel query (the JS client's default), and at most.
const MESSAGE_LIMIT: usize = 25;
/// Channels one query returns by default, and at most (Stream's limits).
const QUERY_LIMIT: usize = 10;
const QUERY_LIMIT_MAX: usize = 30;
/// Most candidate channels a query reads to evaluate its filter.
const SCAN_MAX: usize = 10_000;

/// Keys of a channel's `data` that are not custom fields.
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
    "auto_translation_enabled",
    "auto_translation_language",
    "invites",
    "blocked",
    "filter_tags",
    "id",
    "type",
    "cid",
];

pub fn check_type(ctype: &str) -> Result<(), StreamError> {
    match TYPES.contains(&ctype) {
        true => Ok(()),
        false => Err(StreamError::input(format!(
            "channel type {ctype} does not exist"
        ))),
    }
}

/// A channel id as Stream allows it: letters, digits, `!`, `_`, `-`, at most 64.
pub fn check_channel_id(id: &str) -> Result<(), StreamError> {
    let ok = !id.is_empty()
        && id.len() <= ID_MAX
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!_-".contains(&b));
    match ok {
        true => Ok(()),
        false => Err(StreamError::input_field(
            "id",
            "channel id must be 1-64 letters, digits, !, _ or -",
        )),
    }
}

/// User ids of a member list: strings (JS) or `{user_id}` objects (Python).
pub(super) fn member_ids(v: Option<&Value>, field: &str) -> Result<Vec<String>, StreamError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let list = v
        .as_array()
        .ok_or_else(|| StreamError::input_field(field, "must be a list"))?;
    let mut out = Vec::with_capacity(list.len());
    for m in list {
        let id = m
            .as_str()
            .or_else(|| m.get("user_id").and_then(Value::as_str))
            .ok_or_else(|| {
                StreamError::input_field(field, "must be user ids or {user_id} objects")
            })?;
        check_user_id(id)?;
        out.push(id.to_string());
    }
    Ok(out)
}

/// The `data` of a channel query: members (ids from JS, `{user_id}` objects from Python), the
/// creator and the custom fields (flat or under `custom`).
struct ChannelData {
    members: Vec<String>,
    created_by: Option<String>,
    custom: Custom,
}

fn channel_data(data: Option<&Value>) -> Result<ChannelData, StreamError> {
    let empty = serde_json::Map::new();
    let obj = match data {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => return Err(StreamError::input_field("data", "must be an object")),
    };
    let members = member_ids(obj.get("members"), "members")?;
    let created_by = obj
        .get("created_by_id")
        .and_then(Value::as_str)
        .or_else(|| {
            obj.get("created_by")
                .and_then(|c| c.get("id"))
                .and_then(Value::as_str)
        })
        .map(str::to_string);
    let custom = render::request_custom(obj, |k| KNOWN.contains(&k));
    Ok(ChannelData {
        members,
        created_by,
        custom,
    })
}

/// The id of the distinct channel of a member set: `!members-` and a hash of the sorted ids.
pub fn distinct_id(members: &[String]) -> String {
    let mut sorted: Vec<&str> = members.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let digest = Sha256::digest(sorted.join(",").as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("!members-{hex}")
}

/// The number of messages a query asks for (`messages.limit`, or the default).
fn message_limit(body: &Value, default: usize) -> usize {
    body.pointer("/messages/limit")
        .or_else(|| body.get("message_limit"))
        .and_then(Value::as_u64)
        .map_or(default, |n| n as usize)
}

/// Records the caller's socket as a watcher when the query asks (`watch: true`).
fn maybe_watch(s: &Stream, call: &Call, cid: &str) {
    if call.body.get("watch").and_then(Value::as_bool) == Some(true) {
        if let (Caller::User { .. }, Some(conn)) = (&call.caller, call.param("connection_id")) {
            s.watches.watch(cid, conn);
        }
    }
}

/// Watchers of a channel on this node.
pub fn watcher_count(s: &Stream, cid: &str) -> usize {
    let registry = &s.gateway.registry;
    s.watches.watchers(cid, |c| registry.has(c)).len()
}

/// Gets or creates the channel, checking the caller may see it.
async fn get_or_create(
    s: &Stream,
    call: &Call,
    ctype: &str,
    id: &str,
) -> Result<Json<Value>, ApiError> {
    check_type(ctype)?;
    check_channel_id(id)?;
    let data = channel_data(call.body.get("data"))?;
    let caller = call.acting_user()?;
    let created_by = match &call.caller {
        Caller::User { id, .. } => Some(id.clone()),
        _ => data.created_by.clone().or(caller.clone()),
    };
    barrier(s).await?;
    let existing = s.view.channel(ctype, id)?;
    let ch = match existing {
        Some(ch) => ch,
        None => {
            if created_by.is_none() {
                return Err(StreamError::input(
                    "either data.created_by or data.created_by_id must be provided when using server side auth",
                )
                .into());
            }
            let cmd = Command::GetOrCreateChannel {
                ctype: ctype.to_string(),
                id: id.to_string(),
                created_by,
                custom: data.custom,
                members: data.members,
            };
            let ch = match write(s, cmd).await? {
                Outcome::Channel { channel, .. } => *channel,
                _ => {
                    return Err(
                        StreamError::internal("unexpected reply to a channel create").into(),
                    )
                }
            };
            // The local replica may not have applied the create yet (a follower took the call).
            barrier(s).await?;
            ch
        }
    };
    let user = match &call.caller {
        Caller::User { id, .. } => Some(id.as_str()),
        _ => None,
    };
    if let Some(u) = user {
        if ctype != "livestream" && s.view.member(ctype, id, u)?.is_none() {
            return Err(StreamError::not_allowed(format!(
                "user {u} may not read channel {}",
                ch.cid()
            ))
            .into());
        }
    }
    let cid = ch.cid();
    maybe_watch(s, call, &cid);
    let limit = message_limit(&call.body, 100);
    let mut state = state::channel_state(s, &ch, call.family, user, limit, watcher_count(s, &cid))?;
    super::presence::mark_state(s, &mut state).await;
    Ok(Json(render::ok(state)))
}

/// `POST /channels/{type}/{id}/query` (`channel.watch()`, `get_or_create_channel`).
pub async fn query(
    State(s): State<Stream>,
    Path((ctype, id)): Path<(String, String)>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    get_or_create(&s, &call, &ctype, &id).await
}

/// `POST /channels/{type}/query` (a channel from its members only,
/// `get_or_create_distinct_channel`).
pub async fn query_distinct(
    State(s): State<Stream>,
    Path(ctype): Path<String>,
    call: Call,
) -> Result<Json<Value>, ApiError> {
    let data = channel_data(call.body.get("data"))?;
    if data.members.is_empty() {
        return Err(StreamError::input_field(
            "data.members",
            "a channel without an id needs its members",
        )
        .into());
    }
    let id = distinct_id(&data.members);
    get_or_create(&s, &call, &ctype, &id).await
}

/// The channel as a filter sees it: v1 fields, custom fields flat, `members` as user ids.
fn filter_doc(ch: &ChannelRecord, members: Vec<String>) -> Value {
    let mut doc = state::channel(ch, Family::V1, json!([]), &Default::default());
    doc["members"] = json!(members);
    doc
}

/// `POST /channels` (`queryChannels`, `query_channels`).
pub async fn query_channels(State(s): State<Stream>, call: Call) -> Result<Json<Value>, ApiError> {
    let b = &call.body;
    let filter = Filter::parse(b.get("filter_conditions").unwrap_or(&json!({})))?;
    let sort = match b.get("sort") {
        None | Some(Value::Null) => vec![SortField::new("last_message_at", -1)],
        Some(v) => sort_value(v)?,
    };
    let number = |name: &str, default: usize| super::call::count(b, name, default);
    let limit = number("limit", QUERY_LIMIT)?;
    if limit > QUERY_LIMIT_MAX {
        return Err(StreamError::input_field("limit", "must be at most 30").into());
    }
    let offset = number("offset", 0)?;
    let messages = number("message_limit", MESSAGE_LIMIT)?;
    let user = call.acting_user()?;
    s.cluster
        .read_barrier(crate::raft::cluster::Consistency::ReadYourWrites)
        .await?;
    let candidates: Vec<ChannelRecord> = match &user {
        Some(u) => {
            let mut out = Vec::new();
            for (ctype, id) in s.view.channels_of_member(u, SCAN_MAX)? {
                out.extend(s.view.channel(&ctype, &id)?);
            }
            out
        }
        None => s.view.all_channels(SCAN_MAX)?,
    };
    let mut docs = Vec::new();
    // Channels the user hid are left out unless the filter asks about `hidden`.
    let asks_hidden = b
        .get("filter_conditions")
        .and_then(Value::as_object)
        .is_some_and(|f| f.contains_key("hidden"));
    for ch in &candidates {
        let members = s.view.members(&ch.ctype, &ch.id, 1000)?;
        let hidden = user
            .as_deref()
            .and_then(|u| members.iter().find(|m| m.user_id == u))
            .is_some_and(|m| m.hides(ch.last_message_at));
        let mut doc = filter_doc(ch, members.into_iter().map(|m| m.user_id).collect());
        doc["hidden"] = json!(hidden);
        if (asks_hidden || !hidden) && filter.matches(&doc) {
            docs.push(doc);
        }
    }
    sort_docs(&mut docs, &sort);
    let mut channels = Vec::new();
    for doc in docs.iter().skip(offset).take(limit) {
        let (Some(ctype), Some(id)) = (doc["type"].as_str(), doc["id"].as_str()) else {
            continue;
        };
        let Some(ch) = candidates.iter().find(|c| c.ctype == ctype && c.id == id) else {
            continue;
        };
        let cid = cid(ctype, id);
        maybe_watch(&s, &call, &cid);
        let caller = match &call.caller {
            Caller::User { id, .. } => Some(id.as_str()),
            _ => user.as_deref(),
        };
        let mut one = state::channel_state(
            &s,
            ch,
            call.family,
            caller,
            messages,
            watcher_count(&s, &cid),
        )?;
        super::presence::mark_state(&s, &mut one).await;
        channels.push(one);
    }
    Ok(Json(render::ok(json!({ "channels": channels }))))
}
