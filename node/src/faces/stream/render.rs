//! Records → Stream JSON, per family: v1 (JS) flattens custom fields into the object and writes
//! RFC 3339 times; v2 (Python) nests them under `custom` and writes integer nanoseconds
//! (`stream-protocol.md` §0).

use proto::account::AccountRecord;
use proto::stream::time::{render, Family};
use serde_json::{json, Map, Value};

/// A user (`UserResponse`): `online` as the presence layer sees it.
pub fn user(a: &AccountRecord, family: Family, online: bool) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(a.id));
    m.insert("role".into(), json!(a.role));
    if let Some(n) = &a.name {
        m.insert("name".into(), json!(n));
    }
    if let Some(i) = &a.image {
        m.insert("image".into(), json!(i));
    }
    m.insert(
        "language".into(),
        json!(a.language.clone().unwrap_or_default()),
    );
    m.insert("teams".into(), json!(a.teams));
    m.insert("invisible".into(), json!(a.invisible));
    m.insert("banned".into(), json!(false));
    m.insert("shadow_banned".into(), json!(false));
    m.insert("blocked_user_ids".into(), json!([]));
    m.insert("online".into(), json!(online && !a.invisible));
    m.insert("created_at".into(), render(a.created_at, family));
    m.insert("updated_at".into(), render(a.updated_at, family));
    for (name, t) in [
        ("deactivated_at", a.deactivated_at),
        ("deleted_at", a.deleted_at),
        ("revoke_tokens_issued_before", a.revoke_tokens_issued_before),
    ] {
        if let Some(t) = t {
            m.insert(name.into(), render(t, family));
        }
    }
    custom_into(&mut m, &a.custom, family);
    Value::Object(m)
}

/// A user with its own lists and counters (`OwnUserResponse` of a `health.check`,
/// `FullUserResponse` of an upsert): mutes, devices and unread counters (empty for now).
pub fn own_user(a: &AccountRecord, family: Family, online: bool) -> Value {
    let mut u = user(a, family, online);
    let m = u.as_object_mut().expect("a user renders as an object");
    for (k, v) in [
        ("channel_mutes", json!([])),
        ("mutes", json!([])),
        ("blocked_user_ids", json!([])),
        ("devices", json!([])),
        ("total_unread_count", json!(0)),
        ("unread_count", json!(0)),
        ("unread_channels", json!(0)),
        ("unread_threads", json!(0)),
    ] {
        m.insert(k.into(), v);
    }
    u
}

/// Custom fields: flat beside the known ones (v1; a custom field never hides a known one) or
/// under `custom` (v2).
pub fn custom_into(m: &mut Map<String, Value>, custom: &proto::account::Custom, family: Family) {
    match family {
        Family::V1 => {
            for (k, v) in custom {
                m.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        Family::V2 => {
            let c: Map<String, Value> =
                custom.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            m.insert("custom".into(), Value::Object(c));
        }
    }
}

/// A success body: the fields given, plus `duration`.
pub fn ok(mut body: Value) -> Value {
    if let Some(m) = body.as_object_mut() {
        m.insert("duration".into(), json!("0.00ms"));
    }
    body
}

/// The custom fields of a request object: those under `custom` (v2) and every key `known`
/// rejects (v1, flat).
pub fn request_custom(
    obj: &Map<String, Value>,
    known: impl Fn(&str) -> bool,
) -> proto::account::Custom {
    let mut custom = proto::account::Custom::new();
    if let Some(c) = obj.get("custom").and_then(Value::as_object) {
        custom.extend(c.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    for (k, v) in obj {
        if !known(k) {
            custom.insert(k.clone(), v.clone());
        }
    }
    custom
}

/// A user by id for embedding: its account, or a bare `{id}` if there is none.
pub fn user_or_id(
    users: &std::collections::HashMap<String, AccountRecord>,
    id: &str,
    family: Family,
) -> Value {
    match users.get(id) {
        Some(a) => user(a, family, false),
        None => json!({ "id": id }),
    }
}
