//! The API error and its one mapping to an HTTP status and a GS2 error body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use proto::gs2::error::{error_body, ErrorDetail};
use proto::gs2::ChatError;

use crate::raft::cluster::ClusterError;
use crate::storage::{StoreError, ViewError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Chat(#[from] ChatError),
    #[error("malformed request body: {0}")]
    BadBody(String),
    #[error("request body too large")]
    TooLarge,
    #[error("no such method: {0}")]
    NoRoute(String),
    #[error("HTTP method not allowed: {0}")]
    MethodNotAllowed(String),
    #[error("request line too long")]
    UriTooLong,
    /// An error answer produced below the handlers (an axum rejection, a method router).
    #[error("request refused with status {0}")]
    Rejected(StatusCode),
    #[error("cluster unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ViewError> for ApiError {
    fn from(e: ViewError) -> Self {
        match e {
            ViewError::Chat(c) => ApiError::Chat(c),
            ViewError::Store(s) => s.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<ClusterError> for ApiError {
    fn from(e: ClusterError) -> Self {
        match e {
            ClusterError::NoLeader { reason, .. } => ApiError::Unavailable(reason),
            ClusterError::Timeout(m) => ApiError::Unavailable(m),
            e @ ClusterError::NotMember(_) => ApiError::Chat(ChatError::invalid(
                "cluster",
                format!("chat.cluster.error.{e}"),
            )),
            ClusterError::BadRequest(m) => ApiError::Chat(ChatError::invalid(
                "cluster",
                format!("chat.cluster.error.{m}"),
            )),
            ClusterError::RaftStopped(m) => ApiError::Internal(m),
        }
    }
}

fn detail(component: &str, message: &str, code: &str) -> ErrorDetail {
    ErrorDetail {
        component: component.into(),
        message: message.into(),
        code: code.into(),
    }
}

impl ApiError {
    /// Status and GS2 error body: the only place errors become HTTP.
    pub fn status_and_body(&self) -> (StatusCode, serde_json::Value) {
        let (status, d) = match self {
            ApiError::Chat(c) => (
                StatusCode::from_u16(c.status()).unwrap_or(StatusCode::BAD_REQUEST),
                c.detail(),
            ),
            ApiError::BadBody(_) => (
                StatusCode::BAD_REQUEST,
                detail("body", "chat.request.body.error.invalid", "invalid"),
            ),
            ApiError::TooLarge => (
                StatusCode::BAD_REQUEST,
                detail("body", "chat.request.body.error.tooLarge", "tooLarge"),
            ),
            ApiError::NoRoute(_) => (
                StatusCode::NOT_FOUND,
                detail("method", "chat.method.error.notFound", "notFound"),
            ),
            ApiError::MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                detail("method", "chat.method.error.notAllowed", "notAllowed"),
            ),
            ApiError::UriTooLong => (
                StatusCode::URI_TOO_LONG,
                detail("request", "chat.request.uri.error.tooLong", "tooLong"),
            ),
            ApiError::Rejected(status) => (
                *status,
                detail("request", "chat.request.error.invalid", "invalid"),
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                detail("cluster", "chat.cluster.error.unavailable", "unavailable"),
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                detail("server", "chat.server.error.internal", "internal"),
            ),
        };
        (status, error_body(&[d]))
    }
}

impl ApiError {
    /// The GS2 answer for an error status produced below the handlers (see
    /// `faces::http::with_plumbing`).
    pub fn for_status(status: StatusCode) -> Response {
        let e = match status {
            StatusCode::NOT_FOUND => ApiError::NoRoute(String::new()),
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed(String::new()),
            StatusCode::URI_TOO_LONG => ApiError::UriTooLong,
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge,
            s => ApiError::Rejected(s),
        };
        let (status, body) = e.status_and_body();
        (status, axum::Json(body)).into_response()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if matches!(self, ApiError::Internal(_)) {
            tracing::error!(error = %self, "internal error");
        }
        let (status, body) = self.status_and_body();
        (status, axum::Json(body)).into_response()
    }
}
