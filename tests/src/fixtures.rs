//! Small chat helpers shared by the test files: create a namespace or a room, post,
//! read every message of a room. Each asserts success (panicking with the request and
//! response otherwise), so tests read as a sequence of steps.

use crate::client::{Call, Client};
use serde_json::{json, Value};

/// `POST /chat/` with `name` plus the fields of `extra` (an object); returns the item.
pub async fn create_namespace(c: &Client, name: &str, extra: Value) -> Value {
    let mut body = json!({"name": name, "allowCreateRoom": true});
    merge(&mut body, extra);
    c.post("/chat/").json(body).send().await.item()
}

/// `POST /chat/{ns}/room` (createRoomFromBackend) owned by `owner`; returns the item.
pub async fn create_room(c: &Client, ns: &str, room: &str, owner: &str, extra: Value) -> Value {
    let mut body = json!({"name": room, "userId": owner});
    merge(&mut body, extra);
    c.post(&format!("/chat/{ns}/room"))
        .json(body)
        .send()
        .await
        .item()
}

/// A namespace `ns` with default settings holding room `room` owned by `owner`.
pub async fn namespace_with_room(c: &Client, ns: &str, room: &str) {
    create_namespace(c, ns, json!({})).await;
    create_room(c, ns, room, "owner", json!({})).await;
}

/// `POST /chat/{ns}/room/{room}/message/user/{user}` (postByUserId); returns the item.
pub async fn post_by_user(
    c: &Client,
    ns: &str,
    room: &str,
    user: &str,
    category: i64,
    metadata: &str,
) -> Value {
    c.post(&format!("/chat/{ns}/room/{room}/message/user/{user}"))
        .json(json!({"category": category, "metadata": metadata}))
        .send()
        .await
        .item()
}

/// Every message of a room, oldest first: describeMessagesByUserId from `startAt=0`
/// with `limit=1000` (the GS2 maximum), read as `reader`.
pub async fn all_messages(c: &Client, ns: &str, room: &str) -> Vec<Value> {
    c.get(&format!("/chat/{ns}/room/{room}/message/get"))
        .query("userId", "reader")
        .query("startAt", 0)
        .query("limit", 1000)
        .send()
        .await
        .items()
}

/// Every message of a room as the node `c` talks to holds it locally
/// (`X-Chat-Read-Consistency: stale`), oldest first, paged by `startAt` = the last
/// `createdAt` + 1 with `limit=1000`, read as `reader`.
pub async fn all_messages_stale(c: &Client, ns: &str, room: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut start_at = 0i64;
    loop {
        let page = c
            .get(&format!("/chat/{ns}/room/{room}/message/get"))
            .stale()
            .query("userId", "reader")
            .query("startAt", start_at)
            .query("limit", 1000)
            .send()
            .await
            .items();
        let Some(last) = page.last() else {
            return all;
        };
        start_at = last["createdAt"].as_i64().unwrap_or(0) + 1;
        all.extend(page);
    }
}

/// Follows `nextPageToken` until it is absent or null; returns every page.
/// `call(token)` builds the request of one page. Panics after 200 pages (a page
/// token that never ends is a server bug).
pub async fn all_pages<'a>(mut call: impl FnMut(Option<String>) -> Call<'a>) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..200 {
        let (items, next) = call(token.clone()).send().await.page();
        pages.push(items);
        match next {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => return pages,
        }
    }
    panic!("more than 200 pages: nextPageToken never ends (last token {token:?})");
}

/// The `name` of every item.
pub fn names(items: &[Value]) -> Vec<String> {
    items.iter().map(|m| str_of(m, "name")).collect()
}

/// `v[key]` as a string; panics with the value if absent.
pub fn str_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string {key:?} in {v}"))
        .to_owned()
}

/// `v[key]` as an i64; panics with the value if absent.
pub fn i64_of(v: &Value, key: &str) -> i64 {
    v.get(key)
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("no integer {key:?} in {v}"))
}

/// Shallow merge of object `extra` into object `base`.
pub fn merge(base: &mut Value, extra: Value) {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        for (k, v) in e {
            b.insert(k, v);
        }
    }
}
