//! The harness for the official Stream SDKs (`chat_tests::sdk`), proven without a server:
//! the pinned `stream-chat` (npm, `tests/stream-js/`) and `getstream` (PyPI) are installed
//! and runnable, and mint HS256 user tokens (`smoke.mjs`, `smoke.py`); `run_script` collects
//! JSON lines, reports failures and kills a script that outlives its timeout.
//!
//! The connect tests run the first-slice scripts (`connect.mjs`, `connect.py`) against real
//! nodes started with `--stream-api-key/--stream-api-secret` (the Stream face,
//! `node/src/faces/stream/`): one node, and two nodes of one cluster.
//!
//! Needs `node` with `npm ci --prefix tests/stream-js` done and `pip install getstream==7.0.0`
//! (`scripts/setup.sh` does both). Without them the tests fail and say so.

use chat_tests::sdk::{self, require_stream_js, require_stream_py, ScriptOutput};
use chat_tests::{Cluster, NatsServer, Node, NodeOpts};
use serde_json::{json, Value};
use std::time::Duration;

const SMOKE_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(120);

/// Smoke scripts make no request: the base URL is only given to the client constructors.
fn smoke_env() -> Vec<(&'static str, String)> {
    sdk::stream_env("http://127.0.0.1:9", None)
}

/// The "smoke" line, after checking the script passed and the token it reports is an
/// HS256 JWT for `alice` whose signature verifies with the secret.
fn smoke_line(out: &ScriptOutput, what: &str) -> Value {
    out.assert_passed(what);
    let line = out.step("smoke").cloned().expect("a \"smoke\" line");
    assert_eq!(line["ok"], true, "{line}");
    assert_eq!(line["header"]["alg"], "HS256", "JWT header: {line}");
    assert_eq!(line["header"]["typ"], "JWT", "JWT header: {line}");
    assert_eq!(line["payload"]["user_id"], "alice", "JWT payload: {line}");
    assert_eq!(
        line["signature_valid"], true,
        "HS256 signature with the secret: {line}"
    );
    let token = line["token"].as_str().expect("token");
    assert_eq!(token.split('.').count(), 3, "{token}");
    line
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_stream_js_sdk_mints_hs256_user_tokens() {
    require_stream_js();
    let out = sdk::run_js("smoke.mjs", &smoke_env(), SMOKE_TIMEOUT).await;
    let line = smoke_line(&out, "node tests/stream-js/smoke.mjs");
    let agent = line["user_agent"].as_str().unwrap_or_default();
    assert!(
        agent.starts_with(&format!("stream-chat-js-v{}-node", sdk::STREAM_JS_VERSION)),
        "X-Stream-Client of the pinned SDK: {agent}"
    );
    // JS user tokens carry no iat/exp unless asked; the server token is {"server": true}.
    assert_eq!(line["payload"], json!({"user_id": "alice"}), "{line}");
    assert_eq!(
        line["server_token_payload"],
        json!({"server": true}),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_stream_py_sdk_mints_hs256_user_tokens() {
    require_stream_py();
    let out = sdk::run_py("smoke.py", &smoke_env(), SMOKE_TIMEOUT).await;
    let line = smoke_line(&out, "python3 tests/stream-py/smoke.py");
    assert_eq!(line["version"], sdk::STREAM_PY_VERSION, "{line}");
    // PY user tokens always carry iat = now - 5; the server token has no claims at all.
    assert!(line["payload"]["iat"].is_i64(), "{line}");
    assert_eq!(line["server_token_payload"], json!({}), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_script_collects_json_lines_reports_failure_and_kills_on_timeout() {
    let dir = tempfile::tempdir().expect("temp dir");

    let failing = dir.path().join("failing.py");
    std::fs::write(
        &failing,
        "import os, sys\n\
         print('not json')\n\
         print('{\"step\": \"a\", \"ok\": true, \"url\": \"%s\"}' % os.environ['STREAM_BASE_URL'])\n\
         print('{\"step\": \"b\", \"ok\": false, \"error\": {\"code\": 4}}')\n\
         sys.stderr.write('boom\\n')\n\
         sys.exit(3)\n",
    )
    .expect("write failing.py");
    let env = [("STREAM_BASE_URL", "http://127.0.0.1:1".to_owned())];
    let out = sdk::run_script("python3", &failing, &env, SMOKE_TIMEOUT).await;
    assert!(!out.ok && !out.timed_out, "{out:?}");
    assert!(out.status.contains('3'), "{}", out.status);
    assert_eq!(out.json_lines.len(), 2, "{out:?}");
    assert_eq!(out.step("a").expect("step a")["url"], "http://127.0.0.1:1");
    assert_eq!(out.failed_step().expect("failed step")["step"], "b");
    assert!(!out.done());
    assert!(
        out.stdout.contains("not json") && out.stderr.contains("boom"),
        "{out:?}"
    );

    let hanging = dir.path().join("hanging.mjs");
    std::fs::write(
        &hanging,
        "console.log(JSON.stringify({step: 'started', ok: true}));\n\
         setInterval(() => {}, 1000);\n",
    )
    .expect("write hanging.mjs");
    let started = std::time::Instant::now();
    let out = sdk::run_script("node", &hanging, &[], Duration::from_secs(3)).await;
    assert!(out.timed_out && !out.ok, "{out:?}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.json_lines, vec![json!({"step": "started", "ok": true})]);
    assert!(
        out.stderr.contains("killed by chat_tests::sdk::run_script"),
        "{out:?}"
    );
}

// ------------------------------------------------------------------ needs the Stream face

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_js_connect_flow_against_a_node() {
    require_stream_js();
    let node = Node::start(sdk::with_stream_credentials(NodeOpts::id(1)))
        .await
        .expect("start chat-node with Stream credentials");
    let env = sdk::stream_env(&node.url(), None);
    sdk::run_js("connect.mjs", &env, CONNECT_TIMEOUT)
        .await
        .assert_passed("node tests/stream-js/connect.mjs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_py_connect_flow_against_a_node() {
    require_stream_py();
    let node = Node::start(sdk::with_stream_credentials(NodeOpts::id(1)))
        .await
        .expect("start chat-node with Stream credentials");
    let env = sdk::stream_env(&node.url(), None);
    sdk::run_py("connect.py", &env, CONNECT_TIMEOUT)
        .await
        .assert_passed("python3 tests/stream-py/connect.py");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_sdks_connect_flow_across_two_nodes() {
    require_stream_js();
    require_stream_py();
    let cluster = Cluster::start_with(2, |id| sdk::with_stream_credentials(NodeOpts::id(id)))
        .await
        .expect("start a 2-node cluster with Stream credentials");
    let (one, two) = (cluster.node(1).url(), cluster.node(2).url());
    let env = sdk::stream_env(&one, Some(&two));
    sdk::run_py("connect.py", &env, CONNECT_TIMEOUT)
        .await
        .assert_passed("python3 tests/stream-py/connect.py (2 nodes)");
    sdk::run_js("connect.mjs", &env, CONNECT_TIMEOUT)
        .await
        .assert_passed("node tests/stream-js/connect.mjs (2 nodes)");
}

// ------------------------------------------- needs the Stream face's channels and messages

/// The chat scripts make more round trips than the connect ones (and wait up to 10 s for events).
const CHAT_TIMEOUT: Duration = Duration::from_secs(180);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_js_chat_on_one_node() {
    require_stream_js();
    let node = Node::start(sdk::with_stream_credentials(NodeOpts::id(1)))
        .await
        .expect("start chat-node with Stream credentials");
    let env = sdk::stream_env(&node.url(), None);
    let out = sdk::run_js("chat.mjs", &env, CHAT_TIMEOUT).await;
    out.assert_passed("node tests/stream-js/chat.mjs");
    let dup = out
        .step("duplicate_message_id")
        .expect("duplicate_message_id line");
    assert_eq!(dup["code"], 4, "{dup}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_js_chat_across_two_nodes() {
    require_stream_js();
    // Events cross nodes on the NATS bus (the embedded bus reaches one node's sockets only).
    let nats = NatsServer::start().await.expect("start nats-server -js");
    let url = nats.url();
    let cluster = Cluster::start_with(2, |id| {
        sdk::with_stream_credentials(NodeOpts::id(id)).nats(url.clone())
    })
    .await
    .expect("start a 2-node cluster with Stream credentials and NATS");
    let (one, two) = (cluster.node(1).url(), cluster.node(2).url());
    // alice on node 1 (STREAM_BASE_URL), bob on node 2 (STREAM_BASE_URL_2).
    let env = sdk::stream_env(&one, Some(&two));
    let out = sdk::run_js("chat.mjs", &env, CHAT_TIMEOUT).await;
    out.assert_passed("node tests/stream-js/chat.mjs (2 nodes)");
    let connect = out.step("connect_users").expect("connect_users line");
    assert_eq!(
        connect["bob_node"].as_str(),
        Some(two.trim_end_matches('/')),
        "{connect}"
    );
    let received = out
        .step("bob_receives_message")
        .expect("bob_receives_message line");
    assert_eq!(received["from_other_node"], true, "{received}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_py_chat_on_one_node() {
    require_stream_py();
    let node = Node::start(sdk::with_stream_credentials(NodeOpts::id(1)))
        .await
        .expect("start chat-node with Stream credentials");
    let env = sdk::stream_env(&node.url(), None);
    let out = sdk::run_py("chat.py", &env, CHAT_TIMEOUT).await;
    out.assert_passed("python3 tests/stream-py/chat.py");
    let line = out
        .step("invalid_channel_id")
        .expect("invalid_channel_id line");
    assert_eq!(line["code"], 4, "{line}");
    // Server-side calls bypass permission checks, as on Stream ("server-side allows
    // everything"): a non-member's message sent with the server token is stored.
    let line = out
        .step("server_side_non_member_send")
        .expect("non-member send line");
    assert_eq!(line["ok"], true, "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_js_reactions_reads_typing_and_notifications() {
    require_stream_js();
    let node = Node::start(sdk::with_stream_credentials(NodeOpts::id(1)))
        .await
        .expect("start chat-node with Stream credentials");
    let env = sdk::stream_env(&node.url(), None);
    let out = sdk::run_js("interact.mjs", &env, CHAT_TIMEOUT).await;
    out.assert_passed("node tests/stream-js/interact.mjs");
    let read = out.step("mark_read").expect("mark_read line");
    assert_eq!(
        (
            read["unread_before"].as_u64(),
            read["unread_after"].as_u64()
        ),
        (Some(2), Some(0)),
        "{read}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_js_channel_updates_members_and_delete() {
    require_stream_js();
    let node = Node::start(sdk::with_stream_credentials(NodeOpts::id(1)))
        .await
        .expect("start chat-node with Stream credentials");
    let env = sdk::stream_env(&node.url(), None);
    let out = sdk::run_js("members.mjs", &env, CHAT_TIMEOUT).await;
    out.assert_passed("node tests/stream-js/members.mjs");
    let refused = out.step("member_refused").expect("member_refused line");
    assert_eq!(refused["code"], 17, "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_js_message_edits_deletes_and_thread_replies() {
    require_stream_js();
    let node = Node::start(sdk::with_stream_credentials(NodeOpts::id(1)))
        .await
        .expect("start chat-node with Stream credentials");
    let env = sdk::stream_env(&node.url(), None);
    let out = sdk::run_js("edit.mjs", &env, CHAT_TIMEOUT).await;
    out.assert_passed("node tests/stream-js/edit.mjs");
    let refused = out.step("not_author").expect("not_author line");
    assert_eq!(
        (
            refused["edit_code"].as_u64(),
            refused["delete_code"].as_u64()
        ),
        (Some(17), Some(17)),
        "{refused}"
    );
    let replies = out.step("replies").expect("replies line");
    assert_eq!(replies["reply_count"], 1, "{replies}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_js_presence_online_and_changes() {
    require_stream_js();
    let node = Node::start(sdk::with_stream_credentials(NodeOpts::id(1)))
        .await
        .expect("start chat-node with Stream credentials");
    let env = sdk::stream_env(&node.url(), None);
    let out = sdk::run_js("presence.mjs", &env, CHAT_TIMEOUT).await;
    out.assert_passed("node tests/stream-js/presence.mjs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_js_user_deactivation_deletion_and_guests() {
    require_stream_js();
    let node = Node::start(sdk::with_stream_credentials(NodeOpts::id(1)))
        .await
        .expect("start chat-node with Stream credentials");
    let env = sdk::stream_env(&node.url(), None);
    let out = sdk::run_js("users.mjs", &env, CHAT_TIMEOUT).await;
    out.assert_passed("node tests/stream-js/users.mjs");
    let refused = out.step("deactivate").expect("deactivate line");
    assert_eq!(refused["code"], 17, "{refused}");
    let guest = out.step("guest").expect("guest line");
    assert_eq!(guest["role"], "guest", "{guest}");
    sdk::run_py("users.py", &env, CHAT_TIMEOUT)
        .await
        .assert_passed("python3 tests/stream-py/users.py");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_py_reactions_reads_updates_deletes_and_guests() {
    require_stream_py();
    let node = Node::start(sdk::with_stream_credentials(NodeOpts::id(1)))
        .await
        .expect("start chat-node with Stream credentials");
    let env = sdk::stream_env(&node.url(), None);
    let out = sdk::run_py("more.py", &env, CHAT_TIMEOUT).await;
    // Each step fails on a RuntimeWarning of the SDK's decoding (a required field missing)
    // or a decoded field of the wrong type.
    out.assert_passed("python3 tests/stream-py/more.py");
    let reaction = out.step("send_reaction").expect("send_reaction line");
    assert_eq!(
        reaction["reaction_counts"],
        json!({"love": 1}),
        "{reaction}"
    );
    let hard = out
        .step("hard_delete_message")
        .expect("hard_delete_message line");
    assert_eq!(
        (hard["get_code"].as_u64(), hard["reply_count"].as_u64()),
        (Some(16), Some(0)),
        "{hard}"
    );
    let guest = out.step("create_guest").expect("create_guest line");
    assert_eq!(
        (guest["role"].as_str(), guest["again_code"].as_u64()),
        (Some("guest"), Some(4)),
        "{guest}"
    );
}
