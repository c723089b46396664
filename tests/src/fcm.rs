//! A recording stand-in for the FCM HTTP v1 API.
//!
//! Owns: an axum server on `127.0.0.1:0` that records every request (method, path,
//! `Authorization` header, JSON body) and answers
//! `POST /v1/projects/{project}/messages:send` with
//! `200 {"name":"projects/<project>/messages/<n>"}` (anything else gets 404, and is
//! recorded too, so a wrong path shows up in the assertions).
//! Does not own: assertions; tests read [`FcmRecorder::requests`].

use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// One request received by the recorder.
#[derive(Debug, Clone)]
pub struct FcmRequest {
    pub method: String,
    /// Path and query as received, e.g. `/v1/projects/proj/messages:send`.
    pub path: String,
    pub authorization: Option<String>,
    /// The body parsed as JSON (`Null` if it was not JSON; see `raw_body`).
    pub body: Value,
    pub raw_body: String,
    pub received_at: Instant,
}

impl FcmRequest {
    /// `body.message.token`
    pub fn token(&self) -> Option<&str> {
        self.body.pointer("/message/token").and_then(Value::as_str)
    }
    /// `body.message.data`
    pub fn data(&self) -> &Value {
        self.body.pointer("/message/data").unwrap_or(&Value::Null)
    }
    /// `body.message.notification`
    pub fn notification(&self) -> &Value {
        self.body
            .pointer("/message/notification")
            .unwrap_or(&Value::Null)
    }
}

type Log = Arc<Mutex<Vec<FcmRequest>>>;

/// The recording server. Stops on drop.
pub struct FcmRecorder {
    addr: SocketAddr,
    log: Log,
    task: JoinHandle<()>,
}

impl FcmRecorder {
    pub async fn start() -> Result<FcmRecorder> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("bind FCM recorder")?;
        let addr = listener.local_addr().context("FCM recorder addr")?;
        let log: Log = Arc::new(Mutex::new(Vec::new()));
        let state = log.clone();
        let app = Router::new().fallback(move |method, uri, headers, body| {
            record(state.clone(), method, uri, headers, body)
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FcmRecorder { addr, log, task })
    }

    /// `http://127.0.0.1:PORT` (pass as `--fcm-endpoint`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<FcmRequest> {
        self.log.lock().expect("fcm log").clone()
    }

    pub fn count(&self) -> usize {
        self.log.lock().expect("fcm log").len()
    }

    /// Waits until at least `n` requests arrived (or `timeout`); returns them all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<FcmRequest> {
        let deadline = Instant::now() + timeout;
        loop {
            let reqs = self.requests();
            if reqs.len() >= n || Instant::now() >= deadline {
                return reqs;
            }
            tokio::time::sleep(crate::POLL).await;
        }
    }
}

impl Drop for FcmRecorder {
    fn drop(&mut self) {
        self.task.abort();
        if std::thread::panicking() {
            let reqs = self.requests();
            eprintln!("===== FCM recorder: {} request(s) =====", reqs.len());
            for r in reqs {
                eprintln!(
                    "  {} {} auth={:?} body={}",
                    r.method, r.path, r.authorization, r.raw_body
                );
            }
        }
    }
}

async fn record(log: Log, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let raw_body = String::from_utf8_lossy(&body).into_owned();
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| uri.path().to_owned());
    let req = FcmRequest {
        method: method.to_string(),
        path: path.clone(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: serde_json::from_str(&raw_body).unwrap_or(Value::Null),
        raw_body,
        received_at: Instant::now(),
    };
    let n = {
        let mut l = log.lock().expect("fcm log");
        l.push(req);
        l.len()
    };
    let project = uri
        .path()
        .strip_prefix("/v1/projects/")
        .and_then(|rest| rest.strip_suffix("/messages:send"));
    match (method, project) {
        (Method::POST, Some(project)) if !project.is_empty() && !project.contains('/') => (
            StatusCode::OK,
            axum::Json(json!({"name": format!("projects/{project}/messages/{n}")})),
        )
            .into_response(),
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": {"code": 404, "message": "not an FCM v1 send path"}})),
        )
            .into_response(),
    }
}
