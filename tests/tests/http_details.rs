//! HTTP-level details of the GS2 REST surface (protocol §1-§3, §11, contract "Errors"):
//! request and response encodings, `contextStack` and explicit `null` fields, the
//! literal `null` path segment, validation and auth failures as GS2 error bodies with
//! the right status (never a 5xx), oversized bodies, and duplication-avoider
//! idempotency.

use chat_tests::fixtures::{all_messages, create_namespace, create_room, names, str_of};
use chat_tests::gs2::{gunzip, gzip};
use chat_tests::{Client, Node, NodeOpts, Resp};
use serde_json::{json, Value};
use std::time::Duration;

async fn single_node() -> (Node, Client) {
    let node = Node::start(NodeOpts::id(1)).await.expect("start chat-node");
    let client = node.client().await.expect("project login");
    (node, client)
}

/// Asserts a 4xx answer with a GS2 error body (and so, never a 5xx).
fn client_error(r: Resp) {
    r.expect_client_error();
}

/// The node still answers: `/healthz` and a real request.
async fn assert_alive(node: &Node, c: &Client) {
    let h = reqwest::get(format!("{}/healthz", node.url()))
        .await
        .expect("GET /healthz");
    assert_eq!(
        h.status().as_u16(),
        200,
        "node unhealthy after the previous request"
    );
    c.get("/chat/system/version").send().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encodings_context_stack_and_null_fields() {
    let (node, c) = single_node().await;

    // gzip body (the SDK default) and plain JSON are both accepted.
    c.post("/chat/")
        .json(json!({"name": "gz", "description": "gzip body"}))
        .send()
        .await
        .item();
    c.post("/chat/")
        .plain()
        .json(json!({"name": "plain", "description": "plain body"}))
        .send()
        .await
        .item();
    // Project login: SDK session form (no contextStack, gzip) and plain form.
    let r = c
        .post("/identifier/projectToken/login")
        .no_auth()
        .no_context_stack()
        .json(json!({"client_id": "test-client", "client_secret": "test-secret"}))
        .send()
        .await
        .ok();
    assert!(r["access_token"].is_string(), "{r}");
    assert_eq!(r["token_type"], "Bearer");
    let r = c
        .post("/identifier/projectToken/login")
        .no_auth()
        .plain()
        .json(json!({"client_id": "test-client", "client_secret": "test-secret"}))
        .send()
        .await
        .ok();
    assert!(r["access_token"].is_string(), "{r}");
    // The token from one login works.
    let token = r["access_token"].as_str().expect("token").to_owned();
    c.get("/chat/gz").bearer(&token).send().await.item();

    // An SDK-style body: every nested model key present, unset ones null; contextStack null.
    let sdk_body = json!({
        "name": "sdk-style",
        "description": null,
        "transactionSetting": null,
        "transactionSettingV2": null,
        "allowCreateRoom": true,
        "messageLifeTimeDays": null,
        "postMessageScript": null,
        "createRoomScript": {"triggerScriptId": null, "doneTriggerTargetType": null, "doneTriggerScriptId": null, "doneTriggerQueueNamespaceId": null},
        "deleteRoomScript": null,
        "subscribeRoomScript": null,
        "unsubscribeRoomScript": null,
        "postNotification": {"gatewayNamespaceId": null, "enableTransferMobileNotification": null, "sound": null, "mobileNotificationMessages": null, "enable": "Disabled"},
        "logSetting": {"loggingNamespaceId": null},
        "contextStack": null
    });
    c.post("/chat/").json(sdk_body).send().await.item();
    // contextStack as a string (the SDK sends one when set), in body and query.
    c.post("/chat/sdk-style/room")
        .json(json!({"name": "r1", "userId": "u", "metadata": null, "password": null, "whiteListUserIds": null, "contextStack": "ctx-123"}))
        .send()
        .await
        .item();
    c.get("/chat/sdk-style/room/r1")
        .query("contextStack", "ctx-123")
        .send()
        .await
        .item();
    c.post("/chat/sdk-style/room/r1/message/user/u")
        .json(json!({"category": 0, "metadata": "m", "password": null}))
        .send()
        .await
        .item();

    // Accept-Encoding: gzip yields a gzip response; without it, plain JSON.
    for i in 0..5 {
        create_namespace(
            &c,
            &format!("padding-namespace-for-a-large-response-{i}"),
            json!({}),
        )
        .await;
    }
    let raw = reqwest::Client::builder()
        .no_gzip()
        .build()
        .expect("client");
    let url = format!("{}/chat/", node.url());
    let auth = format!("Bearer {}", c.project_token().expect("token"));
    let r = raw
        .get(&url)
        .header("X-GS2-CLIENT-ID", "test-client")
        .header("Authorization", &auth)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .expect("GET /chat/ with Accept-Encoding: gzip");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip"),
        "a large response to Accept-Encoding: gzip should be gzip-encoded; headers: {:?}",
        r.headers()
    );
    let bytes = r.bytes().await.expect("body");
    let inflated = gunzip(&bytes).expect("valid gzip response body");
    let v: Value = serde_json::from_slice(&inflated).expect("JSON inside gzip");
    assert!(v["items"].as_array().is_some_and(|a| a.len() >= 8), "{v}");
    let r = raw
        .get(&url)
        .header("X-GS2-CLIENT-ID", "test-client")
        .header("Authorization", &auth)
        .send()
        .await
        .expect("GET /chat/ without Accept-Encoding");
    assert!(
        r.headers().get("content-encoding").is_none(),
        "no gzip without Accept-Encoding"
    );
    let v: Value = serde_json::from_slice(&r.bytes().await.expect("body")).expect("plain JSON");
    assert!(v["items"].is_array());
    // A small response (one namespace, well under 1 KiB) is sent plain even to gzip clients.
    let r = raw
        .get(format!("{url}padding-namespace-for-a-large-response-0/"))
        .header("X-GS2-CLIENT-ID", "test-client")
        .header("Authorization", &auth)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .expect("GET one namespace with Accept-Encoding: gzip");
    assert!(
        r.headers().get("content-encoding").is_none(),
        "a small response should not be compressed; headers: {:?}",
        r.headers()
    );
    let v: Value = serde_json::from_slice(&r.bytes().await.expect("body")).expect("plain JSON");
    assert_eq!(
        v["item"]["name"],
        "padding-namespace-for-a-large-response-0"
    );

    // DELETE carries no body; parameters in the query.
    c.delete("/chat/sdk-style/room/r1")
        .query("userId", "u")
        .send()
        .await
        .item();

    // Side endpoints of the contract.
    for p in ["/healthz", "/readyz", "/metrics"] {
        let r = c
            .http()
            .get(format!("{}{p}", node.url()))
            .send()
            .await
            .expect(p);
        assert_eq!(r.status().as_u16(), 200, "GET {p}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_segments_unknown_routes_and_validation_errors() {
    let (node, c) = single_node().await;
    create_namespace(&c, "v", json!({})).await;
    create_room(&c, "v", "r", "owner", json!({})).await;
    let alice = c.player("alice").await;

    // Literal `null` segments (the SDK's rendering of a missing path parameter).
    client_error(c.get("/chat/null").send().await);
    client_error(c.delete("/chat/null").send().await);
    client_error(c.get("/chat/v/room/null").send().await);
    client_error(
        c.get("/chat/null/room/null/message/null")
            .player(&alice)
            .send()
            .await,
    );
    client_error(
        c.post("/chat/v/room/null/message")
            .player(&alice)
            .json(json!({"category": 0, "metadata": "x"}))
            .send()
            .await,
    );
    client_error(c.get("/chat/v/master/model/null").send().await);
    client_error(c.get("/chat/v/model/null").send().await);
    client_error(c.get("/chat/v/user/null/room/null/subscribe").send().await);

    // Unknown routes: 404 with a GS2 body.
    c.get("/nope").send().await.expect_error(404, None);
    c.get("/chat/v/room/r/message/x/y/z/w")
        .send()
        .await
        .expect_error(404, None);
    c.get("/gateway-unknown/x")
        .send()
        .await
        .expect_error(404, None);
    client_error(c.post("/chat/system/nope").send().await);
    client_error(
        c.call(reqwest::Method::PATCH, "/chat/v")
            .json(json!({}))
            .send()
            .await,
    );

    // Names: [A-Za-z0-9_.-], at most 128 chars.
    for bad in ["bad name", "bad$name", "emoji-\u{1F600}", "slash/name"] {
        c.post("/chat/")
            .json(json!({"name": bad}))
            .send()
            .await
            .expect_error(400, None);
    }
    c.post("/chat/")
        .json(json!({"name": "a".repeat(129)}))
        .send()
        .await
        .expect_error(400, None);
    c.post("/chat/")
        .json(json!({"name": "Ok_name-1.2"}))
        .send()
        .await
        .item();
    c.post("/chat/")
        .json(json!({"name": "a".repeat(128)}))
        .send()
        .await
        .item();
    c.post("/chat/v/room")
        .json(json!({"name": "room$", "userId": "u"}))
        .send()
        .await
        .expect_error(400, None);
    c.post("/chat/v/room")
        .json(json!({"name": "b".repeat(129), "userId": "u"}))
        .send()
        .await
        .expect_error(400, None);
    client_error(c.get("/chat/bad$name").send().await);

    // Metadata at most 1024.
    let post = |body: Value| c.post("/chat/v/room/r/message").player(&alice).json(body);
    post(json!({"category": 0, "metadata": "m".repeat(1025)}))
        .send()
        .await
        .expect_error(400, None);
    post(json!({"category": 0, "metadata": "m".repeat(1024)}))
        .send()
        .await
        .item();
    c.post("/chat/v/room")
        .json(json!({"name": "meta-room", "userId": "u", "metadata": "m".repeat(1025)}))
        .send()
        .await
        .expect_error(400, None);
    // Password at most 128, white list at most 1000.
    c.post("/chat/v/room")
        .json(json!({"name": "pw-room", "userId": "u", "password": "p".repeat(129)}))
        .send()
        .await
        .expect_error(400, None);
    let many: Vec<String> = (0..1001).map(|i| format!("user-{i}")).collect();
    c.post("/chat/v/room")
        .json(json!({"name": "wl-room", "userId": "u", "whiteListUserIds": many}))
        .send()
        .await
        .expect_error(400, None);

    // Category 0..=2147483645.
    for bad in [json!(-1), json!(2147483646i64), json!("abc"), json!(1.5)] {
        post(json!({"category": bad, "metadata": "x"}))
            .send()
            .await
            .expect_error(400, None);
    }
    post(json!({"category": 2147483645i64, "metadata": "max"}))
        .send()
        .await
        .item();
    c.post("/chat/v/master/model")
        .json(json!({"category": -1, "rejectAccessTokenPost": "Enabled"}))
        .send()
        .await
        .expect_error(400, None);
    c.post("/chat/v/master/model")
        .json(json!({"category": 1, "rejectAccessTokenPost": "Maybe"}))
        .send()
        .await
        .expect_error(400, None);

    // Malformed bodies.
    c.post("/chat/")
        .raw("{\"name\":", Some("application/json"), None)
        .send()
        .await
        .expect_error(400, None);
    c.post("/chat/")
        .raw(gzip(b"{\"name\":"), Some("application/json"), Some("gzip"))
        .send()
        .await
        .expect_error(400, None);
    c.post("/chat/")
        .raw("not gzip at all", Some("application/json"), Some("gzip"))
        .send()
        .await
        .expect_error(400, None);
    c.post("/chat/")
        .raw("[1,2,3]", Some("application/json"), None)
        .send()
        .await
        .expect_error(400, None);
    c.post("/chat/")
        .json(json!({"name": 12345}))
        .send()
        .await
        .expect_error(400, None);
    // Bad query parameters.
    client_error(
        c.get("/chat/v/room/r/message")
            .player(&alice)
            .query("limit", "abc")
            .send()
            .await,
    );
    client_error(
        c.get("/chat/v/room/r/message")
            .player(&alice)
            .query("startAt", "yesterday")
            .send()
            .await,
    );
    for limit in ["0", "-5", "1001", "99999999999999999999"] {
        let r = c
            .get("/chat/v/room/r/message/latest")
            .player(&alice)
            .query("limit", limit)
            .send()
            .await;
        assert!(
            r.status < 500,
            "limit={limit}: {} -> {} {}",
            r.desc,
            r.status,
            r.text
        );
    }
    // A page token the server never issued: refused or an empty page, never a 5xx.
    let r = c
        .get("/chat/v/room/r/message/latest")
        .player(&alice)
        .query("pageToken", "forged-page-token")
        .send()
        .await;
    assert!(r.status < 500, "{} -> {} {}", r.desc, r.status, r.text);

    assert_alive(&node, &c).await;
}

/// Changes one character of `token` (at `at` percent of its length) to another one
/// of the same alphabet class.
fn forge(token: &str, at: usize) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let i = (chars.len() * at / 100).min(chars.len().saturating_sub(2));
    chars[i] = match chars[i] {
        'A' => 'B',
        'a' => 'b',
        '0' => '1',
        c if c.is_ascii_digit() => '0',
        c if c.is_ascii_uppercase() => 'A',
        _ => 'a',
    };
    chars.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_forged_and_missing_tokens_are_401() {
    let (node, c) = single_node().await;
    create_namespace(&c, "auth", json!({})).await;
    create_room(&c, "auth", "r", "owner", json!({})).await;
    let alice = c.player("alice").await;
    let project = c.project_token().expect("token").to_owned();
    let anon = Client::new(&node.url(), "test-client");

    // Project login with wrong credentials.
    for (id, secret) in [("test-client", "wrong"), ("nobody", "test-secret")] {
        anon.post("/identifier/projectToken/login")
            .no_auth()
            .json(json!({"client_id": id, "client_secret": secret}))
            .send()
            .await
            .expect_error(401, None);
    }

    // Backend methods.
    c.get("/chat/")
        .no_auth()
        .send()
        .await
        .expect_error(401, None);
    anon.get("/chat/auth").send().await.expect_error(401, None);
    for bad in [
        "garbage".to_owned(),
        String::new(),
        forge(&project, 33),
        forge(&project, 66),
        format!("{project}x"),
        alice.clone(),
    ] {
        c.get("/chat/auth")
            .bearer(&bad)
            .send()
            .await
            .expect_error(401, None);
        c.post("/chat/auth/room/r/message/user/u")
            .bearer(&bad)
            .json(json!({"category": 0, "metadata": "x"}))
            .send()
            .await
            .expect_error(401, None);
    }
    c.post("/chat/auth/room/r/message/user/u")
        .no_auth()
        .header("X-GS2-CLIENT-ID", "test-client")
        .header("Authorization", "Basic dGVzdDp0ZXN0")
        .json(json!({"category": 0, "metadata": "x"}))
        .send()
        .await
        .expect_error(401, None);

    // Player methods: missing, garbage, forged access token, or a project token.
    let post = || {
        c.post("/chat/auth/room/r/message")
            .json(json!({"category": 0, "metadata": "x"}))
    };
    post().send().await.expect_error(401, None);
    for bad in [
        "garbage".to_owned(),
        forge(&alice, 33),
        forge(&alice, 66),
        format!("{alice}x"),
        project.clone(),
    ] {
        post().player(&bad).send().await.expect_error(401, None);
        c.get("/chat/auth/user/me/room/subscribe")
            .player(&bad)
            .send()
            .await
            .expect_error(401, None);
    }
    // None of the refused posts exists.
    assert!(all_messages(&c, "auth", "r").await.is_empty());
    post().player(&alice).send().await.item();

    // Auth login and admin API need the project token.
    anon.post("/auth/login")
        .json(json!({"userId": "eve", "timeOffset": 0}))
        .send()
        .await
        .expect_error(401, None);
    c.post("/auth/login")
        .bearer(&forge(&project, 50))
        .json(json!({"userId": "eve", "timeOffset": 0}))
        .send()
        .await
        .expect_error(401, None);
    anon.get("/admin/cluster")
        .send()
        .await
        .expect_error(401, None);
    c.get("/admin/cluster")
        .bearer("garbage")
        .send()
        .await
        .expect_error(401, None);
    anon.post("/admin/cluster/snapshot")
        .send()
        .await
        .expect_error(401, None);

    // A valid access token alone is not enough: like every GS2 service call, a player
    // call needs the project token too (the SDK always sends `Authorization`).
    let before = all_messages(&c, "auth", "r").await.len();
    c.post("/chat/auth/room/r/message")
        .no_auth()
        .player(&alice)
        .json(json!({"category": 0, "metadata": "x"}))
        .send()
        .await
        .expect_error(401, None);
    assert_eq!(all_messages(&c, "auth", "r").await.len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_refused_and_node_survives() {
    let (node, c) = single_node().await;
    create_namespace(&c, "big", json!({})).await;
    create_room(&c, "big", "r", "owner", json!({})).await;

    // 16 MiB of plain JSON (limit 6 MiB). The server reads an oversized upload to its end
    // before refusing it, so the client, still sending when the limit is crossed, gets the
    // status instead of a reset connection.
    let huge = json!({"name": "huge", "description": "d".repeat(16 << 20)}).to_string();
    let r = c
        .post("/chat/")
        .raw(huge, Some("application/json"), None)
        .timeout(Duration::from_secs(60))
        .try_send()
        .await
        .unwrap_or_else(|e| panic!("16 MiB body: no answer, connection dropped: {e:#}"));
    assert!(
        r.status == 400 && r.text.contains("tooLarge"),
        "16 MiB body: expected 400 tooLarge\n  request: {}\n  response: {} {}",
        r.desc,
        r.status,
        r.text
    );
    // A gzip bomb: ~64 KiB on the wire inflating to 64 MiB.
    let mut bomb = b"{\"category\":0,\"metadata\":\"".to_vec();
    bomb.extend(std::iter::repeat_n(b'a', 64 << 20));
    bomb.extend(b"\"}");
    let r = c
        .post("/chat/big/room/r/message/user/u")
        .raw(gzip(&bomb), Some("application/json"), Some("gzip"))
        .timeout(Duration::from_secs(60))
        .send()
        .await;
    assert!(
        (400..500).contains(&r.status),
        "gzip bomb: expected 4xx\n  request: {}\n  response: {} {}",
        r.desc,
        r.status,
        r.text
    );
    assert!(all_messages(&c, "big", "r").await.is_empty());
    c.get("/chat/huge").send().await.expect_error(404, None);
    assert_alive(&node, &c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplication_avoider_makes_posts_idempotent() {
    let (_node, c) = single_node().await;
    create_namespace(&c, "idem", json!({})).await;
    create_room(&c, "idem", "r", "owner", json!({})).await;
    let alice = c.player("alice").await;
    let post = |da: &str| {
        c.post("/chat/idem/room/r/message")
            .player(&alice)
            .dup(da)
            .json(json!({"category": 0, "metadata": "hello"}))
    };

    let first = post("da-1").send().await.item();
    let again = post("da-1").send().await.item();
    assert_eq!(first["name"], again["name"], "same avoider, same message");
    assert_eq!(first["createdAt"], again["createdAt"]);
    assert_eq!(
        names(&all_messages(&c, "idem", "r").await),
        vec![str_of(&first, "name")]
    );

    let other = post("da-2").send().await.item();
    assert_ne!(
        other["name"], first["name"],
        "another avoider, another message"
    );

    let by_user = |da: &str| {
        c.post("/chat/idem/room/r/message/user/bob")
            .dup(da)
            .json(json!({"category": 0, "metadata": "by user"}))
    };
    let b1 = by_user("da-3").send().await.item();
    let b2 = by_user("da-3").send().await.item();
    assert_eq!(b1["name"], b2["name"]);
    // Without an avoider two identical posts are two messages.
    post_plain(&c, &alice).await;
    post_plain(&c, &alice).await;
    let all = names(&all_messages(&c, "idem", "r").await);
    assert_eq!(
        all.len(),
        5,
        "da-1, da-2, da-3 once each plus two plain posts: {all:?}"
    );
}

async fn post_plain(c: &Client, alice: &str) {
    c.post("/chat/idem/room/r/message")
        .player(alice)
        .json(json!({"category": 0, "metadata": "hello"}))
        .send()
        .await
        .item();
}

/// Errors produced below the GS2 handlers carry the GS2 error body too: an over-long request
/// line or query answers 414, a method no GS2 route uses 405 (also on the operators' paths and
/// the WebSocket endpoint), and the node keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uri_too_long_and_unknown_methods_answer_with_gs2_bodies() {
    let (node, c) = single_node().await;
    create_namespace(&c, "edge", json!({})).await;

    // A 20 KiB query, then a 20 KiB path (the limit is 16 KiB of path and query).
    c.get("/chat/edge")
        .query("pad", "q".repeat(20 << 10))
        .send()
        .await
        .expect_error(414, Some("tooLong"));
    c.get(&format!("/chat/edge/{}", "p".repeat(20 << 10)))
        .send()
        .await
        .expect_error(414, Some("tooLong"));

    // Methods no GS2 route uses, on the dispatch table and beside it.
    let brew = reqwest::Method::from_bytes(b"BREW").expect("extension method");
    c.call(brew, "/chat/edge")
        .send()
        .await
        .expect_error(405, Some("notAllowed"));
    c.call(reqwest::Method::PATCH, "/chat/edge")
        .json(json!({}))
        .send()
        .await
        .expect_error(405, Some("notAllowed"));
    c.post("/healthz")
        .json(json!({}))
        .send()
        .await
        .expect_error(405, Some("notAllowed"));
    c.call(reqwest::Method::PUT, "/")
        .json(json!({}))
        .send()
        .await
        .expect_error(405, Some("notAllowed"));

    // A plain GET of the WebSocket endpoint (no upgrade) is refused with a GS2 body as well.
    client_error(c.get("/").send().await);
    assert_alive(&node, &c).await;
}
