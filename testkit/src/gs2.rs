//! GS2 wire helpers: the error body (protocol §3) and gzip.
//!
//! A GS2 error body is `{"message":"[{\"component\":…,\"message\":…,\"code\":…}]"}`:
//! `message` is a *string* holding a JSON list. The official SDKs read the code of
//! the first element only, so [`Gs2Error::parse`] returns that one.

use serde_json::Value;
use std::io::{Read, Write};

/// First error of a GS2 error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gs2Error {
    pub component: Option<String>,
    pub message: Option<String>,
    pub code: Option<String>,
}

impl Gs2Error {
    /// Parses a GS2 error body. `Err` says why the body is not GS2-shaped; a body the
    /// official Python SDK would crash on (no `message`, `message` not a string) is an
    /// error here too.
    pub fn parse(body: &Value) -> Result<Gs2Error, String> {
        let outer = body
            .as_object()
            .ok_or_else(|| format!("error body is not a JSON object: {body}"))?;
        let msg = outer
            .get("message")
            .ok_or_else(|| format!("error body has no \"message\" key: {body}"))?;
        let list = json_in_string(Some(msg), "error body \"message\"", body)?;
        let text = msg.as_str().unwrap_or_default();
        let first = list
            .as_array()
            .ok_or_else(|| format!("error body \"message\" is not a JSON list: {text:?}"))?
            .first()
            .ok_or_else(|| format!("error body \"message\" is an empty list: {text:?}"))?;
        let field = |k: &str| first.get(k).and_then(Value::as_str).map(str::to_owned);
        Ok(Gs2Error {
            component: field("component"),
            message: field("message"),
            code: field("code"),
        })
    }
}

/// The JSON document held as text in the string `field` (named `what` in errors, which
/// show `context`), as GS2 carries error lists and notification payloads.
pub fn json_in_string(
    field: Option<&Value>,
    what: &str,
    context: &dyn std::fmt::Display,
) -> Result<Value, String> {
    let text = field
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{what} is not a string: {context}"))?;
    serde_json::from_str(text)
        .map_err(|e| format!("{what} is not JSON ({e}): {text:?} in {context}"))
}

/// Gzip-compresses `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("gzip write to Vec");
    enc.finish().expect("gzip finish to Vec")
}

/// Inflates gzip `data`.
pub fn gunzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data).read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_first_error() {
        let body = json!({"message": "[{\"component\":\"password\",\"message\":\"chat.room.password.error.require\",\"code\":\"room.password.require\"},{\"component\":\"x\",\"message\":\"y\",\"code\":\"z\"}]"});
        let e = Gs2Error::parse(&body).unwrap();
        assert_eq!(e.code.as_deref(), Some("room.password.require"));
        assert_eq!(e.component.as_deref(), Some("password"));
    }

    #[test]
    fn rejects_non_gs2_bodies() {
        assert!(Gs2Error::parse(&json!({"error": "x"})).is_err());
        assert!(Gs2Error::parse(&json!({"message": [{"code": "x"}]})).is_err());
        assert!(Gs2Error::parse(&json!("text")).is_err());
    }

    #[test]
    fn gzip_round_trip() {
        let data = b"{\"contextStack\":null}";
        assert_eq!(gunzip(&gzip(data)).unwrap(), data);
    }
}
