//! Every method of the GS2-Chat REST table (protocol §6, 54 rows) over HTTP against a
//! real `chat-node`: gzip bodies, project (backend) and player credentials, result
//! shapes (§4, §8) and chat rules (§11). One node per test; the message flow also runs
//! on a 3-node cluster with every call sent to a different node.
//!
//! Row numbers of the §6 chat table are noted next to each call (`#27`).

use chat_tests::fixtures::{
    all_messages, all_pages, create_namespace, create_room, i64_of, names, post_by_user, str_of,
};
use chat_tests::{is_uuid, wait_until, Client, Cluster, Node, NodeOpts};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

async fn single_node() -> (Node, Client) {
    let node = Node::start(NodeOpts::id(1)).await.expect("start chat-node");
    let client = node.client().await.expect("project login");
    (node, client)
}

fn set<T: Ord + Clone>(v: &[T]) -> BTreeSet<T> {
    v.iter().cloned().collect()
}

fn assert_grn(id: &str, suffix: &str) {
    assert!(
        id.starts_with("grn:gs2:") && id.ends_with(suffix),
        "GRN {id:?} should start with \"grn:gs2:\" and end with {suffix:?}"
    );
}

fn flat(pages: &[Vec<Value>]) -> Vec<Value> {
    pages.iter().flatten().cloned().collect()
}

fn assert_unique(names: &[String], what: &str) {
    assert_eq!(
        set(names).len(),
        names.len(),
        "{what}: duplicates in {names:?}"
    );
}

// ---------------------------------------------------------------------------------
// Namespaces: rows 1-7 (and retention value)
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_crud_status_version_and_retention_value() {
    let (_node, c) = single_node().await;

    // #7 getServiceVersion: literal /system/version, not a namespace named "system".
    let v = c.get("/chat/system/version").send().await.ok();
    assert!(
        v["item"].is_string(),
        "version item should be a string: {v}"
    );

    // #2 createNamespace, with messageLifeTimeDays.
    let ns = "ns-crud";
    let item = c
        .post("/chat/")
        .json(json!({"name": ns, "description": "first", "allowCreateRoom": true, "messageLifeTimeDays": 7}))
        .send()
        .await
        .item();
    assert_eq!(item["name"], ns);
    assert_eq!(item["description"], "first");
    assert_eq!(item["allowCreateRoom"], true);
    assert_eq!(
        item["messageLifeTimeDays"], 7,
        "retention value is stored: {item}"
    );
    assert_grn(&str_of(&item, "namespaceId"), &format!(":chat:{ns}"));
    let created_at = i64_of(&item, "createdAt");
    assert!(
        created_at > 1_600_000_000_000,
        "createdAt is Unix ms: {item}"
    );

    // Duplicate -> 409.
    c.post("/chat/")
        .json(json!({"name": ns}))
        .send()
        .await
        .expect_error(409, None);

    // #4 getNamespace.
    let got = c.get(&format!("/chat/{ns}")).send().await.item();
    assert_eq!(got["namespaceId"], item["namespaceId"]);
    assert_eq!(
        got["messageLifeTimeDays"], 7,
        "retention value is returned: {got}"
    );
    c.get("/chat/no-such-ns")
        .send()
        .await
        .expect_error(404, None);

    // #3 getNamespaceStatus.
    let st = c.get(&format!("/chat/{ns}/status")).send().await.ok();
    assert!(
        st["status"].as_str().is_some_and(|s| !s.is_empty()),
        "status should be a non-empty string: {st}"
    );

    // #1 describeNamespaces: prefix filter and paging.
    for extra in ["ns-crud-a", "ns-crud-b", "other-x"] {
        create_namespace(&c, extra, json!({})).await;
    }
    let prefixed = c
        .get("/chat/")
        .query("namePrefix", "ns-crud")
        .send()
        .await
        .items();
    assert_eq!(
        set(&names(&prefixed)),
        set(&["ns-crud".to_owned(), "ns-crud-a".into(), "ns-crud-b".into()]),
        "namePrefix filter"
    );
    let pages = all_pages(|t| c.get("/chat/").query("limit", 1).query_opt("pageToken", t)).await;
    assert!(
        pages.iter().all(|p| p.len() <= 1),
        "limit=1 respected: {pages:?}"
    );
    let all = names(&flat(&pages));
    assert_unique(&all, "describeNamespaces pages");
    assert_eq!(
        set(&all),
        set(&[
            "ns-crud".to_owned(),
            "ns-crud-a".into(),
            "ns-crud-b".into(),
            "other-x".into()
        ]),
        "paging covers every namespace exactly once"
    );

    // #5 updateNamespace.
    let up = c
        .put(&format!("/chat/{ns}"))
        .json(json!({"description": "second", "allowCreateRoom": false, "messageLifeTimeDays": 30}))
        .send()
        .await
        .item();
    assert_eq!(up["description"], "second");
    assert_eq!(up["allowCreateRoom"], false);
    assert_eq!(up["messageLifeTimeDays"], 30);
    assert!(
        i64_of(&up, "updatedAt") >= created_at,
        "updatedAt >= createdAt: {up}"
    );
    let got = c.get(&format!("/chat/{ns}")).send().await.item();
    assert_eq!(got["description"], "second");
    assert_eq!(got["messageLifeTimeDays"], 30);
    c.put("/chat/no-such-ns")
        .json(json!({"description": "x"}))
        .send()
        .await
        .expect_error(404, None);

    // #6 deleteNamespace.
    let del = c.delete(&format!("/chat/{ns}")).send().await.item();
    assert_eq!(del["name"], ns);
    c.get(&format!("/chat/{ns}"))
        .send()
        .await
        .expect_error(404, None);
    c.delete(&format!("/chat/{ns}"))
        .send()
        .await
        .expect_error(404, None);
    let left = names(&c.get("/chat/").send().await.items());
    assert!(
        !left.contains(&ns.to_owned()),
        "deleted namespace still listed: {left:?}"
    );
}

// ---------------------------------------------------------------------------------
// Rooms: rows 15-22
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_crud_owner_rule_and_allow_create_room() {
    let (_node, c) = single_node().await;
    let ns = "rooms";
    create_namespace(&c, ns, json!({})).await;
    let alice = c.player("alice").await;
    let bob = c.player("bob").await;

    // #17 createRoomFromBackend.
    let lobby = c
        .post(&format!("/chat/{ns}/room"))
        .json(json!({"name": "lobby", "userId": "alice", "metadata": "meta-1", "whiteListUserIds": []}))
        .send()
        .await
        .item();
    assert_eq!(lobby["name"], "lobby");
    assert_eq!(lobby["userId"], "alice");
    assert_eq!(lobby["metadata"], "meta-1");
    assert_grn(&str_of(&lobby, "roomId"), &format!(":chat:{ns}:room:lobby"));
    c.post(&format!("/chat/{ns}/room"))
        .json(json!({"name": "lobby", "userId": "bob"}))
        .send()
        .await
        .expect_error(409, None);

    // Name omitted -> UUID.
    let anon = c
        .post(&format!("/chat/{ns}/room"))
        .json(json!({"userId": "alice"}))
        .send()
        .await
        .item();
    assert!(
        is_uuid(&str_of(&anon, "name")),
        "default room name is a UUID: {anon}"
    );

    // #16 createRoom (player): owner is the token's user.
    let bobs = c
        .post(&format!("/chat/{ns}/room/user"))
        .player(&bob)
        .json(json!({"name": "bobs-room", "metadata": "bob meta"}))
        .send()
        .await
        .item();
    assert_eq!(bobs["name"], "bobs-room");
    assert_eq!(
        bobs["userId"], "bob",
        "player room is owned by the token's user"
    );
    let bob_anon = c
        .post(&format!("/chat/{ns}/room/user"))
        .player(&bob)
        .json(json!({}))
        .send()
        .await
        .item();
    assert!(
        is_uuid(&str_of(&bob_anon, "name")),
        "default room name is a UUID: {bob_anon}"
    );
    assert_eq!(bob_anon["userId"], "bob");

    // #18 getRoom.
    let got = c.get(&format!("/chat/{ns}/room/lobby")).send().await.item();
    assert_eq!(got["roomId"], lobby["roomId"]);
    assert_eq!(got["metadata"], "meta-1");
    c.get(&format!("/chat/{ns}/room/nope"))
        .send()
        .await
        .expect_error(404, None);

    // #15 describeRooms: prefix and paging.
    let lob = c
        .get(&format!("/chat/{ns}/room"))
        .query("namePrefix", "lob")
        .send()
        .await
        .items();
    assert_eq!(names(&lob), vec!["lobby".to_owned()], "namePrefix filter");
    let pages = all_pages(|t| {
        c.get(&format!("/chat/{ns}/room"))
            .query("limit", 1)
            .query_opt("pageToken", t)
    })
    .await;
    let all = names(&flat(&pages));
    assert_unique(&all, "describeRooms pages");
    assert_eq!(
        set(&all),
        set(&[
            "lobby".to_owned(),
            str_of(&anon, "name"),
            "bobs-room".into(),
            str_of(&bob_anon, "name"),
        ]),
        "describeRooms paging covers every room once"
    );

    // #19 updateRoom: the owner may, another player may not.
    let refused = c
        .put(&format!("/chat/{ns}/room/bobs-room/user"))
        .player(&alice)
        .json(json!({"metadata": "hijacked"}))
        .send()
        .await;
    refused.expect_client_error();
    let still = c
        .get(&format!("/chat/{ns}/room/bobs-room"))
        .send()
        .await
        .item();
    assert_eq!(
        still["metadata"], "bob meta",
        "non-owner update must not change the room"
    );
    let upd = c
        .put(&format!("/chat/{ns}/room/bobs-room/user"))
        .player(&bob)
        .json(json!({"metadata": "bob meta 2"}))
        .send()
        .await
        .item();
    assert_eq!(upd["metadata"], "bob meta 2");
    assert_eq!(upd["userId"], "bob");

    // #20 updateRoomFromBackend.
    let upd = c
        .put(&format!("/chat/{ns}/room/lobby"))
        .json(json!({"metadata": "meta-2", "userId": "alice"}))
        .send()
        .await
        .item();
    assert_eq!(upd["metadata"], "meta-2");
    let got = c.get(&format!("/chat/{ns}/room/lobby")).send().await.item();
    assert_eq!(got["metadata"], "meta-2");
    c.put(&format!("/chat/{ns}/room/nope"))
        .json(json!({"metadata": "x"}))
        .send()
        .await
        .expect_error(404, None);

    // #21 deleteRoom: another player may not, the owner may.
    c.delete(&format!("/chat/{ns}/room/bobs-room/user"))
        .player(&alice)
        .send()
        .await
        .expect_client_error();
    c.get(&format!("/chat/{ns}/room/bobs-room"))
        .send()
        .await
        .item();
    let del = c
        .delete(&format!("/chat/{ns}/room/bobs-room/user"))
        .player(&bob)
        .send()
        .await
        .item();
    assert_eq!(del["name"], "bobs-room");
    c.get(&format!("/chat/{ns}/room/bobs-room"))
        .send()
        .await
        .expect_error(404, None);

    // #22 deleteRoomFromBackend.
    let del = c
        .delete(&format!("/chat/{ns}/room/lobby"))
        .query("userId", "alice")
        .send()
        .await
        .item();
    assert_eq!(del["name"], "lobby");
    c.get(&format!("/chat/{ns}/room/lobby"))
        .send()
        .await
        .expect_error(404, None);
    c.delete(&format!("/chat/{ns}/room/lobby"))
        .query("userId", "alice")
        .send()
        .await
        .expect_error(404, None);

    // allowCreateRoom=false refuses player createRoom (backend creation stays allowed).
    create_namespace(&c, "closed", json!({"allowCreateRoom": false})).await;
    c.post("/chat/closed/room/user")
        .player(&alice)
        .json(json!({"name": "sneaky"}))
        .send()
        .await
        .expect_client_error();
    c.get("/chat/closed/room/sneaky")
        .send()
        .await
        .expect_error(404, None);
    create_room(&c, "closed", "official", "alice", json!({})).await;

    // Rooms in a missing namespace.
    c.post("/chat/no-such-ns/room")
        .json(json!({"name": "r", "userId": "alice"}))
        .send()
        .await
        .expect_error(404, None);
}

// ---------------------------------------------------------------------------------
// Passwords and white lists (§11 codes)
// ---------------------------------------------------------------------------------

fn assert_password_hidden(room: &Value, password: &str) {
    match room.get("password") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => assert_ne!(
            s, password,
            "room JSON must not carry the password in clear: {room}"
        ),
        Some(other) => panic!("room password field has an unexpected type: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_passwords_and_white_list() {
    let (_node, c) = single_node().await;
    let ns = "secure";
    create_namespace(&c, ns, json!({})).await;
    let alice = c.player("alice").await;
    let bob = c.player("bob").await;
    let pw = "s3cret-pw";

    let room = create_room(&c, ns, "locked", "owner", json!({"password": pw})).await;
    assert_password_hidden(&room, pw);
    assert_password_hidden(
        &c.get(&format!("/chat/{ns}/room/locked"))
            .send()
            .await
            .item(),
        pw,
    );
    for r in c.get(&format!("/chat/{ns}/room")).send().await.items() {
        assert_password_hidden(&r, pw);
    }
    let base = format!("/chat/{ns}/room/locked");

    // #27 post
    c.post(&format!("{base}/message"))
        .player(&alice)
        .json(json!({"category": 0, "metadata": "no pw"}))
        .send()
        .await
        .expect_error(400, Some("room.password.require"));
    c.post(&format!("{base}/message"))
        .player(&alice)
        .json(json!({"category": 0, "metadata": "bad pw", "password": "wrong"}))
        .send()
        .await
        .expect_error(400, Some("room.password.invalid"));
    let m1 = c
        .post(&format!("{base}/message"))
        .player(&alice)
        .json(json!({"category": 0, "metadata": "good pw", "password": pw}))
        .send()
        .await
        .item();
    // #28 postByUserId
    c.post(&format!("{base}/message/user/bob"))
        .json(json!({"category": 0, "metadata": "no pw"}))
        .send()
        .await
        .expect_error(400, Some("room.password.require"));
    c.post(&format!("{base}/message/user/bob"))
        .json(json!({"category": 0, "metadata": "bad", "password": "wrong"}))
        .send()
        .await
        .expect_error(400, Some("room.password.invalid"));
    c.post(&format!("{base}/message/user/bob"))
        .json(json!({"category": 0, "metadata": "bob good", "password": pw}))
        .send()
        .await
        .item();

    // Reads carry the password in the query string.
    for (path, player) in [
        (format!("{base}/message"), true),             // #23
        (format!("{base}/message/get"), false),        // #24
        (format!("{base}/message/latest"), true),      // #25
        (format!("{base}/message/latest/get"), false), // #26
    ] {
        let call = |password: Option<&str>| {
            let mut call = c.get(&path).query_opt("password", password);
            if player {
                call = call.player(&alice);
            } else {
                call = call.query("userId", "alice");
            }
            call
        };
        call(None)
            .send()
            .await
            .expect_error(400, Some("room.password.require"));
        call(Some("wrong"))
            .send()
            .await
            .expect_error(400, Some("room.password.invalid"));
        let items = call(Some(pw)).send().await.items();
        assert_eq!(
            items.len(),
            2,
            "{path}: both accepted posts visible: {items:?}"
        );
    }
    // #29 getMessage, #30 getMessageByUserId
    let mpath = format!("{base}/message/{}", str_of(&m1, "name"));
    c.get(&mpath)
        .player(&alice)
        .send()
        .await
        .expect_error(400, Some("room.password.require"));
    c.get(&mpath)
        .player(&alice)
        .query("password", "wrong")
        .send()
        .await
        .expect_error(400, Some("room.password.invalid"));
    let got = c
        .get(&mpath)
        .player(&alice)
        .query("password", pw)
        .send()
        .await
        .item();
    assert_eq!(got["metadata"], "good pw");
    c.get(&format!("{mpath}/get"))
        .query("userId", "alice")
        .send()
        .await
        .expect_error(400, Some("room.password.require"));
    c.get(&format!("{mpath}/get"))
        .query("userId", "alice")
        .query("password", pw)
        .send()
        .await
        .item();

    // Changing the password: the old one becomes invalid.
    let upd = c
        .put(&base)
        .json(json!({"password": "new-pw", "userId": "owner"}))
        .send()
        .await
        .item();
    assert_password_hidden(&upd, "new-pw");
    c.post(&format!("{base}/message"))
        .player(&alice)
        .json(json!({"category": 0, "metadata": "old", "password": pw}))
        .send()
        .await
        .expect_error(400, Some("room.password.invalid"));
    c.post(&format!("{base}/message"))
        .player(&alice)
        .json(json!({"category": 0, "metadata": "new", "password": "new-pw"}))
        .send()
        .await
        .item();

    // White list.
    create_room(
        &c,
        ns,
        "vip",
        "alice",
        json!({"whiteListUserIds": ["alice", "carol"]}),
    )
    .await;
    let vip = format!("/chat/{ns}/room/vip");
    c.post(&format!("{vip}/message"))
        .player(&bob)
        .json(json!({"category": 0, "metadata": "let me in"}))
        .send()
        .await
        .expect_error(400, Some("room.allowUserIds.notInclude"));
    c.post(&format!("{vip}/message/user/bob"))
        .json(json!({"category": 0, "metadata": "let me in"}))
        .send()
        .await
        .expect_error(400, Some("room.allowUserIds.notInclude"));
    c.get(&format!("{vip}/message"))
        .player(&bob)
        .send()
        .await
        .expect_error(400, Some("room.allowUserIds.notInclude"));
    c.get(&format!("{vip}/message/latest"))
        .player(&bob)
        .send()
        .await
        .expect_error(400, Some("room.allowUserIds.notInclude"));
    let ok = c
        .post(&format!("{vip}/message"))
        .player(&alice)
        .json(json!({"category": 0, "metadata": "member"}))
        .send()
        .await
        .item();
    c.get(&format!("{vip}/message/{}", str_of(&ok, "name")))
        .player(&bob)
        .send()
        .await
        .expect_error(400, Some("room.allowUserIds.notInclude"));
    c.post(&format!("{vip}/message/user/carol"))
        .json(json!({"category": 0, "metadata": "member too"}))
        .send()
        .await
        .item();
    let items = c
        .get(&format!("{vip}/message"))
        .player(&alice)
        .send()
        .await
        .items();
    assert_eq!(
        items.len(),
        2,
        "only the white-listed posts exist: {items:?}"
    );
}

// ---------------------------------------------------------------------------------
// Messages: rows 23-31, single node and 3-node cluster
// ---------------------------------------------------------------------------------

/// The message flow; call `i` goes to `clients[i % len]`, so on a cluster every read
/// may hit another node than the preceding write (read-your-writes).
async fn messages_flow(clients: &[Client]) {
    let mut turn = 0usize;
    let mut next = || {
        turn += 1;
        &clients[turn % clients.len()]
    };
    let ns = "msgs";
    create_namespace(next(), ns, json!({})).await;
    create_room(next(), ns, "general", "owner", json!({})).await;
    let alice = next().player("alice").await;
    let base = format!("/chat/{ns}/room/general");

    // #27 post (player, category 0) and #28 postByUserId (bob, category 1), interleaved.
    let mut posted: Vec<Value> = Vec::new();
    for i in 0..10 {
        let m = if i % 3 == 2 {
            next()
                .post(&format!("{base}/message/user/bob"))
                .json(json!({"category": 1, "metadata": format!("b-{i}")}))
                .send()
                .await
                .item()
        } else {
            next()
                .post(&format!("{base}/message"))
                .player(&alice)
                .json(json!({"category": 0, "metadata": format!("a-{i}")}))
                .send()
                .await
                .item()
        };
        let name = str_of(&m, "name");
        assert!(is_uuid(&name), "message name is a UUID: {m}");
        assert_eq!(m["roomName"], "general");
        assert_eq!(m["userId"], if i % 3 == 2 { "bob" } else { "alice" });
        assert_eq!(m["category"], if i % 3 == 2 { 1 } else { 0 });
        assert_grn(
            &str_of(&m, "messageId"),
            &format!(":chat:{ns}:room:general:message:{name}"),
        );
        assert!(
            i64_of(&m, "createdAt") > 1_600_000_000_000,
            "createdAt is Unix ms: {m}"
        );
        posted.push(m);
    }
    let posted_names = names(&posted);
    assert_unique(&posted_names, "posted message names");
    let bob_names: Vec<String> = posted
        .iter()
        .filter(|m| m["userId"] == "bob")
        .map(|m| str_of(m, "name"))
        .collect();
    let alice_names: Vec<String> = posted
        .iter()
        .filter(|m| m["userId"] == "alice")
        .map(|m| str_of(m, "name"))
        .collect();

    // #29 getMessage and #30 getMessageByUserId return what post returned.
    for m in &posted {
        let name = str_of(m, "name");
        let got = next()
            .get(&format!("{base}/message/{name}"))
            .player(&alice)
            .send()
            .await
            .item();
        for k in [
            "name",
            "userId",
            "category",
            "metadata",
            "createdAt",
            "messageId",
        ] {
            assert_eq!(got[k], m[k], "getMessage field {k}: got {got}, posted {m}");
        }
        let got = next()
            .get(&format!("{base}/message/{name}/get"))
            .query("userId", "alice")
            .send()
            .await
            .item();
        assert_eq!(got["metadata"], m["metadata"]);
    }
    next()
        .get(&format!(
            "{base}/message/00000000-0000-0000-0000-000000000000"
        ))
        .player(&alice)
        .send()
        .await
        .expect_error(404, None);

    // #23 describeMessages: ascending createdAt from startAt, limit.
    let full = next()
        .get(&format!("{base}/message"))
        .player(&alice)
        .query("startAt", 0)
        .query("limit", 1000)
        .send()
        .await
        .items();
    let full_names = names(&full);
    assert_unique(&full_names, "describeMessages");
    assert_eq!(
        set(&full_names),
        set(&posted_names),
        "describeMessages returns every post"
    );
    let times: Vec<i64> = full.iter().map(|m| i64_of(m, "createdAt")).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "ascending createdAt: {times:?}"
    );
    let first3 = next()
        .get(&format!("{base}/message"))
        .player(&alice)
        .query("startAt", 0)
        .query("limit", 3)
        .send()
        .await
        .items();
    assert_eq!(
        names(&first3),
        full_names[..3].to_vec(),
        "limit=3 gives the oldest 3"
    );
    let start_at = times[4];
    let expect_from: Vec<String> = full
        .iter()
        .filter(|m| i64_of(m, "createdAt") >= start_at)
        .map(|m| str_of(m, "name"))
        .collect();
    let from = next()
        .get(&format!("{base}/message"))
        .player(&alice)
        .query("startAt", start_at)
        .query("limit", 1000)
        .send()
        .await
        .items();
    assert_eq!(
        names(&from),
        expect_from,
        "startAt={start_at} returns messages created at or after it"
    );
    let from2 = next()
        .get(&format!("{base}/message"))
        .player(&alice)
        .query("startAt", start_at)
        .query("limit", 2)
        .send()
        .await
        .items();
    assert_eq!(
        names(&from2),
        expect_from[..2].to_vec(),
        "startAt with limit=2"
    );

    // #24 describeMessagesByUserId.
    let by_user = next()
        .get(&format!("{base}/message/get"))
        .query("userId", "alice")
        .query("startAt", 0)
        .query("limit", 1000)
        .send()
        .await
        .items();
    assert_eq!(
        names(&by_user),
        full_names,
        "describeMessagesByUserId = describeMessages"
    );

    // Category filter.
    let cat1 = next()
        .get(&format!("{base}/message"))
        .player(&alice)
        .query("category", 1)
        .query("startAt", 0)
        .query("limit", 1000)
        .send()
        .await
        .items();
    assert_eq!(set(&names(&cat1)), set(&bob_names), "category=1 filter");
    let cat0 = next()
        .get(&format!("{base}/message/get"))
        .query("userId", "alice")
        .query("category", 0)
        .query("limit", 1000)
        .send()
        .await
        .items();
    assert_eq!(set(&names(&cat0)), set(&alice_names), "category=0 filter");

    // #25 describeLatestMessages: newest first, pageToken paging covers all once.
    let pages = all_pages(|t| {
        next()
            .get(&format!("{base}/message/latest"))
            .player(&alice)
            .query("limit", 3)
            .query_opt("pageToken", t)
    })
    .await;
    assert!(
        pages.iter().all(|p| p.len() <= 3),
        "limit=3 respected: {pages:?}"
    );
    assert_eq!(pages[0].len(), 3, "first page is full");
    let latest = flat(&pages);
    let latest_names = names(&latest);
    assert_unique(&latest_names, "describeLatestMessages pages");
    assert_eq!(
        set(&latest_names),
        set(&posted_names),
        "latest pages cover every message"
    );
    let ltimes: Vec<i64> = latest.iter().map(|m| i64_of(m, "createdAt")).collect();
    assert!(
        ltimes.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {ltimes:?}"
    );
    assert_eq!(
        ltimes[0],
        *times.last().expect("non-empty"),
        "first is the newest"
    );
    let latest_cat1 = next()
        .get(&format!("{base}/message/latest"))
        .player(&alice)
        .query("category", 1)
        .query("limit", 100)
        .send()
        .await
        .items();
    assert_eq!(
        set(&names(&latest_cat1)),
        set(&bob_names),
        "latest with category=1"
    );
    assert!(latest_cat1.iter().all(|m| m["category"] == 1));

    // #26 describeLatestMessagesByUserId.
    let latest_by = next()
        .get(&format!("{base}/message/latest/get"))
        .query("userId", "alice")
        .query("limit", 1000)
        .send()
        .await
        .items();
    assert_eq!(set(&names(&latest_by)), set(&posted_names));

    // #31 deleteMessage.
    let victim = posted_names[0].clone();
    let del = next()
        .delete(&format!("{base}/message/{victim}"))
        .query("userId", "alice")
        .send()
        .await
        .item();
    assert_eq!(del["name"], victim.as_str());
    next()
        .get(&format!("{base}/message/{victim}"))
        .player(&alice)
        .send()
        .await
        .expect_error(404, None);
    let after = names(&all_messages(next(), ns, "general").await);
    assert_eq!(after.len(), posted.len() - 1);
    assert!(!after.contains(&victim));

    // Missing room.
    next()
        .post(&format!("/chat/{ns}/room/missing/message"))
        .player(&alice)
        .json(json!({"category": 0, "metadata": "x"}))
        .send()
        .await
        .expect_error(404, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_post_get_describe_latest_delete_single_node() {
    let (_node, c) = single_node().await;
    messages_flow(&[c]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_flow_across_three_node_cluster() {
    let cluster = Cluster::start(3).await.expect("start 3-node cluster");
    let mut clients = Vec::new();
    for n in &cluster.nodes {
        clients.push(n.client().await.expect("login"));
    }
    messages_flow(&clients).await;
}

// ---------------------------------------------------------------------------------
// rejectAccessTokenPost follows the current (active) master
// ---------------------------------------------------------------------------------

fn settings(models: &[(i64, &str)]) -> String {
    let list: Vec<Value> = models
        .iter()
        .map(|(c, r)| json!({"category": c, "rejectAccessTokenPost": r}))
        .collect();
    json!({"version": "2020-04-30", "categoryModels": list}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_access_token_post_uses_current_master() {
    let (_node, c) = single_node().await;
    let ns = "reject";
    create_namespace(&c, ns, json!({})).await;
    create_room(&c, ns, "r", "owner", json!({})).await;
    let alice = c.player("alice").await;
    let post = |cat: i64| {
        c.post(&format!("/chat/{ns}/room/r/message"))
            .player(&alice)
            .json(json!({"category": cat, "metadata": format!("cat {cat}")}))
    };

    // A master that is not activated has no effect.
    c.post(&format!("/chat/{ns}/master/model"))
        .json(json!({"category": 7, "rejectAccessTokenPost": "Enabled"}))
        .send()
        .await
        .item();
    post(7).send().await.item();

    // Activate: category 5 rejects access-token posts, 6 does not.
    c.put(&format!("/chat/{ns}/master"))
        .json(json!({"mode": "direct", "settings": settings(&[(5, "Enabled"), (6, "Disabled")])}))
        .send()
        .await
        .item();
    post(5).send().await.expect_error(400, None);
    c.post(&format!("/chat/{ns}/room/r/message/user/alice"))
        .json(json!({"category": 5, "metadata": "backend cat 5"}))
        .send()
        .await
        .item();
    post(6).send().await.item();
    let metas: Vec<String> = all_messages(&c, ns, "r")
        .await
        .iter()
        .map(|m| str_of(m, "metadata"))
        .collect();
    assert_eq!(
        set(&metas),
        set(&["cat 7".to_owned(), "backend cat 5".into(), "cat 6".into()]),
        "the rejected post must not exist"
    );

    // Re-activate with category 5 open: the player post is accepted.
    c.put(&format!("/chat/{ns}/master"))
        .json(json!({"mode": "direct", "settings": settings(&[(5, "Disabled")])}))
        .send()
        .await
        .item();
    post(5).send().await.item();
}

// ---------------------------------------------------------------------------------
// Subscriptions: rows 32-42
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_every_method() {
    let (_node, c) = single_node().await;
    let ns = "subs";
    create_namespace(&c, ns, json!({})).await;
    for r in ["room-a", "room-b", "other"] {
        create_room(&c, ns, r, "owner", json!({})).await;
    }
    let alice = c.player("alice").await;

    // #35 subscribe (player).
    let sa = c
        .post(&format!("/chat/{ns}/user/me/room/room-a/subscribe"))
        .player(&alice)
        .json(json!({"notificationTypes": [{"category": 0, "enableTransferMobilePushNotification": false}]}))
        .send()
        .await
        .item();
    assert_eq!(sa["userId"], "alice");
    assert_eq!(sa["roomName"], "room-a");
    assert_eq!(sa["notificationTypes"][0]["category"], 0);
    assert_eq!(
        sa["notificationTypes"][0]["enableTransferMobilePushNotification"],
        false
    );
    assert_grn(
        &str_of(&sa, "subscribeId"),
        &format!(":chat:{ns}:user:alice:subscribe:room-a"),
    );
    c.post(&format!("/chat/{ns}/user/me/room/room-b/subscribe"))
        .player(&alice)
        .json(json!({"notificationTypes": [{"category": 1, "enableTransferMobilePushNotification": true}]}))
        .send()
        .await
        .item();
    // #36 subscribeByUserId.
    let so = c
        .post(&format!("/chat/{ns}/user/alice/room/other/subscribe"))
        .json(json!({"notificationTypes": []}))
        .send()
        .await
        .item();
    assert_eq!(so["userId"], "alice");
    assert_eq!(so["roomName"], "other");

    // #37 getSubscribe, #38 getSubscribeByUserId.
    let g = c
        .get(&format!("/chat/{ns}/user/me/room/room-a/subscribe"))
        .player(&alice)
        .send()
        .await
        .item();
    assert_eq!(g["subscribeId"], sa["subscribeId"]);
    let g = c
        .get(&format!("/chat/{ns}/user/alice/room/room-b/subscribe"))
        .send()
        .await
        .item();
    assert_eq!(g["notificationTypes"][0]["category"], 1);
    assert_eq!(
        g["notificationTypes"][0]["enableTransferMobilePushNotification"],
        true
    );
    c.get(&format!("/chat/{ns}/user/bob/room/room-a/subscribe"))
        .send()
        .await
        .expect_error(404, None);

    // #32 describeSubscribes (player), roomNamePrefix and paging.
    let room_names =
        |items: &[Value]| -> Vec<String> { items.iter().map(|s| str_of(s, "roomName")).collect() };
    let mine = c
        .get(&format!("/chat/{ns}/user/me/room/subscribe"))
        .player(&alice)
        .send()
        .await
        .items();
    assert_eq!(
        set(&room_names(&mine)),
        set(&["room-a".to_owned(), "room-b".into(), "other".into()])
    );
    let prefixed = c
        .get(&format!("/chat/{ns}/user/me/room/subscribe"))
        .player(&alice)
        .query("roomNamePrefix", "room-")
        .send()
        .await
        .items();
    assert_eq!(
        set(&room_names(&prefixed)),
        set(&["room-a".to_owned(), "room-b".into()])
    );
    let pages = all_pages(|t| {
        c.get(&format!("/chat/{ns}/user/me/room/subscribe"))
            .player(&alice)
            .query("limit", 1)
            .query_opt("pageToken", t)
    })
    .await;
    let paged = room_names(&flat(&pages));
    assert_unique(&paged, "describeSubscribes pages");
    assert_eq!(paged.len(), 3);
    // #33 describeSubscribesByUserId.
    let oth = c
        .get(&format!("/chat/{ns}/user/alice/room/subscribe"))
        .query("roomNamePrefix", "oth")
        .send()
        .await
        .items();
    assert_eq!(room_names(&oth), vec!["other".to_owned()]);

    // #34 describeSubscribesByRoomName with paging over 6 subscribers.
    let mut expect_users = vec!["alice".to_owned()];
    for i in 0..5 {
        let u = format!("u{i}");
        c.post(&format!("/chat/{ns}/user/{u}/room/room-a/subscribe"))
            .json(json!({"notificationTypes": [{"category": 0, "enableTransferMobilePushNotification": false}]}))
            .send()
            .await
            .item();
        expect_users.push(u);
    }
    let pages = all_pages(|t| {
        c.get(&format!("/chat/{ns}/room/room-a/subscribe"))
            .query("limit", 2)
            .query_opt("pageToken", t)
    })
    .await;
    assert!(pages.iter().all(|p| p.len() <= 2));
    let subs = flat(&pages);
    let users: Vec<String> = subs.iter().map(|s| str_of(s, "userId")).collect();
    assert_unique(&users, "describeSubscribesByRoomName pages");
    assert_eq!(set(&users), set(&expect_users));
    assert!(subs.iter().all(|s| s["roomName"] == "room-a"));

    // #39 updateNotificationType, #40 ...ByUserId.
    let u = c
        .post(&format!("/chat/{ns}/user/me/room/room-a/subscribe/notification"))
        .player(&alice)
        .json(json!({"notificationTypes": [{"category": 5, "enableTransferMobilePushNotification": true}]}))
        .send()
        .await
        .item();
    assert_eq!(u["notificationTypes"][0]["category"], 5);
    let g = c
        .get(&format!("/chat/{ns}/user/me/room/room-a/subscribe"))
        .player(&alice)
        .send()
        .await
        .item();
    assert_eq!(
        g["notificationTypes"].as_array().map(Vec::len),
        Some(1),
        "{g}"
    );
    assert_eq!(g["notificationTypes"][0]["category"], 5);
    assert_eq!(
        g["notificationTypes"][0]["enableTransferMobilePushNotification"],
        true
    );
    let u = c
        .post(&format!("/chat/{ns}/user/alice/room/room-b/subscribe/notification"))
        .json(json!({"notificationTypes": [{"category": 7, "enableTransferMobilePushNotification": false}, {"category": 8, "enableTransferMobilePushNotification": false}]}))
        .send()
        .await
        .item();
    assert_eq!(
        u["notificationTypes"].as_array().map(Vec::len),
        Some(2),
        "{u}"
    );
    let g = c
        .get(&format!("/chat/{ns}/user/alice/room/room-b/subscribe"))
        .send()
        .await
        .item();
    assert_eq!(g["notificationTypes"][1]["category"], 8);
    c.post(&format!(
        "/chat/{ns}/user/bob/room/room-b/subscribe/notification"
    ))
    .json(json!({"notificationTypes": []}))
    .send()
    .await
    .expect_error(404, None);

    // #41 unsubscribe, #42 unsubscribeByUserId.
    let d = c
        .delete(&format!("/chat/{ns}/user/me/room/room-a/subscribe"))
        .player(&alice)
        .send()
        .await
        .item();
    assert_eq!(d["roomName"], "room-a");
    c.get(&format!("/chat/{ns}/user/me/room/room-a/subscribe"))
        .player(&alice)
        .send()
        .await
        .expect_error(404, None);
    let by_room = c
        .get(&format!("/chat/{ns}/room/room-a/subscribe"))
        .send()
        .await
        .items();
    assert!(
        !by_room.iter().any(|s| s["userId"] == "alice"),
        "unsubscribed user still listed by room: {by_room:?}"
    );
    let d = c
        .delete(&format!("/chat/{ns}/user/alice/room/other/subscribe"))
        .send()
        .await
        .item();
    assert_eq!(d["roomName"], "other");
    c.get(&format!("/chat/{ns}/user/alice/room/other/subscribe"))
        .send()
        .await
        .expect_error(404, None);
    c.delete(&format!("/chat/{ns}/user/alice/room/other/subscribe"))
        .send()
        .await
        .expect_error(404, None);
    let left = c
        .get(&format!("/chat/{ns}/user/alice/room/subscribe"))
        .send()
        .await
        .items();
    assert_eq!(room_names(&left), vec!["room-b".to_owned()]);

    // Subscribing to a missing room.
    c.post(&format!("/chat/{ns}/user/me/room/missing/subscribe"))
        .player(&alice)
        .json(json!({"notificationTypes": []}))
        .send()
        .await
        .expect_error(404, None);
}

// ---------------------------------------------------------------------------------
// Category models, masters, current master: rows 43-54
// ---------------------------------------------------------------------------------

fn parse_settings(item: &Value) -> Vec<(i64, String)> {
    let text = str_of(item, "settings");
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("settings is not JSON ({e}): {text}"));
    let mut out: Vec<(i64, String)> = v["categoryModels"]
        .as_array()
        .unwrap_or_else(|| panic!("settings has no categoryModels list: {text}"))
        .iter()
        .map(|m| (i64_of(m, "category"), str_of(m, "rejectAccessTokenPost")))
        .collect();
    out.sort();
    out
}

fn models_of(items: &[Value]) -> Vec<(i64, String)> {
    let mut out: Vec<(i64, String)> = items
        .iter()
        .map(|m| (i64_of(m, "category"), str_of(m, "rejectAccessTokenPost")))
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn category_model_masters_current_master_and_pre_upload() {
    let (_node, c) = single_node().await;
    let ns = "models";
    create_namespace(&c, ns, json!({})).await;
    let masters = format!("/chat/{ns}/master/model");

    // #45 describe (empty), #46 create.
    assert!(c.get(&masters).send().await.items().is_empty());
    let m1 = c
        .post(&masters)
        .json(json!({"category": 1, "description": "one", "rejectAccessTokenPost": "Enabled"}))
        .send()
        .await
        .item();
    assert_eq!(m1["category"], 1);
    assert_eq!(m1["description"], "one");
    assert_eq!(m1["rejectAccessTokenPost"], "Enabled");
    assert_grn(
        &str_of(&m1, "categoryModelId"),
        &format!(":chat:{ns}:model:1"),
    );
    for cat in [2, 3] {
        c.post(&masters)
            .json(json!({"category": cat, "description": format!("c{cat}"), "rejectAccessTokenPost": "Disabled"}))
            .send()
            .await
            .item();
    }
    c.post(&masters)
        .json(json!({"category": 1, "rejectAccessTokenPost": "Disabled"}))
        .send()
        .await
        .expect_error(409, None);

    // #47 get, #48 update.
    let g = c.get(&format!("{masters}/2")).send().await.item();
    assert_eq!(g["description"], "c2");
    c.get(&format!("{masters}/99"))
        .send()
        .await
        .expect_error(404, None);
    let u = c
        .put(&format!("{masters}/2"))
        .json(json!({"description": "two!", "rejectAccessTokenPost": "Enabled"}))
        .send()
        .await
        .item();
    assert_eq!(u["description"], "two!");
    assert_eq!(u["rejectAccessTokenPost"], "Enabled");
    assert_eq!(
        c.get(&format!("{masters}/2")).send().await.item()["rejectAccessTokenPost"],
        "Enabled"
    );

    // #45 paging.
    let pages = all_pages(|t| c.get(&masters).query("limit", 1).query_opt("pageToken", t)).await;
    let mut cats: Vec<i64> = flat(&pages).iter().map(|m| i64_of(m, "category")).collect();
    cats.sort_unstable();
    assert_eq!(
        cats,
        vec![1, 2, 3],
        "master paging covers every master once"
    );

    // #49 delete.
    assert_eq!(
        c.delete(&format!("{masters}/3")).send().await.item()["category"],
        3
    );
    c.get(&format!("{masters}/3"))
        .send()
        .await
        .expect_error(404, None);
    c.delete(&format!("{masters}/3"))
        .send()
        .await
        .expect_error(404, None);

    // #50 exportMaster: the masters as settings JSON.
    let exported = c
        .get(&format!("/chat/{ns}/master/export"))
        .send()
        .await
        .item();
    let exp_models = parse_settings(&exported);
    assert_eq!(
        exp_models,
        vec![(1, "Enabled".to_owned()), (2, "Enabled".to_owned())],
        "export reflects the masters"
    );
    let exp_text = str_of(&exported, "settings");
    let exp_json: Value = serde_json::from_str(&exp_text).expect("json");
    assert_eq!(exp_json["version"], "2020-04-30", "{exp_text}");

    // #51 getCurrentModelMaster before any activation: never a 5xx.
    let before = c.get(&format!("/chat/{ns}/master")).send().await;
    assert!(
        before.status == 200 || before.status == 404,
        "{} -> {} {}",
        before.desc,
        before.status,
        before.text
    );

    // #53 updateCurrentModelMaster, mode direct with the exported settings.
    let cur = c
        .put(&format!("/chat/{ns}/master"))
        .json(json!({"mode": "direct", "settings": exp_text}))
        .send()
        .await
        .item();
    assert_grn(&str_of(&cur, "namespaceId"), &format!(":chat:{ns}"));
    assert_eq!(parse_settings(&cur), exp_models);
    let cur = c.get(&format!("/chat/{ns}/master")).send().await.item();
    assert_eq!(parse_settings(&cur), exp_models);

    // #43 describeCategoryModels, #44 getCategoryModel.
    let models = c.get(&format!("/chat/{ns}/model")).send().await.items();
    assert_eq!(models_of(&models), exp_models);
    let m = c.get(&format!("/chat/{ns}/model/1")).send().await.item();
    assert_eq!(m["rejectAccessTokenPost"], "Enabled");
    assert_grn(
        &str_of(&m, "categoryModelId"),
        &format!(":chat:{ns}:model:1"),
    );
    c.get(&format!("/chat/{ns}/model/3"))
        .send()
        .await
        .expect_error(404, None);

    // #52 preUpdateCurrentModelMaster + raw PUT + #53 mode preUpload (the SDK's
    // three-request flow, §6.1).
    let pre = c.post(&format!("/chat/{ns}/master")).send().await.ok();
    let token = str_of(&pre, "uploadToken");
    let url = str_of(&pre, "uploadUrl");
    assert!(
        url.starts_with("http://") || url.starts_with("https://"),
        "uploadUrl is absolute: {url}"
    );
    let new_settings = settings(&[(10, "Disabled"), (11, "Enabled")]);
    let put = c
        .http()
        .put(&url)
        .header("Content-Type", "application/json")
        .body(new_settings.clone())
        .send()
        .await
        .expect("PUT uploadUrl");
    assert!(put.status().is_success(), "PUT {url} -> {}", put.status());
    let cur = c
        .put(&format!("/chat/{ns}/master"))
        .json(json!({"mode": "preUpload", "uploadToken": token}))
        .send()
        .await
        .item();
    let want = vec![(10, "Disabled".to_owned()), (11, "Enabled".to_owned())];
    assert_eq!(parse_settings(&cur), want);
    let models = c.get(&format!("/chat/{ns}/model")).send().await.items();
    assert_eq!(
        models_of(&models),
        want,
        "describeCategoryModels reflects the uploaded settings"
    );
    c.get(&format!("/chat/{ns}/model/1"))
        .send()
        .await
        .expect_error(404, None);
    assert_eq!(
        c.get(&format!("/chat/{ns}/model/11")).send().await.item()["rejectAccessTokenPost"],
        "Enabled"
    );
    // A preUpload with an unknown token is refused, and changes nothing.
    c.put(&format!("/chat/{ns}/master"))
        .json(json!({"mode": "preUpload", "uploadToken": "no-such-token"}))
        .send()
        .await
        .expect_client_error();
    // Settings that are not JSON are refused.
    c.put(&format!("/chat/{ns}/master"))
        .json(json!({"mode": "direct", "settings": "{not json"}))
        .send()
        .await
        .expect_error(400, None);
    let models = c.get(&format!("/chat/{ns}/model")).send().await.items();
    assert_eq!(models_of(&models), want, "refused updates change nothing");

    // #54 updateCurrentModelMasterFromGitHub is not supported: 400.
    c.put(&format!("/chat/{ns}/master/from_git_hub"))
        .json(json!({"checkoutSetting": {
            "apiKeyId": "grn:gs2:ap-northeast-1:owner:key:default:key:default",
            "repositoryName": "org/repo", "sourcePath": "chat.json", "referenceType": "branch",
            "commitHash": null, "branchName": "main", "tagName": null}}))
        .send()
        .await
        .expect_error(400, None);
}

// ---------------------------------------------------------------------------------
// Cascades
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_room_and_delete_namespace_cascade() {
    let (_node, c) = single_node().await;
    let ns = "cascade";
    create_namespace(&c, ns, json!({})).await;
    create_room(&c, ns, "doomed", "owner", json!({})).await;
    create_room(&c, ns, "kept", "owner", json!({})).await;
    let mut doomed_msgs = Vec::new();
    for (i, u) in ["alice", "bob", "alice"].iter().enumerate() {
        doomed_msgs.push(str_of(
            &post_by_user(&c, ns, "doomed", u, 0, &format!("d{i}")).await,
            "name",
        ));
    }
    let kept_msg = str_of(&post_by_user(&c, ns, "kept", "alice", 0, "k").await, "name");
    for (u, r) in [("alice", "doomed"), ("bob", "doomed"), ("alice", "kept")] {
        c.post(&format!("/chat/{ns}/user/{u}/room/{r}/subscribe"))
            .json(json!({"notificationTypes": []}))
            .send()
            .await
            .item();
    }

    c.delete(&format!("/chat/{ns}/room/doomed"))
        .query("userId", "owner")
        .send()
        .await
        .item();
    c.get(&format!("/chat/{ns}/room/doomed"))
        .send()
        .await
        .expect_error(404, None);
    for m in &doomed_msgs {
        c.get(&format!("/chat/{ns}/room/doomed/message/{m}/get"))
            .query("userId", "alice")
            .send()
            .await
            .expect_error(404, None);
    }
    let alice_subs: Vec<String> = c
        .get(&format!("/chat/{ns}/user/alice/room/subscribe"))
        .send()
        .await
        .items()
        .iter()
        .map(|s| str_of(s, "roomName"))
        .collect();
    assert_eq!(
        alice_subs,
        vec!["kept".to_owned()],
        "subscriptions of the deleted room are gone"
    );
    assert!(c
        .get(&format!("/chat/{ns}/user/bob/room/subscribe"))
        .send()
        .await
        .items()
        .is_empty());
    c.get(&format!("/chat/{ns}/user/bob/room/doomed/subscribe"))
        .send()
        .await
        .expect_error(404, None);
    // Re-creating the room does not resurrect anything.
    create_room(&c, ns, "doomed", "owner", json!({})).await;
    assert!(
        all_messages(&c, ns, "doomed").await.is_empty(),
        "old messages resurrected"
    );
    assert!(c
        .get(&format!("/chat/{ns}/room/doomed/subscribe"))
        .send()
        .await
        .items()
        .is_empty());
    // The other room is untouched.
    assert_eq!(names(&all_messages(&c, ns, "kept").await), vec![kept_msg]);

    // Namespace cascade (rooms, messages, subscriptions, masters, current master).
    c.post(&format!("/chat/{ns}/master/model"))
        .json(json!({"category": 1, "rejectAccessTokenPost": "Enabled"}))
        .send()
        .await
        .item();
    c.put(&format!("/chat/{ns}/master"))
        .json(json!({"mode": "direct", "settings": settings(&[(1, "Enabled")])}))
        .send()
        .await
        .item();
    c.delete(&format!("/chat/{ns}")).send().await.item();
    c.get(&format!("/chat/{ns}"))
        .send()
        .await
        .expect_error(404, None);
    c.get(&format!("/chat/{ns}/room/kept"))
        .send()
        .await
        .expect_client_error();
    create_namespace(&c, ns, json!({})).await;
    assert!(
        c.get(&format!("/chat/{ns}/room"))
            .send()
            .await
            .items()
            .is_empty(),
        "rooms survived"
    );
    assert!(
        c.get(&format!("/chat/{ns}/user/alice/room/subscribe"))
            .send()
            .await
            .items()
            .is_empty(),
        "subscriptions survived"
    );
    assert!(
        c.get(&format!("/chat/{ns}/master/model"))
            .send()
            .await
            .items()
            .is_empty(),
        "masters survived"
    );
    assert!(
        c.get(&format!("/chat/{ns}/model"))
            .send()
            .await
            .items()
            .is_empty(),
        "models survived"
    );
    create_room(&c, ns, "kept", "owner", json!({})).await;
    assert!(
        all_messages(&c, ns, "kept").await.is_empty(),
        "messages survived"
    );
}

// ---------------------------------------------------------------------------------
// User data: rows 8-14
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_data_dump_clean_and_import() {
    let (_node, c) = single_node().await;
    let ns = "userdata";
    create_namespace(&c, ns, json!({})).await;
    create_room(&c, ns, "hall", "owner", json!({})).await;
    create_room(&c, ns, "den", "owner", json!({})).await;
    let carol_msgs = vec![
        post_by_user(&c, ns, "hall", "carol", 0, "carol-1").await,
        post_by_user(&c, ns, "hall", "carol", 0, "carol-2").await,
        post_by_user(&c, ns, "den", "carol", 0, "carol-3").await,
    ];
    let dave_msg = post_by_user(&c, ns, "hall", "dave", 0, "dave-1").await;
    for (u, r) in [("carol", "hall"), ("carol", "den"), ("dave", "hall")] {
        c.post(&format!("/chat/{ns}/user/{u}/room/{r}/subscribe"))
            .json(json!({"notificationTypes": [{"category": 0, "enableTransferMobilePushNotification": false}]}))
            .send()
            .await
            .item();
    }
    let wait = Duration::from_secs(30);

    // #8 dump, #9 check dump -> url, GET url -> JSON with carol's data.
    c.post("/chat/system/dump/user/carol").send().await.ok();
    let url = wait_until(
        wait,
        "checkDumpUserDataByUserId to return a url",
        || async {
            let r = c.get("/chat/system/dump/user/carol").send().await;
            match r.body.get("url").and_then(Value::as_str) {
                Some(u) if r.status == 200 => Ok(u.to_owned()),
                _ => Err(format!("{} {}", r.status, r.text)),
            }
        },
    )
    .await;
    let dl = c.http().get(&url).send().await.expect("GET dump url");
    assert!(dl.status().is_success(), "GET {url} -> {}", dl.status());
    let dump_text = dl.text().await.expect("dump body");
    let _: Value = serde_json::from_str(&dump_text)
        .unwrap_or_else(|e| panic!("dump is not JSON ({e}): {dump_text}"));
    for m in &carol_msgs {
        let name = str_of(m, "name");
        assert!(
            dump_text.contains(&name),
            "dump lacks carol's message {name}: {dump_text}"
        );
    }
    assert!(
        dump_text.contains("hall") && dump_text.contains("den"),
        "dump lacks subscriptions: {dump_text}"
    );
    assert!(
        !dump_text.contains(&str_of(&dave_msg, "name")),
        "dump of carol contains dave's message: {dump_text}"
    );

    // #10 clean, #11 check clean.
    c.post("/chat/system/clean/user/carol").send().await.ok();
    wait_until(wait, "checkCleanUserDataByUserId to succeed", || async {
        let r = c.get("/chat/system/clean/user/carol").send().await;
        if r.status == 200 {
            Ok(())
        } else {
            Err(format!("{} {}", r.status, r.text))
        }
    })
    .await;
    assert!(
        c.get(&format!("/chat/{ns}/user/carol/room/subscribe"))
            .send()
            .await
            .items()
            .is_empty(),
        "carol's subscriptions survive clean"
    );
    for m in &carol_msgs {
        c.get(&format!(
            "/chat/{ns}/room/{}/message/{}/get",
            str_of(m, "roomName"),
            str_of(m, "name")
        ))
        .query("userId", "carol")
        .send()
        .await
        .expect_error(404, None);
    }
    // Other users' data is untouched.
    c.get(&format!(
        "/chat/{ns}/room/hall/message/{}/get",
        str_of(&dave_msg, "name")
    ))
    .query("userId", "dave")
    .send()
    .await
    .item();
    c.get(&format!("/chat/{ns}/user/dave/room/hall/subscribe"))
        .send()
        .await
        .item();

    // #12 prepare import, raw PUT of the dump, #13 import, #14 check import.
    let pre = c
        .post("/chat/system/import/user/carol/prepare")
        .send()
        .await
        .ok();
    let token = str_of(&pre, "uploadToken");
    let upload = str_of(&pre, "uploadUrl");
    let put = c
        .http()
        .put(&upload)
        .header("Content-Type", "application/json")
        .body(dump_text.clone())
        .send()
        .await
        .expect("PUT uploadUrl");
    assert!(
        put.status().is_success(),
        "PUT {upload} -> {}",
        put.status()
    );
    c.post("/chat/system/import/user/carol")
        .json(json!({"uploadToken": token}))
        .send()
        .await
        .ok();
    wait_until(
        wait,
        "checkImportUserDataByUserId to return a url",
        || async {
            let r = c
                .get(&format!("/chat/system/import/user/carol/{token}"))
                .send()
                .await;
            match r.body.get("url").and_then(Value::as_str) {
                Some(_) if r.status == 200 => Ok(()),
                _ => Err(format!("{} {}", r.status, r.text)),
            }
        },
    )
    .await;
    let subs = wait_until(wait, "carol's subscriptions to be restored", || async {
        let items = c
            .get(&format!("/chat/{ns}/user/carol/room/subscribe"))
            .send()
            .await
            .items();
        if items.len() == 2 {
            Ok(items)
        } else {
            Err(format!("{items:?}"))
        }
    })
    .await;
    let rooms: BTreeSet<String> = subs.iter().map(|s| str_of(s, "roomName")).collect();
    assert_eq!(rooms, set(&["hall".to_owned(), "den".into()]));
    for m in &carol_msgs {
        let got = c
            .get(&format!(
                "/chat/{ns}/room/{}/message/{}/get",
                str_of(m, "roomName"),
                str_of(m, "name")
            ))
            .query("userId", "carol")
            .send()
            .await
            .item();
        assert_eq!(got["metadata"], m["metadata"], "restored message differs");
        assert_eq!(got["userId"], "carol");
    }
    let hall = names(&all_messages(&c, ns, "hall").await);
    assert_eq!(
        hall.len(),
        3,
        "hall holds carol's 2 restored messages and dave's: {hall:?}"
    );
}
