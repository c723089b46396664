//! REST transport: turns an HTTP request into a [`Req`] for the dispatch table (path
//! segments, query, gzip or plain JSON body, tokens), and the result into a GS2 response.

use std::io::Read;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use flate2::read::GzDecoder;
use proto::ChatError;
use serde_json::{Map, Value};

use super::auth::Claims;
use super::error::ApiError;
use super::request::{Caller, Req};
use super::routes::{self, Access, Route};
use super::App;
use crate::clock::now_ms;
use crate::metrics;
use crate::raft::cluster::Consistency;

/// Largest request body accepted, compressed or not (master data may be 5 MB).
pub const MAX_BODY: usize = 6 * 1024 * 1024;
/// An oversized upload is read (and dropped) up to this size before it is refused.
const DRAIN_MAX: usize = 64 * 1024 * 1024;
/// ... and for at most this long.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(10);

/// The request body, at most [`MAX_BODY`] bytes. A larger one is read to its end (discarded,
/// within [`DRAIN_MAX`] and [`DRAIN_TIME`]) before the `tooLarge` error: a server that answers and
/// closes while the client is still sending resets the connection, and the client sees no
/// status at all.
async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut buf = bytes::BytesMut::new();
    let mut total = 0usize;
    let mut drain_until = None;
    loop {
        let next = match drain_until {
            None => stream.next().await,
            Some(deadline) => match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(next) => next,
                Err(_) => return Err(ApiError::TooLarge),
            },
        };
        let chunk = match next {
            None => break,
            Some(Ok(chunk)) => chunk,
            Some(Err(_)) => return Err(ApiError::TooLarge),
        };
        total = total.saturating_add(chunk.len());
        if total <= MAX_BODY {
            buf.extend_from_slice(&chunk);
        } else if total > DRAIN_MAX {
            return Err(ApiError::TooLarge);
        } else if drain_until.is_none() {
            buf = bytes::BytesMut::new();
            drain_until = Some(tokio::time::Instant::now() + DRAIN_TIME);
        }
    }
    if total > MAX_BODY {
        return Err(ApiError::TooLarge);
    }
    Ok(buf.freeze())
}

pub const CONSISTENCY_HEADER: &str = "x-chat-read-consistency";

pub async fn gs2(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let segments: Vec<String> = uri
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let found = segments
        .split_first()
        .and_then(|(service, rest)| routes::find(&method, service, rest));
    let Some((route, path_params)) = found else {
        metrics::HTTP_REQUESTS
            .with_label_values(&["unknown", "404"])
            .inc();
        return ApiError::NoRoute(uri.path().to_string()).into_response();
    };
    let name = route.name();
    let result = match build_req(&app, route, path_params, &uri, &headers, body).await {
        Ok(req) => (route.handler)(app, req).await,
        Err(e) => Err(e),
    };
    let response = match result {
        Ok(value) => (StatusCode::OK, axum::Json(value)).into_response(),
        Err(e) => e.into_response(),
    };
    metrics::HTTP_REQUESTS
        .with_label_values(&[name, response.status().as_str()])
        .inc();
    metrics::HTTP_LATENCY
        .with_label_values(&[name])
        .observe(started.elapsed().as_secs_f64());
    response
}

async fn build_req(
    app: &App,
    route: &Route,
    path_params: Map<String, Value>,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<Req, ApiError> {
    let bytes = read_body(body).await?;
    let gzip = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    // Some clients inflate transparently yet keep the header: inflate only real gzip data.
    let bytes = if gzip && bytes.starts_with(&[0x1f, 0x8b]) {
        gunzip(&bytes)?
    } else {
        bytes
    };
    let mut params = Map::new();
    let mut raw = None;
    if route.raw_body {
        raw = Some(bytes);
    } else if !bytes.iter().all(u8::is_ascii_whitespace) {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => params = map,
            Ok(Value::Null) => {}
            Ok(_) => return Err(ApiError::BadBody("body is not a JSON object".into())),
            Err(e) => return Err(ApiError::BadBody(e.to_string())),
        }
    }
    if let Some(q) = uri.query() {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(q).map_err(|e| ApiError::BadBody(e.to_string()))?;
        for (k, v) in pairs {
            params.insert(k, Value::String(v));
        }
    }
    params.extend(path_params);
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let caller = authenticate(
        app,
        route.access,
        header("authorization").as_deref(),
        header("x-gs2-access-token").as_deref(),
    )?;
    let consistency = match header(CONSISTENCY_HEADER).as_deref() {
        Some(v) if v.eq_ignore_ascii_case("stale") => Consistency::Stale,
        _ => Consistency::ReadYourWrites,
    };
    Ok(Req {
        params,
        caller,
        duplication_avoider: header("x-gs2-duplication-avoider").filter(|s| !s.is_empty()),
        consistency,
        raw,
        connection: None,
    })
}

pub fn gunzip(bytes: &[u8]) -> Result<Bytes, ApiError> {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| ApiError::BadBody(format!("gzip: {e}")))?;
    if out.len() > MAX_BODY {
        return Err(ApiError::TooLarge);
    }
    Ok(Bytes::from(out))
}

/// Checks the token a method requires. `authorization` is `Bearer <project token>`.
pub fn authenticate(
    app: &App,
    access: Access,
    authorization: Option<&str>,
    access_token: Option<&str>,
) -> Result<Caller, ApiError> {
    let now = now_ms();
    match access {
        Access::Public => Ok(Caller::Anonymous),
        Access::Project => {
            let token = authorization
                .and_then(|h| h.strip_prefix("Bearer "))
                .filter(|t| !t.is_empty() && *t != "None")
                .ok_or_else(|| ChatError::unauthorized("chat.projectToken.error.require"))?;
            match app.tokens.verify(token, now)? {
                Claims::Project { .. } => Ok(Caller::Project),
                Claims::Access { .. } => {
                    Err(ChatError::unauthorized("chat.projectToken.error.invalid").into())
                }
            }
        }
        Access::Player => {
            // Player calls carry both tokens, as the SDK sends them: the project token proves
            // the game client, the access token names the player.
            authenticate(app, Access::Project, authorization, None)?;
            let token = access_token
                .filter(|t| !t.is_empty())
                .ok_or_else(|| ChatError::unauthorized("chat.accessToken.error.require"))?;
            match app.tokens.verify(token, now)? {
                Claims::Access { uid, .. } => Ok(Caller::Player(uid)),
                Claims::Project { .. } => {
                    Err(ChatError::unauthorized("chat.accessToken.error.invalid").into())
                }
            }
        }
    }
}
