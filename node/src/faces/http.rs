//! HTTP plumbing every face shares: reading a request body within the limits (with the
//! drain-before-answer rule), inflating gzip bodies, the request-line limit, giving error
//! answers produced below a face's handlers (axum rejections, method routers, the URI limit) the
//! face's error body, and response compression.
//!
//! Not here: what a body means, tokens, error codes (each face's own), routes.

use std::io::Read;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use flate2::read::GzDecoder;
use futures::StreamExt;
use tower_http::compression::predicate::{DefaultPredicate, Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;
use tracing::Instrument;

/// Largest request body accepted, compressed or not (GS2 master data may be 5 MB).
pub const MAX_BODY: usize = 6 * 1024 * 1024;
/// An oversized upload is read (and dropped) up to this size before it is refused.
const DRAIN_MAX: usize = 64 * 1024 * 1024;
/// ... and for at most this long.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(10);
/// Longest path and query accepted; a longer request answers 414 with the face's error body.
/// (hyper itself refuses request lines above 64 KiB with a bare 414, before any face sees them.)
pub const MAX_URI: usize = 16 * 1024;
/// Responses smaller than this are sent uncompressed even to `Accept-Encoding: gzip`.
const RESPONSE_GZIP_MIN_BYTES: u16 = 1024;

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("request body too large")]
    TooLarge,
    #[error("gzip: {0}")]
    Gzip(#[from] std::io::Error),
}

/// The request body, at most [`MAX_BODY`] bytes. A larger one is read to its end (discarded,
/// within [`DRAIN_MAX`] and [`DRAIN_TIME`]) before the error: a server that answers and closes
/// while the client is still sending resets the connection, and the client sees no status at
/// all.
pub async fn read_body(body: Body) -> Result<Bytes, BodyError> {
    let mut stream = body.into_data_stream();
    let mut buf = bytes::BytesMut::new();
    let mut total = 0usize;
    let mut drain_until = None;
    loop {
        let next = match drain_until {
            None => stream.next().await,
            Some(deadline) => match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(next) => next,
                Err(_) => return Err(BodyError::TooLarge),
            },
        };
        let chunk = match next {
            None => break,
            Some(Ok(chunk)) => chunk,
            Some(Err(_)) => return Err(BodyError::TooLarge),
        };
        total = total.saturating_add(chunk.len());
        if total <= MAX_BODY {
            buf.extend_from_slice(&chunk);
        } else if total > DRAIN_MAX {
            return Err(BodyError::TooLarge);
        } else if drain_until.is_none() {
            buf = bytes::BytesMut::new();
            drain_until = Some(tokio::time::Instant::now() + DRAIN_TIME);
        }
    }
    if total > MAX_BODY {
        return Err(BodyError::TooLarge);
    }
    Ok(buf.freeze())
}

/// [`read_body`], inflated when `Content-Encoding: gzip` says so *and* the bytes are gzip: some
/// clients inflate transparently yet keep the header, so a labelled plain body is taken as is.
/// (tower-http's `RequestDecompressionLayer` fails such a body, and its `RequestBodyLimitLayer`
/// answers 413 at once instead of draining, hence this function.)
pub async fn read_decoded(headers: &HeaderMap, body: Body) -> Result<Bytes, BodyError> {
    let bytes = read_body(body).await?;
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    decode_body(gzip, bytes)
}

/// A body read whole, inflated when labelled gzip (`gzip`) and really gzip data.
pub fn decode_body(gzip: bool, bytes: Bytes) -> Result<Bytes, BodyError> {
    if gzip && bytes.starts_with(&[0x1f, 0x8b]) {
        gunzip(&bytes)
    } else {
        Ok(bytes)
    }
}

/// Inflates a gzip body, refusing one that inflates beyond [`MAX_BODY`] (a gzip bomb).
pub fn gunzip(bytes: &[u8]) -> Result<Bytes, BodyError> {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut out)?;
    if out.len() > MAX_BODY {
        return Err(BodyError::TooLarge);
    }
    Ok(Bytes::from(out))
}

/// Refuses a path and query longer than [`MAX_URI`] with a bare 414 (filled in by
/// [`face_errors`]).
async fn limit_uri(req: Request, next: Next) -> Response {
    let len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if len > MAX_URI {
        return StatusCode::URI_TOO_LONG.into_response();
    }
    next.run(req).await
}

/// Whether `res` is an error answer that is not already a face's (JSON) error body.
fn is_bare_error(res: &Response) -> bool {
    let status = res.status();
    (status.is_client_error() || status.is_server_error())
        && !res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"))
}

/// The layers of a face's router: the URI limit, the face's error body on every error answer
/// (`error_for(status)` renders it), and response compression above 1 KiB.
/// One span per request, at DEBUG (free at the default level): the method and path, and what
/// the engine records on the way: the write's idempotency key (`dedup`, by `Cluster::write`)
/// and its log index (`log_index`, by `Cluster::propose_local` on the leader). The events of
/// that index are `<group>-<log_index>-<seq>` on the bus and in every node's fan-out.
async fn request_span(req: Request, next: Next) -> Response {
    let span = tracing::debug_span!(
        "request",
        method = %req.method(),
        path = req.uri().path(),
        dedup = tracing::field::Empty,
        log_index = tracing::field::Empty,
    );
    async move {
        let res = next.run(req).await;
        tracing::debug!(status = res.status().as_u16(), "answered");
        res
    }
    .instrument(span)
    .await
}

pub fn with_plumbing(router: Router, error_for: fn(StatusCode) -> Response) -> Router {
    router
        .layer(middleware::from_fn(limit_uri))
        .layer(middleware::from_fn(request_span))
        .layer(middleware::map_response(move |res: Response| async move {
            if is_bare_error(&res) {
                error_for(res.status())
            } else {
                res
            }
        }))
        // Small responses (a posted message is ~400 bytes) gain little from gzip and cost a
        // compressor set-up each: only bodies above 1 KiB are compressed.
        .layer(
            CompressionLayer::new().compress_when(
                DefaultPredicate::new().and(SizeAbove::new(RESPONSE_GZIP_MIN_BYTES)),
            ),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn plain_bodies_labelled_gzip_are_taken_as_is() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
        let b = read_decoded(&h, Body::from("{}")).await.unwrap();
        assert_eq!(&b[..], b"{}");
    }

    #[tokio::test]
    async fn oversized_bodies_are_drained_then_refused() {
        let big = vec![b'a'; MAX_BODY + 1];
        assert!(matches!(
            read_body(Body::from(big)).await,
            Err(BodyError::TooLarge)
        ));
    }
}
