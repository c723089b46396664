//! The answer of a GS2 REST call ([`Resp`]) and the assertions tests make on it: 200
//! with a body, an item, a list, a page, a status, a GS2 error body with a code; plus the
//! non-panicking forms harnesses use ([`Resp::into_result`], [`Resp::try_items`]).
//! Does not own: sending (see [`crate::client`]).

use crate::gs2::Gs2Error;
use anyhow::{bail, Result};
use reqwest::header::HeaderMap;
use serde_json::Value;

/// A response: status, parsed JSON (`Null` if empty or not JSON), raw text, headers,
/// and a description of the request for assertion messages.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub headers: HeaderMap,
    pub desc: String,
    /// Why reading the body failed after the status line arrived (`text` then says so
    /// too and `body` is `Null`).
    pub body_error: Option<String>,
}

impl Resp {
    /// `status text`, the text cut at 300 bytes, for messages.
    pub fn brief(&self) -> String {
        format!("{} {}", self.status, truncate(&self.text, 300))
    }

    /// The body if the status is 200, else an error naming the request and the answer
    /// (the non-panicking [`Resp::ok`]).
    pub fn into_result(self) -> Result<Value> {
        if self.status != 200 {
            bail!("{} -> {}", self.desc, self.brief());
        }
        Ok(self.body)
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "{what}\n  request:  {}\n  response: {} {}",
            self.desc,
            self.status,
            truncate(&self.text, 2000)
        )
    }

    /// Asserts 200 and a JSON body; returns the body.
    pub fn ok(self) -> Value {
        if self.status != 200 {
            self.fail("expected 200");
        }
        if self.body.is_null() && self.text.trim() != "null" {
            self.fail("expected a JSON body");
        }
        self.body
    }

    /// Asserts 200 and returns `body.item`.
    pub fn item(self) -> Value {
        if self.status != 200 {
            self.fail("expected 200");
        }
        match self.body.get("item") {
            Some(v) if !v.is_null() => v.clone(),
            _ => self.fail("expected 200 with a non-null \"item\""),
        }
    }

    /// Asserts 200 and returns `body.items` (an absent or `null` list is empty).
    pub fn items(self) -> Vec<Value> {
        if self.status != 200 {
            self.fail("expected 200");
        }
        match self.body.get("items") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.clone(),
            Some(_) => self.fail("\"items\" is not a list"),
        }
    }

    /// `body.items` if the status is 200, else the request and the answer (the
    /// non-panicking [`Resp::items`]).
    pub fn try_items(self) -> Result<Vec<Value>, String> {
        if self.status != 200 {
            return Err(format!("{} -> {} {}", self.desc, self.status, self.text));
        }
        Ok(self.items())
    }

    /// Asserts 200 and returns `(items, nextPageToken)`.
    pub fn page(self) -> (Vec<Value>, Option<String>) {
        let token = self
            .body
            .get("nextPageToken")
            .and_then(Value::as_str)
            .map(str::to_owned);
        (self.items(), token)
    }

    /// Asserts the status.
    pub fn expect_status(self, status: u16) -> Self {
        if self.status != status {
            self.fail(&format!("expected status {status}"));
        }
        self
    }

    /// The first error of a GS2 error body; panics if the body is not GS2-shaped.
    pub fn gs2_error(&self) -> Gs2Error {
        match Gs2Error::parse(&self.body) {
            Ok(e) => e,
            Err(why) => self.fail(&format!("expected a GS2 error body: {why}")),
        }
    }

    /// Asserts `status`, a GS2 error body and (if given) the first error's `code`.
    pub fn expect_error(self, status: u16, code: Option<&str>) -> Gs2Error {
        if self.status != status {
            self.fail(&format!(
                "expected status {status}{}",
                code.map(|c| format!(" with code {c}")).unwrap_or_default()
            ));
        }
        let e = self.gs2_error();
        if let Some(c) = code {
            if e.code.as_deref() != Some(c) {
                self.fail(&format!(
                    "expected first error code {c:?}, got {:?}",
                    e.code
                ));
            }
        }
        e
    }

    /// Asserts a 4xx status with a GS2 error body.
    pub fn expect_client_error(self) -> Gs2Error {
        if !(400..500).contains(&self.status) {
            self.fail("expected a 4xx status");
        }
        self.gs2_error()
    }
}

/// `s` cut at `max` bytes (on a char boundary), with its full length noted.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        s.to_owned()
    } else {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…({} bytes)", &s[..end], s.len())
    }
}
