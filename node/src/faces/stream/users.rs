//! Users: upsert (`POST /users`, a map id → user), partial update (`PATCH /users`, a list of
//! `{id, set, unset}`) and query (`GET /users?payload=…`). Writes go through the log as account
//! commands; the filter is evaluated here over the rendered users.

use std::collections::HashMap;

use axum::extract::State;
use axum::Json;
use proto::account::{AccountInput, AccountPatch, AccountRecord, Custom};
use proto::command::{Command, Outcome};
use proto::stream::error::StreamError;
use proto::stream::filter::Filter;
use proto::stream::query::{self, SortField};
use proto::stream::time::{self, Family};
use serde_json::{json, Map, Value};

use super::auth::Caller;
use super::call::Call;
use super::error::ApiError;
use super::{render, write, Stream};

/// Longest user id Stream accepts.
const ID_MAX: usize = 255;
/// Most users one query returns (Stream's own limit).
const QUERY_LIMIT_MAX: usize = 100;
/// Fields of a user object that are not custom data.
const KNOWN: &[&str] = &[
    "id",
    "role",
    "name",
    "image",
    "language",
    "teams",
    "invisible",
    "custom",
    "revoke_tokens_issued_before",
    "created_at",
    "updated_at",
    "last_active",
    "online",
    "banned",
    "deactivated_at",
    "deleted_at",
    "teams_role",
    "privacy_settings",
    "push_notifications",
];

/// A user id as Stream allows it: letters, digits, `@`, `_`, `-`, at most 255 bytes.
pub fn check_user_id(id: &str) -> Result<(), StreamError> {
    let ok = !id.is_empty()
        && id.len() <= ID_MAX
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@_-".contains(&b));
    match ok {
        true => Ok(()),
        false => Err(StreamError::input_field(
            "id",
            "user id must be 1-255 letters, digits, @, _ or -",
        )),
    }
}

/// A user object of a request (`UserRequest`) as an account input. Custom fields are flat (v1)
/// or under `custom` (v2); both are read in either family.
pub fn account_input(v: &Value) -> Result<AccountInput, StreamError> {
    let obj = v
        .as_object()
        .ok_or_else(|| StreamError::input("a user must be a JSON object"))?;
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| StreamError::input_field("id", "is required"))?;
    check_user_id(id)?;
    let text = |name: &str| -> Result<Option<String>, StreamError> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(StreamError::input_field(name, "must be a string")),
        }
    };
    let mut custom: Custom = Custom::new();
    if let Some(c) = obj.get("custom") {
        let c = c
            .as_object()
            .ok_or_else(|| StreamError::input_field("custom", "must be an object"))?;
        custom.extend(c.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    for (k, v) in obj {
        if !KNOWN.contains(&k.as_str()) {
            custom.insert(k.clone(), v.clone());
        }
    }
    let teams = match obj.get("teams") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|t| t.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| StreamError::input_field("teams", "must be a list of strings"))?,
        Some(_) => {
            return Err(StreamError::input_field(
                "teams",
                "must be a list of strings",
            ))
        }
    };
    let revoke = match obj.get("revoke_tokens_issued_before") {
        None | Some(Value::Null) => None,
        Some(t) => Some(time::parse(t).ok_or_else(|| {
            StreamError::input_field("revoke_tokens_issued_before", "must be a time")
        })?),
    };
    Ok(AccountInput {
        id: id.to_string(),
        role: text("role")?,
        name: text("name")?,
        image: text("image")?,
        language: text("language")?,
        teams,
        invisible: obj
            .get("invisible")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        custom,
        revoke_tokens_issued_before: revoke,
    })
}

/// Who may write these users: the server any; a user only itself, without changing its role.
fn check_may_write(call: &Call, ids: &[&str], sets_role: bool) -> Result<(), StreamError> {
    match &call.caller {
        Caller::Server => Ok(()),
        Caller::User { id, .. } if ids.iter().all(|i| i == id) && !sets_role => Ok(()),
        _ => Err(StreamError::not_allowed(
            "only a server-side token may update other users or roles",
        )),
    }
}

/// The users map of an answer: id → user.
fn users_map(list: &[AccountRecord], family: Family) -> Value {
    let m: Map<String, Value> = list
        .iter()
        .map(|a| (a.id.clone(), render::own_user(a, family, false)))
        .collect();
    Value::Object(m)
}

/// `POST /users` (`upsertUsers`, `upsert_users`): `{"users": {"<id>": {…}}}`.
pub async fn upsert(State(s): State<Stream>, call: Call) -> Result<Json<Value>, ApiError> {
    let users = call
        .body
        .get("users")
        .and_then(Value::as_object)
        .ok_or_else(|| StreamError::input_field("users", "must be a map of user id to user"))?;
    if users.is_empty() {
        return Err(StreamError::input_field("users", "must not be empty").into());
    }
    let mut inputs = Vec::with_capacity(users.len());
    for (key, user) in users {
        let input = account_input(user)?;
        if input.id != *key {
            return Err(StreamError::input(format!(
                "user id {} does not match its key {key}",
                input.id
            ))
            .into());
        }
        inputs.push(input);
    }
    let ids: Vec<&str> = inputs.iter().map(|i| i.id.as_str()).collect();
    check_may_write(&call, &ids, inputs.iter().any(|i| i.role.is_some()))?;
    let Outcome::Accounts(list) = write(&s, Command::UpsertAccounts { accounts: inputs }).await?
    else {
        return Err(StreamError::internal("unexpected reply to an upsert").into());
    };
    Ok(Json(render::ok(
        json!({ "users": users_map(&list, call.family), "membership_deletion_task_id": "" }),
    )))
}

/// `PATCH /users` (`partialUpdateUsers`, `update_users_partial`):
/// `{"users": [{"id", "set", "unset"}]}`.
pub async fn partial(State(s): State<Stream>, call: Call) -> Result<Json<Value>, ApiError> {
    let list = call
        .body
        .get("users")
        .and_then(Value::as_array)
        .ok_or_else(|| StreamError::input_field("users", "must be a list of updates"))?;
    if list.is_empty() {
        return Err(StreamError::input_field("users", "must not be empty").into());
    }
    let mut patches = Vec::with_capacity(list.len());
    for u in list {
        let id = u
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| StreamError::input_field("id", "is required"))?;
        check_user_id(id)?;
        let set: Custom = match u.get("set") {
            None | Some(Value::Null) => Custom::new(),
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Some(_) => return Err(StreamError::input_field("set", "must be an object").into()),
        };
        let unset: Vec<String> = match u.get("unset") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|_| StreamError::input_field("unset", "must be a list of names"))?,
        };
        patches.push(AccountPatch {
            id: id.to_string(),
            set,
            unset,
        });
    }
    let ids: Vec<&str> = patches.iter().map(|p| p.id.as_str()).collect();
    let sets_role = patches
        .iter()
        .any(|p| p.set.contains_key("role") || p.unset.iter().any(|u| u == "role"));
    check_may_write(&call, &ids, sets_role)?;
    let Outcome::Accounts(list) = write(&s, Command::PatchAccounts { patches }).await? else {
        return Err(StreamError::internal("unexpected reply to a partial update").into());
    };
    Ok(Json(render::ok(
        json!({ "users": users_map(&list, call.family), "membership_deletion_task_id": "" }),
    )))
}

/// The `payload` of a query: filter, sort, limit, offset.
struct QueryUsers {
    filter: Filter,
    sort: Vec<SortField>,
    limit: usize,
    offset: usize,
    /// Ids the filter restricts `id` to, when it does (read by id, not by scanning).
    ids: Option<Vec<String>>,
    /// `presence: true`: `online` read from every node (otherwise false).
    presence: bool,
}

fn query_users_payload(call: &Call) -> Result<QueryUsers, StreamError> {
    let p = query::payload(call.query.get("payload").map(String::as_str))?;
    let filter_v = p.get("filter_conditions").cloned().unwrap_or(json!({}));
    let filter = Filter::parse(&filter_v)?;
    let sort = match p.get("sort") {
        None | Some(Value::Null) => vec![SortField::new("created_at", 1)],
        Some(v) => query::sort_value(v)?,
    };
    let number = |name: &str, default: usize| super::call::count(&p, name, default);
    let limit = number("limit", 30)?;
    if limit > QUERY_LIMIT_MAX {
        return Err(StreamError::input_field("limit", "must be at most 100"));
    }
    Ok(QueryUsers {
        ids: ids_of(&filter_v),
        filter,
        sort,
        limit,
        offset: number("offset", 0)?,
        presence: p.get("presence").and_then(Value::as_bool) == Some(true),
    })
}

/// The ids a filter's top-level `id` condition allows (`{"id": "a"}`, `{"id": {"$eq": "a"}}`,
/// `{"id": {"$in": [...]}}`), if it has one.
fn ids_of(filter: &Value) -> Option<Vec<String>> {
    let cond = filter.get("id")?;
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array()?
            .iter()
            .map(|x| x.as_str().map(str::to_string))
            .collect()
    };
    match cond {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Object(m) if m.len() == 1 => match m.iter().next() {
            Some((op, Value::String(s))) if op == "$eq" => Some(vec![s.clone()]),
            Some((op, v)) if op == "$in" => strings(v),
            _ => None,
        },
        _ => None,
    }
}

/// Most users a query without an id condition reads to evaluate its filter.
const SCAN_MAX: usize = 100_000;

/// `GET /users?payload=…` (`queryUsers`, `query_users`).
pub async fn query_users(State(s): State<Stream>, call: Call) -> Result<Json<Value>, ApiError> {
    let q = query_users_payload(&call)?;
    s.cluster
        .read_barrier(crate::raft::cluster::Consistency::ReadYourWrites)
        .await?;
    let accounts = match &q.ids {
        Some(ids) => s.view.accounts_by_id(ids)?,
        None => s.view.accounts_in_order(None, SCAN_MAX)?,
    };
    // Filter and sort over the v1 rendering (custom fields flat, times as RFC 3339 strings),
    // which is what filter field names and time operands refer to.
    let by_id: HashMap<&str, &AccountRecord> =
        accounts.iter().map(|a| (a.id.as_str(), a)).collect();
    let mut docs: Vec<Value> = accounts
        .iter()
        .filter(|a| a.deleted_at.is_none())
        .map(|a| render::user(a, Family::V1, false))
        .filter(|doc| q.filter.matches(doc))
        .collect();
    proto::stream::filter::sort_docs(&mut docs, &q.sort);
    let mut users: Vec<Value> = docs
        .iter()
        .skip(q.offset)
        .take(q.limit)
        .filter_map(|d| by_id.get(d.get("id")?.as_str()?))
        .map(|a| render::user(a, call.family, false))
        .collect();
    if q.presence {
        let ids = users
            .iter()
            .filter_map(|u| u.get("id").and_then(Value::as_str).map(str::to_string))
            .collect();
        let on = super::presence::online(&s, ids).await;
        super::presence::mark(users.iter_mut(), &on);
    }
    Ok(Json(render::ok(json!({ "users": users }))))
}
