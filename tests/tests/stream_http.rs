//! Answers of the Stream face produced below its handlers carry Stream's six-key error body
//! (`code`, `message`, `StatusCode`, `duration`, `more_info`, `details`), as the Python SDK
//! requires on every non-2xx answer: an unknown path under `/api/v2/`, a wrong HTTP method on a
//! known path, an over-long request line, a missing or wrong `api_key`, a body that is not
//! JSON, and a method this server does not implement (501, naming it).

use chat_tests::sdk;
use chat_tests::{Node, NodeOpts};
use serde_json::Value;

const SIX_KEYS: [&str; 6] = [
    "code",
    "message",
    "StatusCode",
    "duration",
    "more_info",
    "details",
];

/// Sends the request and checks the answer is `status` with the six keys, `code` and
/// `StatusCode` agreeing; the body.
async fn refused(req: reqwest::RequestBuilder, status: u16, code: i64) -> Value {
    let res = req.send().await.expect("request sent");
    assert_eq!(res.status().as_u16(), status, "HTTP status");
    let body: Value = res.json().await.expect("a JSON error body");
    for key in SIX_KEYS {
        assert!(body.get(key).is_some(), "{key} missing from {body}");
    }
    assert_eq!(body["StatusCode"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_below_the_handlers_carry_the_six_key_body() {
    let node = Node::start(sdk::with_stream_credentials(NodeOpts::id(1)))
        .await
        .expect("start chat-node with Stream credentials");
    let base = node.url();
    let http = reqwest::Client::new();
    let key = format!("api_key={}", sdk::API_KEY);

    refused(
        http.get(format!("{base}/api/v2/no/such/path?{key}")),
        404,
        16,
    )
    .await;
    refused(http.put(format!("{base}/users?{key}")), 405, 4).await;
    let long = "x".repeat(20 * 1024);
    refused(
        http.get(format!("{base}/api/v2/chat/channels?{key}&pad={long}")),
        414,
        4,
    )
    .await;
    refused(http.get(format!("{base}/api/v2/app")), 401, 2).await;
    refused(http.get(format!("{base}/api/v2/app?api_key=wrong")), 401, 2).await;
    let server_token = sdk::server_token();
    let bad_json = http
        .post(format!("{base}/api/v2/users?{key}"))
        .header("Authorization", &server_token)
        .header("stream-auth-type", "jwt")
        .header("Content-Type", "application/json")
        .body("{not json");
    refused(bad_json, 400, 4).await;
    let body = refused(
        http.post(format!("{base}/api/v2/chat/campaigns/query?{key}"))
            .header("Authorization", &server_token)
            .header("stream-auth-type", "jwt"),
        501,
        4,
    )
    .await;
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("query_campaigns"),
        "the 501 names the method: {body}"
    );
}
