//! GS2-Gateway and push helpers shared by the push tests: gateway namespaces, a chat
//! namespace wired to one through `postNotification`, subscriptions, session listing,
//! firebase tokens, `/metrics` and `/readyz` scraping. Each asserts success (panicking
//! with the request and response otherwise) unless its name says it returns a result.

use crate::client::{Client, Resp};
use crate::fixtures::{merge, str_of};
use crate::node::Node;
use serde_json::{json, Value};

/// `POST /gateway/` with `name` plus the fields of `extra`; returns the item.
pub async fn create_gateway_namespace(c: &Client, name: &str, extra: Value) -> Value {
    let mut body = json!({"name": name});
    merge(&mut body, extra);
    c.post("/gateway/").json(body).send().await.item()
}

/// Creates gateway namespace `gw` and chat namespace `ns` whose `postNotification`
/// points at it (`gatewayNamespaceId` = the gateway namespace's own GRN, so region and
/// owner are whatever the server uses), `enable: "Enabled"`, plus the fields of
/// `notification_extra` merged into `postNotification`. Returns the chat namespace item.
pub async fn create_push_namespaces(
    c: &Client,
    ns: &str,
    gw: &str,
    gw_extra: Value,
    notification_extra: Value,
) -> Value {
    let gw_item = create_gateway_namespace(c, gw, gw_extra).await;
    let grn = str_of(&gw_item, "namespaceId");
    assert!(
        grn.starts_with("grn:gs2:") && grn.ends_with(&format!(":gateway:{gw}")),
        "gateway namespaceId {grn:?} is not grn:gs2:{{region}}:{{owner}}:gateway:{gw}"
    );
    let mut post_notification = json!({"gatewayNamespaceId": grn, "enable": "Enabled"});
    merge(&mut post_notification, notification_extra);
    crate::fixtures::create_namespace(c, ns, json!({"postNotification": post_notification})).await
}

/// subscribeByUserId: `POST /chat/{ns}/user/{user}/room/{room}/subscribe`.
pub async fn subscribe(c: &Client, ns: &str, room: &str, user: &str, types: Value) -> Value {
    c.post(&format!("/chat/{ns}/user/{user}/room/{room}/subscribe"))
        .json(json!({"notificationTypes": types}))
        .send()
        .await
        .item()
}

/// unsubscribeByUserId: `DELETE /chat/{ns}/user/{user}/room/{room}/subscribe`.
pub async fn unsubscribe(c: &Client, ns: &str, room: &str, user: &str) -> Value {
    c.delete(&format!("/chat/{ns}/user/{user}/room/{room}/subscribe"))
        .send()
        .await
        .item()
}

/// describeWebSocketSessionsByUserId: `GET /gateway/{gw}/session/user/{user}`.
/// `Err` carries the request and response when the status is not 200.
pub async fn sessions_of(c: &Client, gw: &str, user: &str) -> Result<Vec<Value>, String> {
    c.get(&format!("/gateway/{gw}/session/user/{user}"))
        .query("limit", 1000)
        .send()
        .await
        .try_items()
}

/// The sorted `connectionId`s of `sessions`.
pub fn connection_ids(sessions: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = sessions.iter().map(|s| str_of(s, "connectionId")).collect();
    v.sort();
    v
}

/// setFirebaseTokenByUserId: `PUT /gateway/{gw}/user/{user}/firebase/token`.
pub async fn set_firebase_token(c: &Client, gw: &str, user: &str, token: &str, locale: &str) {
    c.put(&format!("/gateway/{gw}/user/{user}/firebase/token"))
        .json(json!({"token": token, "locale": locale}))
        .send()
        .await
        .item();
}

/// `GET /metrics` on `node` as text.
pub async fn metrics_text(node: &Node) -> Result<String, String> {
    let r = get_on(node, "/metrics").await?;
    if r.status != 200 {
        return Err(format!("GET /metrics -> {} {}", r.status, r.text));
    }
    Ok(r.text)
}

/// Sum of every sample of metric `name` (all label sets) in Prometheus text;
/// `None` if the metric has no sample.
pub fn metric_sum(text: &str, name: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            continue;
        }
        let value = rest
            .rsplit_once('}')
            .map(|(_, v)| v)
            .unwrap_or(rest)
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok());
        if let Some(v) = value {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

/// The value of the `nats` key anywhere in the `/readyz` JSON body of `node`
/// (`connected`, `disconnected` or `embedded`), whatever the status code.
pub async fn readyz_nats(node: &Node) -> Result<String, String> {
    let r = get_on(node, "/readyz").await?;
    find_key(&r.body, "nats")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("GET /readyz -> {} {}: no \"nats\" string", r.status, r.text))
}

/// `GET path` with `node`'s logged-in client, whatever the status; `Err` on a login or
/// transport failure.
async fn get_on(node: &Node, path: &str) -> Result<Resp, String> {
    let c = node.client().await.map_err(|e| format!("{e:#}"))?;
    c.get(path).try_send().await.map_err(|e| format!("{e:#}"))
}

fn find_key<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => m
            .get(key)
            .or_else(|| m.values().find_map(|x| find_key(x, key))),
        Value::Array(a) => a.iter().find_map(|x| find_key(x, key)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_sum_adds_label_sets() {
        let text = "# HELP x y\n# TYPE chat_push_sent_total counter\n\
                    chat_push_sent_total{result=\"ok\"} 3\n\
                    chat_push_sent_total{result=\"error\"} 1\n\
                    chat_push_sent_total_other 9\n\
                    chat_ws_overflow_closed_total 2\n";
        assert_eq!(metric_sum(text, "chat_push_sent_total"), Some(4.0));
        assert_eq!(metric_sum(text, "chat_ws_overflow_closed_total"), Some(2.0));
        assert_eq!(metric_sum(text, "chat_nats_connected"), None);
    }

    #[test]
    fn find_key_searches_nested() {
        let v = json!({"status": "ok", "checks": {"nats": "embedded"}});
        assert_eq!(find_key(&v, "nats"), Some(&json!("embedded")));
    }
}
