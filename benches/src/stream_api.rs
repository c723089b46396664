//! A lean client of the Stream face for the load generator: server and user JWTs (HS256 with
//! the app secret the generator starts nodes with) and JSON calls on the v1 paths.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

/// The app credentials every node the generator starts gets (`--stream-api-key/-secret`).
pub const STREAM_KEY: &str = "bench-stream-key";
pub const STREAM_SECRET: &str = "bench-stream-secret";

#[derive(Clone)]
pub struct StreamApi {
    http: reqwest::Client,
    base: String,
    token: String,
}

fn sign(claims: Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(STREAM_SECRET.as_bytes()).expect("a secret");
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("HS256 signs")
}

impl StreamApi {
    /// A server-token client of the node at `base`.
    pub fn new(base: &str) -> StreamApi {
        StreamApi {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(1024)
                .build()
                .expect("an HTTP client"),
            base: base.trim_end_matches('/').to_string(),
            token: sign(json!({})),
        }
    }

    /// The same client against another node.
    pub fn at(&self, base: &str) -> StreamApi {
        StreamApi {
            base: base.trim_end_matches('/').to_string(),
            ..self.clone()
        }
    }

    /// The same client acting as `user` (a user token).
    pub fn as_user(&self, user: &str) -> StreamApi {
        StreamApi {
            token: self.user_token(user),
            ..self.clone()
        }
    }

    pub fn user_token(&self, user: &str) -> String {
        sign(json!({ "user_id": user }))
    }

    pub async fn post(&self, path: &str, body: Value) -> Result<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = format!("{}{path}{sep}api_key={STREAM_KEY}", self.base);
        let res = self
            .http
            .post(&url)
            .header("Authorization", &self.token)
            .header("stream-auth-type", "jwt")
            .json(&body)
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        let status = res.status();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("POST {path}: {status} {v}");
        }
        Ok(v)
    }

    pub async fn upsert_users(&self, ids: &[String]) -> Result<()> {
        for chunk in ids.chunks(100) {
            let users: serde_json::Map<String, Value> = chunk
                .iter()
                .map(|id| (id.clone(), json!({ "id": id })))
                .collect();
            self.post("/users", json!({ "users": users })).await?;
        }
        Ok(())
    }
}
