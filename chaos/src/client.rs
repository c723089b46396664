//! GS2 REST client of the harness (protocol §1–§3).
//!
//! Owns: project login per node (`/identifier/projectToken/login`, token cached per base
//! URL and renewed on 401), requests shaped like the official SDK's (gzip JSON bodies that
//! always carry `contextStack`, `X-GS2-CLIENT-ID` + `Authorization: Bearer`), the optional
//! `X-GS2-DUPLICATION-AVOIDER` and `X-Chat-Read-Consistency: stale` headers, and a
//! per-request timeout. Every answer is a [`Resp`]; transport failures are `Err`.
//! Does not own: retries (the callers decide what is retriable) or any assertion.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use reqwest::Method;
use serde_json::{json, Value};

/// Credentials every node of the run is started with.
pub const CLIENT_ID: &str = "chaos-client";
pub const CLIENT_SECRET: &str = "chaos-secret";

/// A response: status, parsed JSON (`Null` if empty or not JSON) and raw text.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// Worth retrying with the same duplication avoider: 5xx (incl. 503 "no leader").
    pub fn retriable(&self) -> bool {
        self.status >= 500
    }
    /// `status text` trimmed for messages.
    pub fn brief(&self) -> String {
        format!("{} {}", self.status, truncate(&self.text, 300))
    }
}

/// Options of one call.
#[derive(Debug, Clone, Default)]
pub struct Opts {
    pub avoider: Option<String>,
    pub stale: bool,
    pub timeout: Option<Duration>,
}

impl Opts {
    pub fn timeout(t: Duration) -> Opts {
        Opts {
            timeout: Some(t),
            ..Opts::default()
        }
    }
    pub fn avoider(mut self, key: &str) -> Opts {
        self.avoider = Some(key.to_owned());
        self
    }
    pub fn stale(mut self) -> Opts {
        self.stale = true;
        self
    }
}

/// Shared, cheap to clone.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    tokens: Arc<Mutex<HashMap<String, String>>>,
}

impl Default for Api {
    fn default() -> Self {
        Api::new()
    }
}

impl Api {
    pub fn new() -> Api {
        Api {
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(2))
                .timeout(Duration::from_secs(30))
                .pool_idle_timeout(Duration::from_secs(5))
                .build()
                .expect("build reqwest client"),
            tokens: Arc::default(),
        }
    }

    async fn token(&self, base: &str, timeout: Duration) -> Result<String> {
        if let Some(t) = self.tokens.lock().expect("tokens lock").get(base) {
            return Ok(t.clone());
        }
        let body = json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET});
        let r = self
            .http
            .post(format!("{base}/identifier/projectToken/login"))
            .header("Content-Type", "application/json")
            .header("Content-Encoding", "gzip")
            .body(gzip(body.to_string().as_bytes()))
            .timeout(timeout)
            .send()
            .await
            .with_context(|| format!("project login on {base}"))?;
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        if status != 200 {
            bail!(
                "project login on {base} -> {status} {}",
                truncate(&text, 200)
            );
        }
        let v: Value = serde_json::from_str(&text).context("project login body")?;
        let token = v
            .get("access_token")
            .and_then(Value::as_str)
            .with_context(|| format!("no access_token in {text}"))?
            .to_owned();
        self.tokens
            .lock()
            .expect("tokens lock")
            .insert(base.to_owned(), token.clone());
        Ok(token)
    }

    /// One request to `base` + `path`. `body` is sent (gzip, with `contextStack`) for
    /// POST and PUT. A 401 renews the project token and retries once.
    pub async fn call(
        &self,
        base: &str,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
        opts: &Opts,
    ) -> Result<Resp> {
        let timeout = opts.timeout.unwrap_or(Duration::from_secs(10));
        for attempt in 0..2 {
            let token = self.token(base, timeout).await?;
            let mut rb = self
                .http
                .request(method.clone(), format!("{base}{path}"))
                .query(query)
                .timeout(timeout)
                .header("X-GS2-CLIENT-ID", CLIENT_ID)
                .header("Authorization", format!("Bearer {token}"));
            if let Some(a) = &opts.avoider {
                rb = rb.header("X-GS2-DUPLICATION-AVOIDER", a);
            }
            if opts.stale {
                rb = rb.header("X-Chat-Read-Consistency", "stale");
            }
            if method == Method::POST || method == Method::PUT {
                let mut v = body.clone().unwrap_or_else(|| json!({}));
                if let Some(o) = v.as_object_mut() {
                    o.entry("contextStack").or_insert(Value::Null);
                }
                rb = rb
                    .header("Content-Type", "application/json")
                    .header("Content-Encoding", "gzip")
                    .body(gzip(v.to_string().as_bytes()));
            }
            let r = rb
                .send()
                .await
                .with_context(|| format!("{method} {base}{path}"))?;
            let status = r.status().as_u16();
            let text = r
                .text()
                .await
                .with_context(|| format!("{method} {base}{path}: reading the body"))?;
            if status == 401 && attempt == 0 {
                self.tokens.lock().expect("tokens lock").remove(base);
                continue;
            }
            let body = if text.trim().is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::Null)
            };
            return Ok(Resp { status, body, text });
        }
        unreachable!("the loop returns on its second attempt")
    }

    pub async fn get(
        &self,
        base: &str,
        path: &str,
        query: &[(&str, String)],
        opts: &Opts,
    ) -> Result<Resp> {
        self.call(base, Method::GET, path, query, None, opts).await
    }
    pub async fn post(&self, base: &str, path: &str, body: Value, opts: &Opts) -> Result<Resp> {
        self.call(base, Method::POST, path, &[], Some(body), opts)
            .await
    }
    pub async fn delete(&self, base: &str, path: &str, opts: &Opts) -> Result<Resp> {
        self.call(base, Method::DELETE, path, &[], None, opts).await
    }

    /// True if `GET /healthz` answers 200 within `timeout`.
    pub async fn healthz(&self, base: &str, timeout: Duration) -> bool {
        matches!(
            self.http.get(format!("{base}/healthz")).timeout(timeout).send().await,
            Ok(r) if r.status().as_u16() == 200
        )
    }

    /// `GET /admin/cluster` on `base`.
    pub async fn cluster_status(&self, base: &str, timeout: Duration) -> Result<Value> {
        let r = self
            .get(base, "/admin/cluster", &[], &Opts::timeout(timeout))
            .await?;
        if r.status != 200 {
            bail!("GET {base}/admin/cluster -> {}", r.brief());
        }
        Ok(r.body)
    }
}

/// Gzip-compresses `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).expect("gzip write to Vec");
    enc.finish().expect("gzip finish to Vec")
}

pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
