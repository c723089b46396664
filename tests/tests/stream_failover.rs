//! Kill -9 the Raft leader while the official Stream JS client chats (`tests/stream-js/
//! failover.mjs`): alice and bob are connected to the two followers of a 3-node cluster with
//! NATS; alice sends messages with client ids, retrying a failed send with the same id; the
//! leader is killed mid-run. Every acknowledged message is stored exactly once, and bob receives
//! every `message.new` exactly once.

use std::time::Duration;

use chat_tests::sdk::{self, require_stream_js};
use chat_tests::{Cluster, NatsServer, NodeOpts};

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(240);
/// When the leader dies: after connect and watch (about a second), early in the sends (60
/// messages take about 4 s).
const KILL_AFTER: Duration = Duration::from_millis(2500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_killed_while_stream_clients_chat_loses_and_duplicates_nothing() {
    require_stream_js();
    let nats = NatsServer::start().await.expect("start nats-server -js");
    let url = nats.url();
    let mut cluster = Cluster::start_with(3, |id| {
        sdk::with_stream_credentials(NodeOpts::id(id)).nats(url.clone())
    })
    .await
    .expect("start a 3-node cluster with Stream credentials and NATS");
    let leader = cluster.wait_leader().await;
    let followers: Vec<u64> = [1, 2, 3].into_iter().filter(|id| *id != leader).collect();
    let (a, b) = (
        cluster.node(followers[0]).url(),
        cluster.node(followers[1]).url(),
    );
    let env = sdk::stream_env(&a, Some(&b));
    let script = sdk::run_js("failover.mjs", &env, SCRIPT_TIMEOUT);
    let kill = async {
        tokio::time::sleep(KILL_AFTER).await;
        cluster.node_mut(leader).kill();
    };
    let (out, ()) = tokio::join!(script, kill);
    out.assert_passed("node tests/stream-js/failover.mjs (leader killed)");
    let sent = out.step("send_all").expect("send_all line");
    let received = out.step("bob_receives").expect("bob_receives line");
    assert_eq!(received["received"], sent["sent"], "{received} / {sent}");
    // The kill fell inside the sends: one of them waited for a new leader (the election takes
    // at least one election timeout, 300 ms by default).
    let slowest = sent["max_send_ms"].as_u64().unwrap_or(0);
    assert!(slowest >= 200, "no send waited for a new leader: {sent}");
    let stored = out.step("history").expect("history line");
    assert_eq!(stored["stored"], sent["sent"], "{stored} / {sent}");
}
