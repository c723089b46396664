//! The fatal-error policy (`node/src/lifecycle.rs`): a node whose storage fails under it stops
//! with a non-zero exit instead of staying half alive, and a restart recovers every write it
//! acknowledged before. The storage failure is injected with the test-only environment
//! variable `CHAT_FAULT_APPLY_FAIL_AFTER` (apply fails once N entries have been applied).

use chat_tests::fixtures::{all_messages, names, namespace_with_room, str_of};
use chat_tests::{wait_until, Node, NodeOpts};
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_failure_in_apply_stops_the_node_and_a_restart_recovers_every_acknowledged_write()
{
    let mut node = Node::start(NodeOpts::id(1).env("CHAT_FAULT_APPLY_FAIL_AFTER", "40"))
        .await
        .expect("start chat-node with an apply fault after 40 entries");
    let c = node.client().await.expect("project login");
    namespace_with_room(&c, "fatal", "r").await;

    let mut acknowledged = Vec::new();
    let mut refused = 0;
    for i in 0..100 {
        let sent = c
            .post("/chat/fatal/room/r/message/user/u")
            .json(json!({"category": 0, "metadata": format!("m-{i}")}))
            .timeout(Duration::from_secs(5))
            .try_send()
            .await;
        match sent {
            Ok(r) if r.status == 200 => acknowledged.push(str_of(&r.ok()["item"], "name")),
            _ => {
                refused += 1;
                break;
            }
        }
    }
    assert!(refused > 0, "the injected fault stopped the writes");
    assert!(
        !acknowledged.is_empty() && acknowledged.len() < 100,
        "some posts were acknowledged before the fault: {}",
        acknowledged.len()
    );

    let status = wait_until(WAIT, "the node to exit after the fatal error", || {
        let s = node.try_exit_status();
        async move { s.ok_or_else(|| "still running".to_string()) }
    })
    .await;
    assert!(
        !status.success(),
        "a fatal error exits non-zero: {status:?}"
    );
    assert!(
        node.log_tail(400).contains("fatal error; the node stops"),
        "the log says why the node stopped"
    );

    node.opts_mut().env.clear();
    node.restart().await.expect("restart without the fault");
    let c = node.client().await.expect("project login after restart");
    let expected = acknowledged.clone();
    wait_until(WAIT, "every acknowledged post after the restart", || {
        let c = c.clone();
        let expected = expected.clone();
        async move {
            let got = names(&all_messages(&c, "fatal", "r").await);
            let missing: Vec<_> = expected.iter().filter(|n| !got.contains(n)).collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!("missing {missing:?}"))
            }
        }
    })
    .await;
    let got = names(&all_messages(&c, "fatal", "r").await);
    let mut dedup = got.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), got.len(), "no post twice");
    assert_eq!(
        &got[..acknowledged.len()],
        &acknowledged[..],
        "acknowledged posts first, in order"
    );
}
