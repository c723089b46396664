//! Query members (`GET /members?payload={type, id, filter_conditions, sort, limit, offset}`,
//! JS `channel.queryMembers`, Python `query_members`): a channel's members filtered by the
//! filter language over `user_id`, `id`, `name`, `channel_role`, `created_at`, `updated_at`,
//! `banned` and the user's custom fields (the mention autocomplete of the UI kit uses `name`
//! with `$autocomplete`).

use axum::extract::State;
use axum::Json;
use proto::stream::error::StreamError;
use proto::stream::filter::{sort_docs, Filter};
use proto::stream::query::{self, SortField};
use proto::stream::time::Family;
use serde_json::{json, Value};

use super::auth::Caller;
use super::call::Call;
use super::channels::{check_channel_id, check_type};
use super::error::ApiError;
use super::{barrier, render, state, Stream};

/// Members read for one query (the filter is evaluated over them), and returned at most.
const SCAN_MAX: usize = 10_000;
const LIMIT_MAX: usize = 300;

/// `GET /members` (`queryMembers`, `query_members`).
pub async fn query(State(s): State<Stream>, call: Call) -> Result<Json<Value>, ApiError> {
    let p = query::payload(call.query.get("payload").map(String::as_str))?;
    let text = |name: &str| p.get(name).and_then(Value::as_str).map(str::to_string);
    let (Some(ctype), Some(id)) = (text("type"), text("id")) else {
        return Err(StreamError::input("payload.type and payload.id are required").into());
    };
    check_type(&ctype)?;
    check_channel_id(&id)?;
    let filter = Filter::parse(p.get("filter_conditions").unwrap_or(&json!({})))?;
    let sort = match p.get("sort") {
        None | Some(Value::Null) => vec![SortField::new("created_at", 1)],
        Some(v) => query::sort_value(v)?,
    };
    let number = |name: &str, default: usize| super::call::count(&p, name, default);
    let limit = number("limit", 100)?.min(LIMIT_MAX);
    let offset = number("offset", 0)?;
    barrier(&s).await?;
    if s.view.channel(&ctype, &id)?.is_none() {
        return Err(StreamError::not_found(format!("channel {ctype}:{id} does not exist")).into());
    }
    if let Caller::User { id: user, .. } = &call.caller {
        if ctype != "livestream" && s.view.member(&ctype, &id, user)?.is_none() {
            return Err(StreamError::not_allowed(format!(
                "user {user} may not read the members of {ctype}:{id}"
            ))
            .into());
        }
    }
    let members = s.view.members(&ctype, &id, SCAN_MAX)?;
    let users = state::accounts(&s, members.iter().map(|m| m.user_id.as_str()))?;
    // Filter and sort over the member with its user's fields beside it (v1 rendering).
    let mut docs: Vec<(Value, usize)> = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let member = state::member(m, Family::V1, &users);
        let mut doc = render::user_or_id(&users, &m.user_id, Family::V1);
        if let (Some(d), Some(mm)) = (doc.as_object_mut(), member.as_object()) {
            for (k, v) in mm {
                if k != "user" {
                    d.insert(k.clone(), v.clone());
                }
            }
            d.insert("idx".into(), json!(i));
        }
        if filter.matches(&doc) {
            docs.push((doc, i));
        }
    }
    let mut only: Vec<Value> = docs.into_iter().map(|(d, _)| d).collect();
    sort_docs(&mut only, &sort);
    let out: Vec<Value> = only
        .iter()
        .skip(offset)
        .take(limit)
        .filter_map(|d| d.get("idx").and_then(Value::as_u64))
        .map(|i| state::member(&members[i as usize], call.family, &users))
        .collect();
    Ok(Json(render::ok(json!({ "members": out }))))
}
