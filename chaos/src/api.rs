//! How the harness's REST clients call the nodes, over [`testkit::Client`] (which speaks
//! GS2 the way the official SDK does).
//!
//! Owns: the harness's calling policy: one logged-in client per node (the project token
//! cached per base URL and renewed once on 401, as a node may have restarted), one
//! connection pool for all of them (short idle timeout: nodes die and come back), a
//! per-call timeout (10 s unless given), the duplication avoider and stale-read options,
//! and what counts as a transport failure (`Err`: no answer, or an answer whose body was
//! lost). Every answer is a [`Resp`].
//! Does not own: retries across nodes (the callers decide what is retriable) or any
//! assertion.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Result};
use reqwest::Method;
use serde_json::Value;
use testkit::Client;

pub use testkit::Resp;

/// Credentials every node of the run is started with.
pub const CLIENT_ID: &str = "chaos-client";
pub const CLIENT_SECRET: &str = "chaos-secret";

/// Timeout of a call whose [`Opts`] name none.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether an answer is worth retrying with the same duplication avoider: 5xx (incl.
/// 503 "no leader").
pub trait Retriable {
    fn retriable(&self) -> bool;
}

impl Retriable for Resp {
    fn retriable(&self) -> bool {
        self.status >= 500
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
    clients: Arc<Mutex<HashMap<String, Client>>>,
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
            clients: Arc::default(),
        }
    }

    /// The logged-in client of `base` (project login within `timeout` on first use).
    async fn client(&self, base: &str, timeout: Duration) -> Result<Client> {
        if let Some(c) = self.clients.lock().expect("clients lock").get(base) {
            return Ok(c.clone());
        }
        let c = Client::new(base, CLIENT_ID).with_http(self.http.clone());
        let token = c
            .project_login_within(CLIENT_ID, CLIENT_SECRET, timeout)
            .await?;
        let c = c.with_project_token(Some(token));
        self.clients
            .lock()
            .expect("clients lock")
            .insert(base.to_owned(), c.clone());
        Ok(c)
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
        let timeout = opts.timeout.unwrap_or(DEFAULT_TIMEOUT);
        for attempt in 0..2 {
            let client = self.client(base, timeout).await?;
            let mut call = client.call(method.clone(), path).timeout(timeout);
            for (k, v) in query {
                call = call.query(k, v);
            }
            if let Some(b) = &body {
                call = call.json(b.clone());
            }
            if let Some(a) = &opts.avoider {
                call = call.dup(a);
            }
            if opts.stale {
                call = call.stale();
            }
            let r = call.try_send().await?;
            if let Some(e) = &r.body_error {
                bail!("{}: reading the body: {e}", r.desc);
            }
            if r.status == 401 && attempt == 0 {
                self.clients.lock().expect("clients lock").remove(base);
                continue;
            }
            return Ok(r);
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

    /// `GET /admin/cluster` on `base`.
    pub async fn cluster_status(&self, base: &str, timeout: Duration) -> Result<Value> {
        self.get(base, "/admin/cluster", &[], &Opts::timeout(timeout))
            .await?
            .into_result()
    }
}
