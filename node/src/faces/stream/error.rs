//! The Stream face's one error mapping: every failure becomes a [`StreamError`] (Stream's
//! numeric code, the HTTP status and the six-key body of `stream-protocol.md` §3).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use proto::gs2::ChatError;
use proto::stream::error::{StreamCode, StreamError};

use crate::raft::cluster::ClusterError;
use crate::storage::{StoreError, ViewError};

/// An error answer of the Stream face.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(pub StreamError);

impl From<StreamError> for ApiError {
    fn from(e: StreamError) -> Self {
        ApiError(e)
    }
}

/// Business rejections of apply (the engine's typed errors) in Stream's terms.
impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        ApiError(match &e {
            ChatError::NotFound { component, .. } => {
                StreamError::not_found(format!("{component} does not exist"))
            }
            ChatError::AlreadyExists { component, .. } => {
                StreamError::input(format!("{component} already exists"))
            }
            ChatError::Unauthorized { message } => StreamError::not_allowed(message.clone()),
            ChatError::Invalid { component, message } if component == "cooldown" => {
                StreamError::new(StreamCode::CoolDown, message.clone())
            }
            ChatError::Invalid { message, .. } => StreamError::input(message.clone()),
            other => StreamError::input(other.to_string()),
        })
    }
}

impl From<ClusterError> for ApiError {
    fn from(e: ClusterError) -> Self {
        ApiError(match e {
            ClusterError::NoLeader { reason, .. } => unavailable(reason),
            ClusterError::Timeout(m) => unavailable(m),
            ClusterError::BadRequest(m) => StreamError::input(m),
            e @ (ClusterError::NotMember(_) | ClusterError::RaftStopped(_)) => {
                StreamError::internal(e.to_string())
            }
        })
    }
}

impl From<ViewError> for ApiError {
    fn from(e: ViewError) -> Self {
        match e {
            ViewError::Chat(c) => c.into(),
            ViewError::Store(s) => s.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError(StreamError::internal(e.to_string()))
    }
}

/// The cluster cannot take the call now (no leader, a timeout): 503, retryable.
fn unavailable(reason: String) -> StreamError {
    StreamError {
        status: 503,
        ..StreamError::new(
            StreamCode::InternalSystemError,
            format!("cluster unavailable: {reason}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        if e.status >= 500 && e.status != 501 {
            tracing::warn!(code = e.code.code(), status = e.status, error = %e.message, "stream call failed");
        }
        let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(e.body("0.00ms"))).into_response()
    }
}

impl ApiError {
    /// The body of an answer produced below the handlers (unknown path or method, a body or
    /// request line over the limits), in the Stream shape.
    pub fn for_status(status: StatusCode) -> Response {
        let message = match status {
            StatusCode::NOT_FOUND => "no such endpoint".to_string(),
            StatusCode::METHOD_NOT_ALLOWED => "HTTP method not allowed on this endpoint".into(),
            StatusCode::PAYLOAD_TOO_LARGE => "request body too large".into(),
            StatusCode::URI_TOO_LONG => "request line too long".into(),
            s => format!("request refused ({s})"),
        };
        let code = match status {
            StatusCode::NOT_FOUND => StreamCode::DoesNotExist,
            StatusCode::PAYLOAD_TOO_LARGE => StreamCode::PayloadTooBig,
            StatusCode::UNAUTHORIZED => StreamCode::AuthenticationFailed,
            s if s.is_server_error() => StreamCode::InternalSystemError,
            _ => StreamCode::InputError,
        };
        let e = StreamError {
            status: status.as_u16(),
            ..StreamError::new(code, message)
        };
        ApiError(e).into_response()
    }
}
