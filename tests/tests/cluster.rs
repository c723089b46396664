//! Three real `chat-node` processes forming a Raft cluster: read-your-writes on every
//! node, stale reads, SIGKILL of the leader during a stream of posts (nothing
//! acknowledged is lost or duplicated), catch-up of a restarted node through
//! snapshots, duplication avoider across a failover, node removal.
//!
//! The fault test is seeded (`CHAT_TEST_SEED`); the seed is printed.

use chat_tests::cluster::{applied_index, members, voters};
use chat_tests::fixtures::{
    all_messages, create_namespace, create_room, names, namespace_with_room, post_by_user, str_of,
};
use chat_tests::{test_seed, wait_count, wait_until, Client, Cluster, Node, NodeOpts};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);

/// `r`, or a panic naming `what` and the node.
fn on_node<T>(id: u64, what: &str, r: anyhow::Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("{what} on node {id}: {e:#}"))
}

async fn client(cluster: &Cluster, id: u64) -> Client {
    on_node(id, "login", cluster.node(id).client().await)
}

async fn status(cluster: &Cluster, id: u64) -> Value {
    on_node(id, "status", cluster.node(id).cluster_status().await)
}

/// Every message of the room as seen by node `id` with a stale (local) read.
async fn local_messages(c: &Client, ns: &str, room: &str) -> Result<Vec<Value>, String> {
    c.get(&format!("/chat/{ns}/room/{room}/message/get"))
        .stale()
        .query("userId", "reader")
        .query("startAt", 0)
        .query("limit", 1000)
        .send()
        .await
        .try_items()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_writes_are_read_on_every_node() {
    let cluster = Cluster::start(3).await.expect("start 3-node cluster");
    let leader = cluster.wait_leader().await;
    let follower = cluster.others(leader)[0];
    assert_eq!(status(&cluster, follower).await["state"], "Follower");
    for id in [1, 2, 3] {
        let st = status(&cluster, id).await;
        assert_eq!(st["nodeId"], id, "{st}");
        for k in ["term", "lastLogIndex", "commitIndex", "appliedIndex"] {
            assert!(st[k].is_u64(), "status field {k} should be a number: {st}");
        }
        assert_eq!(voters(&st), vec![1, 2, 3]);
    }
    let mut clients = Vec::new();
    for id in [1, 2, 3] {
        clients.push((id, client(&cluster, id).await));
    }
    let fc = client(&cluster, follower).await;

    // Writes on a follower are visible at once on every node (default consistency).
    namespace_with_room(&fc, "ryw", "r").await;
    for (id, c) in &clients {
        let room = c.get("/chat/ryw/room/r").send().await.item();
        assert_eq!(room["name"], "r", "node {id}");
    }
    let alice = fc.player("alice").await;
    let mut posted = Vec::new();
    for round in 0..3 {
        for (id, c) in &clients {
            let m = c
                .post("/chat/ryw/room/r/message")
                .player(&alice)
                .json(json!({"category": 0, "metadata": format!("round {round} via node {id}")}))
                .send()
                .await
                .item();
            let name = str_of(&m, "name");
            for (rid, rc) in &clients {
                let got = rc
                    .get(&format!("/chat/ryw/room/r/message/{name}"))
                    .player(&alice)
                    .send()
                    .await;
                assert_eq!(
                    got.status, 200,
                    "read-your-writes: message posted via node {id} not readable on node {rid}: {} {}",
                    got.status, got.text
                );
            }
            posted.push(name);
        }
    }
    let want: BTreeSet<String> = posted.iter().cloned().collect();
    for (id, c) in &clients {
        let got: BTreeSet<String> = names(&all_messages(c, "ryw", "r").await)
            .into_iter()
            .collect();
        assert_eq!(got, want, "node {id} holds every message");
    }

    // Stale reads are accepted everywhere and converge.
    for (id, c) in &clients {
        let first = local_messages(c, "ryw", "r").await;
        assert!(first.is_ok(), "stale read on node {id}: {first:?}");
        wait_until(
            WAIT,
            &format!("stale read on node {id} to show every message"),
            || async {
                let items = local_messages(c, "ryw", "r").await?;
                let got: BTreeSet<String> = names(&items).into_iter().collect();
                if got == want {
                    Ok(())
                } else {
                    Err(format!("{} of {} messages", got.len(), want.len()))
                }
            },
        )
        .await;
        let r = c
            .get("/chat/ryw/room/r/message/latest")
            .player(&alice)
            .stale()
            .send()
            .await;
        assert_eq!(
            r.status, 200,
            "stale describeLatestMessages on node {id}: {}",
            r.text
        );
        let ready = c
            .http()
            .get(format!("{}/readyz", c.base()))
            .send()
            .await
            .expect("readyz");
        assert_eq!(ready.status().as_u16(), 200, "node {id} /readyz");
    }
}

/// What the background poster saw.
#[derive(Default)]
struct StreamLog {
    /// (sequence number, message name) of every acknowledged (200) post.
    acked: Vec<(usize, String)>,
    /// Sequence numbers abandoned after the retry budget.
    gave_up: Vec<usize>,
    /// Non-200 answers and transport errors, for the report.
    errors: Vec<String>,
}

const STREAM_NS: &str = "failover";
const STREAM_MAX_POSTS: usize = 150;
const STREAM_RETRY_BUDGET: Duration = Duration::from_secs(30);

/// Posts sequentially, round-robin over the nodes; every post has its own duplication
/// avoider and is retried with it (moving to the next node) until acknowledged or the
/// budget runs out.
async fn post_stream(
    clients: Vec<Client>,
    mut cur: usize,
    log: Arc<Mutex<StreamLog>>,
    stop: Arc<AtomicBool>,
    tag: u64,
) {
    for seq in 0..STREAM_MAX_POSTS {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let da = format!("stream-{tag}-{seq}");
        let started = Instant::now();
        loop {
            let c = &clients[cur % clients.len()];
            let res = c
                .post(&format!("/chat/{STREAM_NS}/room/r/message/user/streamer"))
                .dup(&da)
                .json(json!({"category": 0, "metadata": format!("seq-{seq}")}))
                .try_send()
                .await;
            match res {
                Ok(r) if r.status == 200 => {
                    let name = r.body["item"]["name"]
                        .as_str()
                        .unwrap_or_else(|| panic!("200 without item.name: {}", r.text))
                        .to_owned();
                    log.lock().expect("log").acked.push((seq, name));
                    // Rotate over every node (the leader included), so some posts are
                    // in flight on the leader when it is killed and get retried
                    // elsewhere with the same avoider.
                    cur += 1;
                    break;
                }
                Ok(r) => {
                    log.lock().expect("log").errors.push(format!(
                        "seq {seq} via {}: {} {}",
                        c.base(),
                        r.status,
                        r.text.chars().take(300).collect::<String>()
                    ));
                    cur += 1;
                }
                Err(e) => {
                    log.lock()
                        .expect("log")
                        .errors
                        .push(format!("seq {seq} via {}: {e:#}", c.base()));
                    cur += 1;
                }
            }
            if started.elapsed() > STREAM_RETRY_BUDGET {
                log.lock().expect("log").gave_up.push(seq);
                break;
            }
            // Back-off between retries of the same post (not a correctness wait).
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn acked_len(log: &Mutex<StreamLog>) -> usize {
    log.lock().expect("log").acked.len()
}

/// Every acknowledged post is present exactly once; no sequence number (= avoider)
/// produced two messages.
fn check_stream(node: u64, msgs: &[Value], acked: &[(usize, String)]) {
    let all = names(msgs);
    let mut by_name: BTreeMap<&str, usize> = BTreeMap::new();
    for n in &all {
        *by_name.entry(n.as_str()).or_default() += 1;
    }
    let dups: Vec<_> = by_name.iter().filter(|(_, c)| **c > 1).collect();
    assert!(
        dups.is_empty(),
        "node {node}: duplicated message names {dups:?}"
    );
    let mut by_meta: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in msgs {
        let meta = m["metadata"].as_str().unwrap_or_default().to_owned();
        if meta.starts_with("seq-") {
            by_meta.entry(meta).or_default().push(str_of(m, "name"));
        }
    }
    let twice: Vec<_> = by_meta.iter().filter(|(_, v)| v.len() > 1).collect();
    assert!(
        twice.is_empty(),
        "node {node}: one duplication avoider produced several messages: {twice:?}"
    );
    for (seq, name) in acked {
        assert_eq!(
            by_name.get(name.as_str()).copied().unwrap_or(0),
            1,
            "node {node}: acknowledged post seq {seq} ({name}) is missing"
        );
        assert_eq!(
            by_meta.get(&format!("seq-{seq}")).map(|v| v.as_slice()),
            Some(std::slice::from_ref(name)),
            "node {node}: seq {seq} should be exactly message {name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_killed_during_post_stream_loses_nothing_and_restarted_node_catches_up() {
    let seed = test_seed();
    let kill_after = StdRng::seed_from_u64(seed).gen_range(8..=20);
    eprintln!("killing the leader after {kill_after} acknowledged posts");
    let mut cluster = Cluster::start_with(3, |id| NodeOpts::id(id).snapshot_threshold(Some(20)))
        .await
        .expect("start 3-node cluster with --snapshot-threshold 20");
    let leader = cluster.wait_leader().await;
    let lc = client(&cluster, leader).await;
    namespace_with_room(&lc, STREAM_NS, "r").await;

    let mut clients = Vec::new();
    for n in &cluster.nodes {
        clients.push(
            n.client()
                .await
                .expect("login")
                .with_timeout(Duration::from_secs(5)),
        );
    }
    let start = cluster
        .nodes
        .iter()
        .position(|n| n.id() != leader)
        .expect("a follower");
    let log = Arc::new(Mutex::new(StreamLog::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let poster = tokio::spawn(post_stream(clients, start, log.clone(), stop.clone(), seed));

    wait_count(
        WAIT,
        "posts acknowledged before the kill",
        kill_after,
        || acked_len(&log),
    )
    .await;
    cluster.node_mut(leader).kill();
    let at_kill = acked_len(&log);
    eprintln!("SIGKILLed leader node {leader} with {at_kill} posts acknowledged");
    wait_count(
        Duration::from_secs(120),
        &format!("15 more acknowledged posts after the kill (at kill: {at_kill})"),
        at_kill + 15,
        || acked_len(&log),
    )
    .await;
    stop.store(true, Ordering::SeqCst);
    poster.await.expect("poster task panicked");
    let (acked, gave_up, errors) = {
        let l = log.lock().expect("log");
        (l.acked.clone(), l.gave_up.clone(), l.errors.clone())
    };
    eprintln!(
        "stream: {} acknowledged, {} abandoned, {} errors during failover",
        acked.len(),
        gave_up.len(),
        errors.len()
    );
    for e in errors.iter().take(20) {
        eprintln!("  {e}");
    }
    assert!(
        gave_up.is_empty(),
        "posts abandoned after {STREAM_RETRY_BUDGET:?} of retries: {gave_up:?}"
    );

    let new_leader = cluster.wait_leader().await;
    assert_ne!(new_leader, leader, "a killed node cannot be leader");
    for id in cluster.others(leader) {
        let c = client(&cluster, id).await;
        let msgs = all_messages(&c, STREAM_NS, "r").await;
        check_stream(id, &msgs, &acked);
    }

    // More writes while the old leader is down, then a snapshot on the new leader.
    let nc = client(&cluster, new_leader).await;
    for i in 0..30 {
        post_by_user(&nc, STREAM_NS, "r", "bulk", 0, &format!("bulk-{i}")).await;
    }
    cluster
        .trigger_snapshot(new_leader)
        .await
        .expect("POST /admin/cluster/snapshot");
    wait_until(WAIT, "the new leader to report a snapshot", || async {
        let st = cluster
            .node(new_leader)
            .cluster_status()
            .await
            .map_err(|e| format!("{e:#}"))?;
        match st["snapshotIndex"].as_u64() {
            Some(i) if i > 0 => Ok(()),
            _ => Err(st.to_string()),
        }
    })
    .await;

    // Restart the killed node on its data dir; it must catch up.
    cluster
        .node_mut(leader)
        .restart()
        .await
        .expect("restart the killed node");
    cluster
        .wait_agreement(&[1, 2, 3])
        .await
        .expect("restarted node rejoins with all voters");
    let rc = client(&cluster, leader).await;
    for i in 0..5 {
        post_by_user(
            &rc,
            STREAM_NS,
            "r",
            "late",
            0,
            &format!("after-restart-{i}"),
        )
        .await;
    }
    let current = cluster.wait_leader().await;
    let target = applied_index(&status(&cluster, current).await);
    cluster
        .node(leader)
        .wait_applied(
            target,
            WAIT,
            "restarted node to reach the leader's applied index",
        )
        .await;
    let leader_msgs = all_messages(&client(&cluster, current).await, STREAM_NS, "r").await;
    check_stream(current, &leader_msgs, &acked);
    let later = leader_msgs
        .iter()
        .filter(|m| {
            let meta = m["metadata"].as_str().unwrap_or_default();
            meta.starts_with("bulk-") || meta.starts_with("after-restart-")
        })
        .count();
    assert_eq!(
        later, 35,
        "the 30 bulk and 5 post-restart messages are all there"
    );
    let expected: BTreeSet<String> = names(&leader_msgs).into_iter().collect();
    let local = local_messages(&rc, STREAM_NS, "r")
        .await
        .expect("stale read on the restarted node");
    let got: BTreeSet<String> = names(&local).into_iter().collect();
    assert_eq!(
        got, expected,
        "restarted node (local read) holds every message"
    );
    check_stream(leader, &local, &acked);
    let via_default = all_messages(&rc, STREAM_NS, "r").await;
    check_stream(leader, &via_default, &acked);
    // The leader had purged the entries the restarted node missed: it caught up from a snapshot.
    let log = std::fs::read_to_string(cluster.node(leader).log_path()).unwrap_or_default();
    assert!(
        log.contains("installed snapshot"),
        "the restarted node caught up through a snapshot install"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplication_avoider_retry_across_failover_yields_one_message() {
    let mut cluster = Cluster::start(3).await.expect("start 3-node cluster");
    let leader = cluster.wait_leader().await;
    let others = cluster.others(leader);
    let (f, g) = (others[0], others[1]);
    let fc = client(&cluster, f).await;
    let gc = client(&cluster, g)
        .await
        .with_timeout(Duration::from_secs(5));
    namespace_with_room(&fc, "dup", "r").await;
    fn post(c: &Client) -> chat_tests::Call<'_> {
        c.post("/chat/dup/room/r/message/user/u")
            .dup("across-failover")
            .json(json!({"category": 0, "metadata": "once"}))
    }
    let first = post(&fc).send().await.item();

    cluster.node_mut(leader).kill();
    let retried = wait_until(
        WAIT,
        "the retried post to be answered after failover",
        || async {
            match post(&gc).try_send().await {
                Ok(r) if r.status == 200 => Ok(r.body["item"].clone()),
                Ok(r) => Err(format!("{} {}", r.status, r.text)),
                Err(e) => Err(format!("{e:#}")),
            }
        },
    )
    .await;
    assert_eq!(
        retried["name"], first["name"],
        "the retry returns the original message"
    );
    cluster.wait_leader().await;
    for (id, c) in [(f, &fc), (g, &gc)] {
        let msgs = all_messages(c, "dup", "r").await;
        assert_eq!(
            names(&msgs),
            vec![str_of(&first, "name")],
            "node {id}: exactly one message for one avoider"
        );
    }
    let again = post(&fc).send().await.item();
    assert_eq!(again["name"], first["name"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_node_updates_membership_and_writes_continue() {
    let cluster = Cluster::start(3).await.expect("start 3-node cluster");
    let leader = cluster.wait_leader().await;
    let others = cluster.others(leader);
    let (victim, keeper) = (others[0], others[1]);
    let kc = client(&cluster, keeper).await;

    // Sent to a follower: admin calls are forwarded to the leader.
    let r = kc
        .delete(&format!("/admin/cluster/nodes/{victim}"))
        .timeout(WAIT)
        .send()
        .await;
    assert_eq!(r.status, 200, "{} -> {} {}", r.desc, r.status, r.text);
    let mut remaining = vec![leader, keeper];
    remaining.sort_unstable();
    for id in &remaining {
        wait_until(
            WAIT,
            &format!("node {id} to drop node {victim} from membership"),
            || async {
                let st = cluster
                    .node(*id)
                    .cluster_status()
                    .await
                    .map_err(|e| format!("{e:#}"))?;
                if members(&st) == remaining && voters(&st) == remaining && st["leaderId"].is_u64()
                {
                    Ok(())
                } else {
                    Err(st.to_string())
                }
            },
        )
        .await;
    }

    // The two remaining nodes still take writes and serve reads.
    let lc = client(&cluster, leader).await;
    create_namespace(&kc, "after-removal", json!({})).await;
    create_room(&lc, "after-removal", "r", "owner", json!({})).await;
    let m1 = post_by_user(&kc, "after-removal", "r", "u", 0, "via keeper").await;
    let m2 = post_by_user(&lc, "after-removal", "r", "u", 0, "via leader").await;
    let want: BTreeSet<String> = [str_of(&m1, "name"), str_of(&m2, "name")]
        .into_iter()
        .collect();
    for c in [&kc, &lc] {
        let got: BTreeSet<String> = names(&all_messages(c, "after-removal", "r").await)
            .into_iter()
            .collect();
        assert_eq!(got, want);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_an_unreachable_node_does_not_take_writes_down() {
    // Contract: POST /admin/cluster/nodes adds a learner, waits until it caught up,
    // then promotes it. A node that never answers (typo in raftAddr, host down) must
    // therefore never become a voter, or a 1-node cluster loses its quorum.
    let node = Node::start(NodeOpts::id(1)).await.expect("start chat-node");
    let c = node.client().await.expect("login");
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    }; // closed again: nobody listens there
    let r = c
        .post("/admin/cluster/nodes")
        .no_context_stack()
        .plain()
        .json(json!({"nodeId": 9, "raftAddr": dead.to_string()}))
        .timeout(Duration::from_secs(10))
        .try_send()
        .await;
    match &r {
        Ok(r) => eprintln!("adding unreachable node 9 answered {} {}", r.status, r.text),
        Err(e) => eprintln!("adding unreachable node 9: {e:#}"),
    }
    let st = node.cluster_status().await.expect("status");
    assert!(
        !voters(&st).contains(&9),
        "an unreachable node was promoted to voter: {st}"
    );
    let w = c
        .post("/chat/")
        .json(json!({"name": "still-writable"}))
        .timeout(Duration::from_secs(10))
        .try_send()
        .await
        .expect("write after adding an unreachable node (timed out: quorum lost?)");
    assert_eq!(w.status, 200, "{} -> {} {}", w.desc, w.status, w.text);
}

const WATCHDOG_LINE: &str = "leader's connection closed and it answers no ping";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_replaced_by_the_survivor_the_watchdog_picks() {
    // Contract (raft/failover.rs): when the leader's process dies its connections close; the
    // survivors confirm it is gone and exactly one of them, the one with the longest log,
    // starts an election as soon as the leases allow, instead of waiting for a random timer.
    let mut cluster = Cluster::start(3).await.expect("start 3-node cluster");
    let leader = cluster.wait_leader().await;
    let lc = client(&cluster, leader).await;
    namespace_with_room(&lc, "watchdog", "r").await;
    let before = post_by_user(&lc, "watchdog", "r", "u", 0, "before the kill").await;

    // A healthy cluster: no survivor ran the watchdog's election.
    for id in cluster.others(leader) {
        let log = std::fs::read_to_string(cluster.node(id).log_path()).unwrap_or_default();
        assert!(
            !log.contains(WATCHDOG_LINE),
            "node {id} started an election while the leader was alive"
        );
    }

    cluster.node_mut(leader).kill();
    let new_leader = cluster.wait_leader().await;
    assert_ne!(new_leader, leader);
    let ran: Vec<u64> = cluster
        .others(leader)
        .into_iter()
        .filter(|id| {
            std::fs::read_to_string(cluster.node(*id).log_path())
                .unwrap_or_default()
                .contains(WATCHDOG_LINE)
        })
        .collect();
    assert_eq!(
        ran,
        vec![new_leader],
        "exactly one survivor ran the watchdog's election, and it won"
    );

    // The new leader takes writes and holds what was acknowledged before.
    let nc = client(&cluster, new_leader).await;
    let after = post_by_user(&nc, "watchdog", "r", "u", 0, "after the kill").await;
    let got: BTreeSet<String> = names(&all_messages(&nc, "watchdog", "r").await)
        .into_iter()
        .collect();
    let want: BTreeSet<String> = [str_of(&before, "name"), str_of(&after, "name")]
        .into_iter()
        .collect();
    assert_eq!(got, want);
}

/// Apply writes skip RocksDB's WAL: a SIGKILLed node loses the state it had not flushed and
/// rebuilds it from its own fsync'd Raft log. A single node has nobody to catch up from, and
/// with a small snapshot threshold its log has been purged several times: every acknowledged
/// post must still be there after the restart, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_single_node_rebuilds_every_acknowledged_write_from_its_log() {
    let mut node = Node::start(NodeOpts::id(1).snapshot_threshold(Some(30)))
        .await
        .expect("start chat-node with --snapshot-threshold 30");
    let c = node.client().await.expect("project login");
    namespace_with_room(&c, "crash", "r").await;
    let mut posted = Vec::new();
    for i in 0..150 {
        let m = post_by_user(&c, "crash", "r", "u", 0, &format!("before-{i}")).await;
        posted.push(str_of(&m, "name"));
    }
    let before = applied_index(&node.cluster_status().await.expect("status"));
    let purged = node.cluster_status().await.expect("status")["purgedIndex"].clone();
    assert!(
        purged.as_u64().is_some_and(|p| p > 0),
        "snapshots purged the log before the kill: {purged}"
    );

    node.restart().await.expect("restart after SIGKILL");
    let c = node.client().await.expect("project login after restart");
    node.wait_applied(before, WAIT, "the restarted node to apply its log again")
        .await;
    let after = names(&all_messages(&c, "crash", "r").await);
    assert_eq!(
        after, posted,
        "every acknowledged post, once, in order, after the crash"
    );
    let m = post_by_user(&c, "crash", "r", "u", 0, "after").await;
    assert_eq!(
        names(&all_messages(&c, "crash", "r").await).last(),
        Some(&str_of(&m, "name"))
    );
}
