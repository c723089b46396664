//! GS2 REST client for tests.
//!
//! Owns: project login (`/identifier/projectToken/login`), player login (`/auth/login`)
//! and a request builder ([`Call`]) that sends what the official SDK sends: gzip JSON
//! bodies always carrying `contextStack`, `X-GS2-CLIENT-ID` + `Authorization: Bearer`,
//! optional `X-GS2-ACCESS-TOKEN` and `X-GS2-DUPLICATION-AVOIDER`. Every answer comes
//! back as a [`Resp`] (status + parsed JSON + a description of the request, so a failed
//! assertion shows the request and the response).
//! Does not own: assertions about server semantics.

use crate::gs2::gzip;
use crate::resp::truncate;
pub use crate::resp::Resp;
use anyhow::{bail, Context, Result};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A client bound to one node's API address.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    client_id: String,
    project_token: Option<String>,
}

impl Client {
    /// A client without a project token (requests carry no `Authorization`).
    pub fn new(base: &str, client_id: &str) -> Client {
        Client {
            http: build_http(DEFAULT_TIMEOUT),
            base: base.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            project_token: None,
        }
    }

    /// Project login, returning a client that sends the project token.
    pub async fn login(base: &str, client_id: &str, client_secret: &str) -> Result<Client> {
        let mut c = Client::new(base, client_id);
        let token = c.project_login(client_id, client_secret).await?;
        c.project_token = Some(token);
        Ok(c)
    }

    /// Same client with another overall per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.http = build_http(timeout);
        self
    }

    /// Same client over another reqwest client (its own pool, timeouts, keep-alive).
    pub fn with_http(mut self, http: reqwest::Client) -> Client {
        self.http = http;
        self
    }

    /// The same credentials and connection pool against another node.
    pub fn at(&self, base: &str) -> Client {
        Client {
            base: base.trim_end_matches('/').to_owned(),
            ..self.clone()
        }
    }

    /// Same client with another (or no) project token.
    pub fn with_project_token(mut self, token: Option<String>) -> Client {
        self.project_token = token;
        self
    }

    pub fn base(&self) -> &str {
        &self.base
    }
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
    pub fn project_token(&self) -> Option<&str> {
        self.project_token.as_deref()
    }
    /// The underlying reqwest client (gzip response decoding on).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `POST /identifier/projectToken/login` with a gzip body (like the SDK) and
    /// `contextStack: null`; returns `access_token`.
    pub async fn project_login(&self, client_id: &str, client_secret: &str) -> Result<String> {
        self.project_login_call(client_id, client_secret, None)
            .await
    }

    /// [`Client::project_login`] within `timeout`.
    pub async fn project_login_within(
        &self,
        client_id: &str,
        client_secret: &str,
        timeout: Duration,
    ) -> Result<String> {
        self.project_login_call(client_id, client_secret, Some(timeout))
            .await
    }

    async fn project_login_call(
        &self,
        client_id: &str,
        client_secret: &str,
        timeout: Option<Duration>,
    ) -> Result<String> {
        let mut call = self
            .post("/identifier/projectToken/login")
            .no_auth()
            .json(json!({"client_id": client_id, "client_secret": client_secret}));
        if let Some(t) = timeout {
            call = call.timeout(t);
        }
        let r = call.try_send().await?;
        if r.status != 200 {
            bail!("project login -> {}: {}", r.status, r.text);
        }
        r.body
            .get("access_token")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("project login: no access_token in {}", r.text))
    }

    /// `POST /auth/login` for `user_id`; returns the player access token.
    pub async fn player_login(&self, user_id: &str) -> Result<String> {
        let r = self
            .post("/auth/login")
            .json(json!({"userId": user_id, "timeOffset": 0}))
            .try_send()
            .await?;
        if r.status != 200 {
            bail!("auth login of {user_id} -> {}: {}", r.status, r.text);
        }
        if let Some(u) = r.body.get("userId").and_then(Value::as_str) {
            if u != user_id {
                bail!("auth login of {user_id} returned userId {u}");
            }
        }
        r.body
            .get("token")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("auth login: no token in {}", r.text))
    }

    /// Player token for `user_id`; panics on failure.
    pub async fn player(&self, user_id: &str) -> String {
        self.player_login(user_id)
            .await
            .unwrap_or_else(|e| panic!("player login {user_id}: {e:#}"))
    }

    /// A bare reqwest request to `base + path` with the project headers
    /// (`X-GS2-CLIENT-ID`, `Authorization: Bearer` if the client has a token) and nothing
    /// else: no body, no description, no parsing of the answer. The lean path for load.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let rb = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .header("X-GS2-CLIENT-ID", &self.client_id);
        match &self.project_token {
            Some(t) => rb.header("Authorization", format!("Bearer {t}")),
            None => rb,
        }
    }

    pub fn call(&self, method: Method, path: &str) -> Call<'_> {
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{}", self.base, path)
        };
        let has_body = method == Method::POST || method == Method::PUT;
        Call {
            client: self,
            method,
            url,
            query: Vec::new(),
            body: if has_body {
                Body::Json(json!({}))
            } else {
                Body::None
            },
            gzip: true,
            context_stack: true,
            access_token: None,
            dup: None,
            auth: Auth::Project,
            headers: Vec::new(),
            timeout: None,
        }
    }
    pub fn get(&self, path: &str) -> Call<'_> {
        self.call(Method::GET, path)
    }
    /// POST; the body defaults to `{"contextStack":null}` until [`Call::json`] is used.
    pub fn post(&self, path: &str) -> Call<'_> {
        self.call(Method::POST, path)
    }
    pub fn put(&self, path: &str) -> Call<'_> {
        self.call(Method::PUT, path)
    }
    pub fn delete(&self, path: &str) -> Call<'_> {
        self.call(Method::DELETE, path)
    }
}

fn build_http(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("build reqwest client")
}

enum Body {
    None,
    Json(Value),
    Raw {
        bytes: Vec<u8>,
        content_type: Option<String>,
        content_encoding: Option<String>,
    },
}

enum Auth {
    /// `X-GS2-CLIENT-ID` + `Authorization: Bearer <project token>` (if the client has one).
    Project,
    /// No GS2 headers at all.
    None,
    /// `X-GS2-CLIENT-ID` + `Authorization: Bearer <this>`.
    Bearer(String),
}

/// One request being built. Send with [`Call::send`] or [`Call::try_send`].
pub struct Call<'a> {
    client: &'a Client,
    method: Method,
    url: String,
    query: Vec<(String, String)>,
    body: Body,
    gzip: bool,
    context_stack: bool,
    access_token: Option<String>,
    dup: Option<String>,
    auth: Auth,
    headers: Vec<(String, String)>,
    timeout: Option<Duration>,
}

impl<'a> Call<'a> {
    pub fn query(mut self, key: &str, value: impl ToString) -> Self {
        self.query.push((key.to_owned(), value.to_string()));
        self
    }
    /// Adds `key=value` only when `value` is `Some`.
    pub fn query_opt(self, key: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.query(key, v),
            None => self,
        }
    }
    /// JSON body (objects get `"contextStack": null` added unless already present).
    pub fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }
    /// Raw body bytes with optional `Content-Type` / `Content-Encoding` (no gzip added).
    pub fn raw(
        mut self,
        bytes: impl Into<Vec<u8>>,
        content_type: Option<&str>,
        content_encoding: Option<&str>,
    ) -> Self {
        self.body = Body::Raw {
            bytes: bytes.into(),
            content_type: content_type.map(str::to_owned),
            content_encoding: content_encoding.map(str::to_owned),
        };
        self
    }
    /// Send the JSON body uncompressed.
    pub fn plain(mut self) -> Self {
        self.gzip = false;
        self
    }
    /// Do not add `contextStack` to the JSON body.
    pub fn no_context_stack(mut self) -> Self {
        self.context_stack = false;
        self
    }
    /// `X-GS2-ACCESS-TOKEN`.
    pub fn player(mut self, token: &str) -> Self {
        self.access_token = Some(token.to_owned());
        self
    }
    /// `X-GS2-DUPLICATION-AVOIDER`.
    pub fn dup(mut self, key: &str) -> Self {
        self.dup = Some(key.to_owned());
        self
    }
    /// No `X-GS2-CLIENT-ID` and no `Authorization`.
    pub fn no_auth(mut self) -> Self {
        self.auth = Auth::None;
        self
    }
    /// `Authorization: Bearer <token>` instead of the client's project token.
    pub fn bearer(mut self, token: &str) -> Self {
        self.auth = Auth::Bearer(token.to_owned());
        self
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
    /// `X-Chat-Read-Consistency: stale`.
    pub fn stale(self) -> Self {
        self.header("X-Chat-Read-Consistency", "stale")
    }
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }

    fn describe(&self, body_text: &str) -> String {
        let mut d = format!("{} {}", self.method, self.url);
        if !self.query.is_empty() {
            let q: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            d.push('?');
            d.push_str(&q.join("&"));
        }
        if self.access_token.is_some() {
            d.push_str(" [X-GS2-ACCESS-TOKEN]");
        }
        if let Some(k) = &self.dup {
            d.push_str(&format!(" [X-GS2-DUPLICATION-AVOIDER: {k}]"));
        }
        match self.auth {
            Auth::Project if self.client.project_token.is_none() => {
                d.push_str(" [no project token]")
            }
            Auth::Project => {}
            Auth::None => d.push_str(" [no auth headers]"),
            Auth::Bearer(_) => d.push_str(" [custom Bearer]"),
        }
        for (k, v) in &self.headers {
            d.push_str(&format!(" [{k}: {}]", truncate(v, 60)));
        }
        if !body_text.is_empty() {
            d.push_str(&format!(" body={}", truncate(body_text, 600)));
        }
        d
    }

    /// Sends; a transport error is an `Err`.
    pub async fn try_send(self) -> Result<Resp> {
        let mut rb = self
            .client
            .http
            .request(self.method.clone(), &self.url)
            .query(&self.query);
        match &self.auth {
            Auth::Project => {
                rb = rb.header("X-GS2-CLIENT-ID", &self.client.client_id);
                if let Some(t) = &self.client.project_token {
                    rb = rb.header("Authorization", format!("Bearer {t}"));
                }
            }
            Auth::Bearer(t) => {
                rb = rb
                    .header("X-GS2-CLIENT-ID", &self.client.client_id)
                    .header("Authorization", format!("Bearer {t}"));
            }
            Auth::None => {}
        }
        if let Some(t) = &self.access_token {
            rb = rb.header("X-GS2-ACCESS-TOKEN", t);
        }
        if let Some(k) = &self.dup {
            rb = rb.header("X-GS2-DUPLICATION-AVOIDER", k);
        }
        for (k, v) in &self.headers {
            rb = rb.header(k, v);
        }
        if let Some(t) = self.timeout {
            rb = rb.timeout(t);
        }
        let mut body_text = String::new();
        match &self.body {
            Body::None => {}
            Body::Json(v) => {
                let mut v = v.clone();
                if self.context_stack {
                    if let Some(obj) = v.as_object_mut() {
                        obj.entry("contextStack").or_insert(Value::Null);
                    }
                }
                body_text = v.to_string();
                rb = rb.header("Content-Type", "application/json");
                if self.gzip {
                    rb = rb
                        .header("Content-Encoding", "gzip")
                        .body(gzip(body_text.as_bytes()));
                } else {
                    rb = rb.body(body_text.clone());
                }
            }
            Body::Raw {
                bytes,
                content_type,
                content_encoding,
            } => {
                body_text = format!("<{} raw bytes>", bytes.len());
                if let Some(ct) = content_type {
                    rb = rb.header("Content-Type", ct);
                }
                if let Some(ce) = content_encoding {
                    rb = rb.header("Content-Encoding", ce);
                }
                rb = rb.body(bytes.clone());
            }
        }
        let desc = self.describe(&body_text);
        let resp = rb
            .send()
            .await
            .with_context(|| format!("request failed: {desc}"))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        // The status line arrived; if the body then fails (e.g. the server answered an
        // oversized upload early and reset the connection), keep the status and put the
        // read error in `text`: `body` is then `Null`, so body assertions still fail.
        let (text, body_error) = match resp.text().await {
            Ok(t) => (t, None),
            Err(e) => (
                format!("<response body lost: {e:#}>"),
                Some(format!("{e:#}")),
            ),
        };
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        Ok(Resp {
            status,
            body,
            text,
            headers,
            desc,
            body_error,
        })
    }

    /// Sends; panics on a transport error.
    pub async fn send(self) -> Resp {
        match self.try_send().await {
            Ok(r) => r,
            Err(e) => panic!("{e:#}"),
        }
    }
}
