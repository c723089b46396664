//! Helpers for the push tests (`tests/push.rs`), reusable by other cross-process
//! tests of push delivery: WebSocket sessions bound to a user, timed and retried posts,
//! collecting post notifications and checking "every acknowledged post exactly once, in
//! posting order per room".
//! Does not own: starting processes (see [`crate::node`], [`crate::nats`]).

use crate::client::Client;
use crate::fixtures::str_of;
use crate::node::{Node, CLIENT_ID, CLIENT_SECRET};
use crate::ws::WsClient;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bounded wait used to check that nothing (more) arrives.
pub const QUIET: Duration = Duration::from_millis(1500);
/// Retry budget of one post in the fault tests (same duplication avoider every try).
pub const POST_RETRY_BUDGET: Duration = Duration::from_secs(30);

/// A WebSocket on `node`, logged in with the project credentials.
pub async fn ws_on(node: &Node) -> WsClient {
    WsClient::open(&node.ws_url(), CLIENT_ID, CLIENT_SECRET)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "WebSocket connect + project login on node {} ({}): {e:#}",
                node.id(),
                node.ws_url()
            )
        })
}

/// A WebSocket on `node` bound (setUserId, concurrent access allowed) to the user of
/// `token` in gateway namespace `gw`; returns it with its connectionId.
pub async fn online(node: &Node, gw: &str, token: &str) -> (WsClient, String) {
    let ws = ws_on(node).await;
    let item = ws.bind(gw, token).await;
    let conn = str_of(&item, "connectionId");
    (ws, conn)
}

/// postByUserId through `c`; returns the message item and the instants the request
/// was sent and acknowledged.
pub async fn post_timed(
    c: &Client,
    ns: &str,
    room: &str,
    user: &str,
    category: i64,
) -> (Value, Instant, Instant) {
    let sent = Instant::now();
    let item = c
        .post(&format!("/chat/{ns}/room/{room}/message/user/{user}"))
        .json(json!({"category": category, "metadata": format!("from {user}")}))
        .send()
        .await
        .item();
    (item, sent, Instant::now())
}

/// postByUserId with a duplication avoider, retried (rotating over `clients`) until
/// acknowledged or [`POST_RETRY_BUDGET`] runs out. Errors seen on the way are appended
/// to `errors`.
pub async fn post_retrying(
    clients: &[Client],
    ns: &str,
    room: &str,
    user: &str,
    da: &str,
    errors: &Mutex<Vec<String>>,
) -> Option<Value> {
    let started = Instant::now();
    let mut cur = 0usize;
    loop {
        let c = &clients[cur % clients.len()];
        let res = c
            .post(&format!("/chat/{ns}/room/{room}/message/user/{user}"))
            .dup(da)
            .json(json!({"category": 0, "metadata": da}))
            .try_send()
            .await;
        match res {
            Ok(r) if r.status == 200 => return Some(r.body["item"].clone()),
            Ok(r) => errors.lock().expect("errors").push(format!(
                "{da} via {}: {} {}",
                c.base(),
                r.status,
                r.text.chars().take(300).collect::<String>()
            )),
            Err(e) => errors
                .lock()
                .expect("errors")
                .push(format!("{da} via {}: {e:#}", c.base())),
        }
        cur += 1;
        if started.elapsed() > POST_RETRY_BUDGET {
            return None;
        }
        // Back-off between retries of the same post (not a correctness wait).
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Collects chat post notifications on `ws` until every user id in `expected` was
/// seen (or `timeout`), then for [`QUIET`] more (late duplicates show up there).
/// Returns the payloads in arrival order; a frame of the wrong shape panics.
pub async fn collect_posts(ws: &WsClient, expected: &[String], timeout: Duration) -> Vec<Value> {
    let want: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    let deadline = Instant::now() + timeout;
    while !want.iter().all(|u| seen.contains(*u)) {
        let left = deadline.saturating_duration_since(Instant::now());
        match ws.next_notification(left).await {
            Some(n) => {
                let p = n.post_payload();
                seen.insert(p["userId"].as_str().unwrap_or_default().to_owned());
                out.push(p);
            }
            None => break,
        }
    }
    for n in ws.notifications_during(QUIET).await {
        out.push(n.post_payload());
    }
    out
}

pub fn user_ids(payloads: &[Value]) -> Vec<String> {
    payloads
        .iter()
        .map(|p| p["userId"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Asserts that `got` (poster user ids in arrival order) holds every id of `expected`
/// exactly once and nothing else, and that the ids of each `order_groups` group
/// (ids posted sequentially into one room) arrived in that order.
pub fn check_exactly_once(
    who: &str,
    got: &[String],
    expected: &[String],
    order_groups: &[Vec<String>],
) {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for u in got {
        *count.entry(u.as_str()).or_default() += 1;
    }
    let want: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
    let missing: Vec<&str> = expected
        .iter()
        .map(String::as_str)
        .filter(|u| !count.contains_key(u))
        .collect();
    let dups: Vec<(&str, usize)> = count
        .iter()
        .filter(|(_, c)| **c > 1)
        .map(|(u, c)| (*u, *c))
        .collect();
    let unexpected: Vec<&str> = count
        .keys()
        .copied()
        .filter(|u| !want.contains(u))
        .collect();
    assert!(
        missing.is_empty() && dups.is_empty() && unexpected.is_empty(),
        "{who}: every acknowledged post must be notified exactly once.\n  missing: {missing:?}\n  \
         duplicated (id, times): {dups:?}\n  unexpected: {unexpected:?}\n  received in order: {got:?}"
    );
    for group in order_groups {
        let in_group: BTreeSet<&str> = group.iter().map(String::as_str).collect();
        let arrived: Vec<&str> = got
            .iter()
            .map(String::as_str)
            .filter(|u| in_group.contains(u))
            .collect();
        let want: Vec<&str> = group.iter().map(String::as_str).collect();
        assert_eq!(
            arrived, want,
            "{who}: notifications of one room must arrive in posting order"
        );
    }
}

pub fn assert_clean(who: &str, ws: &WsClient) {
    assert!(
        ws.bad_frames().is_empty(),
        "{who}: frames the official SDK would crash on (§7.3): {:?}",
        ws.bad_frames()
    );
    assert!(
        ws.unmatched_responses().is_empty(),
        "{who}: responses with a requestId no call sent: {:?}",
        ws.unmatched_responses()
    );
}

pub fn summarize(delays: &[Duration]) -> String {
    let mut d = delays.to_vec();
    d.sort();
    match (d.first(), d.last()) {
        (Some(min), Some(max)) => format!(
            "{} frames: min {:?}, median {:?}, max {:?}",
            d.len(),
            min,
            d[d.len() / 2],
            max
        ),
        _ => "no frames".into(),
    }
}
