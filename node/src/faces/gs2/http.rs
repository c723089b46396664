//! REST transport: turns an HTTP request into a [`Req`] for the dispatch table (path
//! segments, query, gzip or plain JSON body, tokens), and the result into a GS2 response.
//! Body limits and gzip are the shared plumbing of `faces::http`.

use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use proto::gs2::ChatError;
use serde_json::{Map, Value};

use super::auth::Claims;
use super::error::ApiError;
use super::request::{Caller, Req};
use super::routes::{self, Access, Route};
use super::App;
use crate::clock::now_ms;
use crate::faces::http::{read_decoded, BodyError};
use crate::metrics;
use crate::raft::cluster::Consistency;

pub const CONSISTENCY_HEADER: &str = "x-chat-read-consistency";

pub async fn gs2(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let segments = path_segments(uri.path());
    let found = segments
        .split_first()
        .and_then(|(service, rest)| routes::find(&method, service, rest));
    let Some((route, path_params)) = found else {
        let error = if routes::method_known(&method) {
            ApiError::NoRoute(uri.path().to_string())
        } else {
            ApiError::MethodNotAllowed(method.to_string())
        };
        let response = error.into_response();
        metrics::HTTP_REQUESTS
            .with_label_values(&["unknown", response.status().as_str()])
            .inc();
        return response;
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
    let bytes = read_decoded(headers, body).await?;
    let (mut params, raw) = decode_params(route.raw_body, bytes, uri.query())?;
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

/// The percent-decoded, non-empty segments of a request path.
pub fn path_segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

/// A (decompressed) body, a JSON object or raw for upload routes, and the query string into
/// the request's fields; the query wins over the body.
pub fn decode_params(
    raw_body: bool,
    bytes: Bytes,
    query: Option<&str>,
) -> Result<(Map<String, Value>, Option<Bytes>), ApiError> {
    let mut params = Map::new();
    let mut raw = None;
    if raw_body {
        raw = Some(bytes);
    } else if !bytes.iter().all(u8::is_ascii_whitespace) {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => params = map,
            Ok(Value::Null) => {}
            Ok(_) => return Err(ApiError::BadBody("body is not a JSON object".into())),
            Err(e) => return Err(ApiError::BadBody(e.to_string())),
        }
    }
    if let Some(q) = query {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(q).map_err(|e| ApiError::BadBody(e.to_string()))?;
        for (k, v) in pairs {
            params.insert(k, Value::String(v));
        }
    }
    Ok((params, raw))
}

impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge => ApiError::TooLarge,
            BodyError::Gzip(e) => ApiError::BadBody(format!("gzip: {e}")),
        }
    }
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
