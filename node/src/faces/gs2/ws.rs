//! The GS2-Gateway WebSocket protocol at `/`: request frames (an `x_gs2` header naming
//! `service`, `component`, `function` and a `requestId`, beside the flattened fields) are
//! dispatched through the same table and handlers as REST; the reply is
//! `{requestId, status, body}` with the REST body or the GS2 error body. Tokens come from
//! `xGs2ProjectToken` and `xGs2AccessToken` / `accessToken`, the duplication avoider from
//! `xGs2DuplicationAvoider`. The socket itself (queues, writer, close frames, idle timeout)
//! is the gateway's protocol-neutral pump, `gateway::ws::pump`.

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::http::authenticate;
use super::request::Req;
use super::routes::{self, WS_UNKNOWN};
use super::App;
use crate::gateway::ws::{pump, MAX_FRAME};
use crate::metrics;
use crate::raft::cluster::Consistency;

pub async fn upgrade(State(app): State<App>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(MAX_FRAME)
        .on_upgrade(move |socket| async move {
            let gateway = app.gateway.clone();
            pump(&gateway, socket, move |conn, text| {
                let app = app.clone();
                async move { dispatch(&app, &conn, &text).await }
            })
            .await
        })
}

/// Handles one request frame; `None` when the frame cannot be answered (no `requestId`).
pub async fn dispatch(app: &App, conn: &str, text: &str) -> Option<String> {
    let Some(RequestFrame {
        request_id,
        service,
        component,
        function,
        params: frame,
    }) = decode_request_frame(text)
    else {
        tracing::debug!(
            conn,
            "ignored a frame that is not a JSON object with an x_gs2 header"
        );
        return None;
    };
    let (service, component, function) = (&*service, &*component, &*function);
    let started = std::time::Instant::now();
    let route = routes::find_by_name(service, component, function);
    // The metrics label is the route's name or `ws:unknown`, never the client's strings.
    let label = route.map_or(WS_UNKNOWN, |r| r.ws_name());
    let result = match route {
        None => Err(ApiError::NoRoute(format!(
            "{service}.{component}.{function}"
        ))),
        Some(route) => match build_req(app, route.access, conn, frame) {
            Ok(req) => (route.handler)(app.clone(), req).await,
            Err(e) => Err(e),
        },
    };
    let (status, body) = match result {
        Ok(v) => (200u16, v),
        Err(e) => {
            let (s, b) = e.status_and_body();
            (s.as_u16(), b)
        }
    };
    metrics::HTTP_REQUESTS
        .with_label_values(&[label, &status.to_string()])
        .inc();
    metrics::HTTP_LATENCY
        .with_label_values(&[label])
        .observe(started.elapsed().as_secs_f64());
    Some(json!({ "requestId": request_id, "status": status, "body": body }).to_string())
}

fn build_req(
    app: &App,
    access: routes::Access,
    conn: &str,
    params: Map<String, Value>,
) -> Result<Req, ApiError> {
    let text = |k: &str| params.get(k).and_then(Value::as_str).map(str::to_string);
    let bearer = text("xGs2ProjectToken").map(|t| format!("Bearer {t}"));
    let access_token = text("xGs2AccessToken").or_else(|| text("accessToken"));
    let caller = authenticate(app, access, bearer.as_deref(), access_token.as_deref())?;
    Ok(Req {
        duplication_avoider: text("xGs2DuplicationAvoider").filter(|s| !s.is_empty()),
        params,
        caller,
        consistency: Consistency::ReadYourWrites,
        raw: None,
        connection: Some(conn.to_string()),
    })
}

/// A request frame: the `x_gs2` header's fields and the other fields as the call's params.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestFrame {
    pub request_id: Value,
    pub service: String,
    pub component: String,
    pub function: String,
    pub params: Map<String, Value>,
}

/// Decodes a text frame; `None` when it is not a JSON object with an `x_gs2` header carrying
/// a `requestId` (such a frame cannot be answered).
pub fn decode_request_frame(text: &str) -> Option<RequestFrame> {
    let Ok(Value::Object(mut params)) = serde_json::from_str::<Value>(text) else {
        return None;
    };
    let header = params.remove("x_gs2")?;
    let request_id = header.get("requestId")?.clone();
    let field = |k: &str| {
        header
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    Some(RequestFrame {
        request_id,
        service: field("service"),
        component: field("component"),
        function: field("function"),
        params,
    })
}
