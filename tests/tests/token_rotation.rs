//! Rotating the project secret (`[tokens] previous_client_secrets`): tokens signed with the
//! previous secret keep working on a node restarted with a new one that lists the old one, new
//! tokens are signed with the new secret, and once the old secret is dropped its tokens are
//! refused with the GS2 401 body.

use chat_tests::fixtures::namespace_with_room;
use chat_tests::{Client, Node, NodeOpts};

const OLD: &str = "old-secret-1";
const NEW: &str = "new-secret-2";

async fn status_with(node: &Node, token: &str) -> (u16, String) {
    let c = Client::new(&node.url(), "rotation").with_project_token(Some(token.to_string()));
    let r = c
        .get("/chat/rot/room/r/message/get")
        .query("userId", "reader")
        .query("startAt", 0)
        .try_send()
        .await
        .expect("the node answers");
    (r.status, r.text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_keeps_earlier_tokens_until_it_is_dropped() {
    let mut node = Node::start(NodeOpts::id(1).credentials("rotation", OLD))
        .await
        .expect("start chat-node");
    let c = node.client().await.expect("project login");
    namespace_with_room(&c, "rot", "r").await;
    let old_token = c.project_token().expect("a project token").to_string();
    assert_eq!(status_with(&node, &old_token).await.0, 200);

    // New secret, old one still accepted.
    node.opts_mut().client_secret = NEW.into();
    node.opts_mut()
        .extra_args
        .push(format!("--previous-client-secrets={OLD}"));
    node.restart().await.expect("restart with the new secret");
    assert_eq!(
        status_with(&node, &old_token).await.0,
        200,
        "a token of the previous secret still verifies"
    );
    assert!(
        Client::login(&node.url(), "rotation", OLD).await.is_err(),
        "logging in takes the current secret only"
    );
    let fresh = Client::login(&node.url(), "rotation", NEW)
        .await
        .expect("login with the new secret");
    let new_token = fresh.project_token().expect("a project token").to_string();
    assert_ne!(new_token, old_token);

    // Old secret dropped: its tokens are refused, the new ones are not.
    node.opts_mut().extra_args.clear();
    node.restart()
        .await
        .expect("restart without the old secret");
    let (status, body) = status_with(&node, &old_token).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("chat.token.error.invalid"), "{body}");
    assert_eq!(status_with(&node, &new_token).await.0, 200);
}
