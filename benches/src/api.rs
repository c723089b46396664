//! The GS2 REST calls the generator needs: project login, setup (namespaces, rooms,
//! subscriptions), and the hot-path post (`postByUserId`), over [`testkit::Client`]. Setup
//! goes through testkit's request builder; the hot path takes the bare request with the
//! GS2 headers (`X-GS2-CLIENT-ID`, `Authorization: Bearer`) and sends pre-encoded plain
//! JSON over keep-alive connections, nothing else done per request.

use anyhow::{Context, Result};
use bytes::Bytes;
use futures::{stream, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use std::future::Future;
use std::time::Duration;
use testkit::Client;

/// A reqwest client tuned for load: unlimited idle keep-alive connections, no Nagle.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(usize::MAX)
        .pool_idle_timeout(Duration::from_secs(300))
        .tcp_nodelay(true)
        .build()
        .expect("build reqwest client")
}

/// A project-authenticated client bound to one node's API address, on a load-tuned pool.
#[derive(Clone)]
pub struct Api {
    client: Client,
}

impl Api {
    /// `POST /identifier/projectToken/login`.
    pub async fn login(base: &str, client_id: &str, client_secret: &str) -> Result<Api> {
        let client = Client::new(base, client_id).with_http(http_client(Duration::from_secs(30)));
        let token = client.project_login(client_id, client_secret).await?;
        Ok(Api {
            client: client.with_project_token(Some(token)),
        })
    }

    /// The same credentials against another node.
    pub fn at(&self, base: &str) -> Api {
        Api {
            client: self.client.at(base),
        }
    }

    /// The same client with another overall request timeout (a new connection pool).
    pub fn with_timeout(&self, timeout: Duration) -> Api {
        Api {
            client: self.client.clone().with_http(http_client(timeout)),
        }
    }

    /// The same client with its own connection pool.
    pub fn fresh_pool(&self) -> Api {
        self.with_timeout(Duration::from_secs(30))
    }

    /// The testkit client (full GS2 request builder).
    pub fn client(&self) -> &Client {
        &self.client
    }
    pub fn token(&self) -> &str {
        self.client.project_token().unwrap_or_default()
    }
    pub fn client_id(&self) -> &str {
        self.client.client_id()
    }

    /// A request with the GS2 project headers.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, path)
    }

    /// A POST of pre-encoded JSON (the hot path: no re-encoding per request).
    pub fn post_bytes(&self, path: &str, body: Bytes) -> reqwest::RequestBuilder {
        self.request(Method::POST, path)
            .header("Content-Type", "application/json")
            .body(body)
    }

    /// GET; the JSON body if 200.
    pub async fn get_ok(&self, path: &str) -> Result<Value> {
        self.client.get(path).try_send().await?.into_result()
    }

    /// POST of `body` (plain JSON plus `contextStack: null`, as the SDK does); the JSON
    /// body if 200.
    pub async fn post_ok(&self, path: &str, body: Value) -> Result<Value> {
        self.client
            .post(path)
            .plain()
            .json(body)
            .try_send()
            .await?
            .into_result()
    }
}

/// Creates gateway namespace `gw`; returns its GRN (`namespaceId`).
pub async fn create_gateway_ns(api: &Api, gw: &str) -> Result<String> {
    let v = api.post_ok("/gateway/", json!({"name": gw})).await?;
    v["item"]["namespaceId"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no namespaceId in {v}"))
}

/// Creates chat namespace `ns`, pushing posts to the gateway namespace `gw_grn` if given.
pub async fn create_chat_ns(api: &Api, ns: &str, gw_grn: Option<&str>) -> Result<()> {
    let mut body = json!({"name": ns, "allowCreateRoom": true});
    if let Some(grn) = gw_grn {
        body["postNotification"] = json!({"gatewayNamespaceId": grn, "enable": "Enabled"});
    }
    api.post_ok("/chat/", body).await.map(|_| ())
}

/// createRoomFromBackend.
pub async fn create_room(api: &Api, ns: &str, room: &str) -> Result<()> {
    api.post_ok(
        &format!("/chat/{ns}/room"),
        json!({"name": room, "userId": "owner"}),
    )
    .await
    .map(|_| ())
}

/// subscribeByUserId to every category.
pub async fn subscribe(api: &Api, ns: &str, room: &str, user: &str) -> Result<()> {
    api.post_ok(
        &format!("/chat/{ns}/user/{user}/room/{room}/subscribe"),
        json!({"notificationTypes": []}),
    )
    .await
    .map(|_| ())
}

/// The path of postByUserId.
pub fn post_path(ns: &str, room: &str, user: &str) -> String {
    format!("/chat/{ns}/room/{room}/message/user/{user}")
}

/// The JSON body of every post: category 0 and `metadata` of the configured size.
pub fn post_body(metadata: &str) -> Bytes {
    Bytes::from(
        serde_json::to_vec(&json!({"category": 0, "metadata": metadata, "contextStack": null}))
            .expect("encode"),
    )
}

/// Creates namespace `ns` (optionally wired to gateway namespace `gw`) and `rooms` rooms named
/// `room-<i>`. Returns the room names.
pub async fn setup_rooms(
    api: &Api,
    ns: &str,
    gw: Option<&str>,
    rooms: usize,
) -> Result<Vec<String>> {
    let grn = match gw {
        Some(g) => Some(create_gateway_ns(api, g).await?),
        None => None,
    };
    create_chat_ns(api, ns, grn.as_deref()).await?;
    let names: Vec<String> = (0..rooms).map(|i| format!("room-{i}")).collect();
    concurrently(names.clone(), 16, |r| {
        let api = api.clone();
        let ns = ns.to_owned();
        async move { create_room(&api, &ns, &r).await }
    })
    .await?;
    Ok(names)
}

/// Runs `f` over `items`, at most `limit` at once; fails with the first error.
pub async fn concurrently<T, F, Fut, R>(items: Vec<T>, limit: usize, f: F) -> Result<Vec<R>>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<R>>,
{
    let results: Vec<Result<R>> = stream::iter(items.into_iter().map(f))
        .buffered(limit.max(1))
        .collect()
        .await;
    results.into_iter().collect()
}
