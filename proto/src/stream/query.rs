//! Decoding of query-string values as the SDKs encode them (`stream-protocol.md` §1.2, §7 quirks
//! 13, 14 and 16).
//!
//! Every function takes a value the HTTP layer has already percent-decoded once. Python sends
//! lists as comma lists whose items were percent-encoded before the whole value was (so each item
//! is decoded once more here), `sort` on GET endpoints as comma-joined encoded JSON objects, and
//! `payload=` JSON with explicit `null`s; JS sends arrays and objects as JSON and a `null` value
//! as the text `null`. Here `null` always means absent.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::error::StreamError;

/// One sort key: a field and its direction (1 ascending, -1 descending).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SortField {
    pub field: String,
    pub direction: i32,
}

impl SortField {
    /// A sort key; `direction` is 1 or -1.
    pub fn new(field: impl Into<String>, direction: i32) -> Self {
        SortField {
            field: field.into(),
            direction,
        }
    }
}

impl<'de> Deserialize<'de> for SortField {
    /// `{"field": f, "direction": d}` (direction defaults to 1) or the object form `{f: d}`.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let mut fields = entry(&v).map_err(serde::de::Error::custom)?;
        match fields.len() {
            1 => Ok(fields.remove(0)),
            _ => Err(serde::de::Error::custom(
                "sort: one field per entry (use an array of {field, direction})",
            )),
        }
    }
}

/// A body's `sort` value: an array of entries, a single entry, or null (no sort).
pub fn sort_value(v: &Value) -> Result<Vec<SortField>, StreamError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(entry(item)?);
            }
            Ok(out)
        }
        Value::Object(_) => entry(v),
        _ => Err(StreamError::input_field(
            "sort",
            "must be an array of {field, direction}",
        )),
    }
}

/// Serde helper for a body's `sort`: `#[serde(default, deserialize_with = "deserialize_sort")]`.
pub fn deserialize_sort<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SortField>, D::Error> {
    let v = Value::deserialize(d)?;
    sort_value(&v).map_err(|e| serde::de::Error::custom(e.message))
}

/// One sort entry; the object form `{a: 1, b: -1}` gives its keys in map (alphabetical) order.
fn entry(v: &Value) -> Result<Vec<SortField>, StreamError> {
    let Some(obj) = v.as_object() else {
        return Err(StreamError::input_field(
            "sort",
            "each entry must be an object",
        ));
    };
    if let Some(field) = obj.get("field").filter(|f| !f.is_null()) {
        let field = field
            .as_str()
            .filter(|f| !f.is_empty())
            .ok_or_else(|| StreamError::input_field("sort", "field must be a non-empty string"))?;
        let direction = match obj.get("direction") {
            None | Some(Value::Null) => 1,
            Some(d) => direction(d)?,
        };
        return Ok(vec![SortField::new(field, direction)]);
    }
    if obj.contains_key("direction") {
        return Err(StreamError::input_field("sort", "field is required"));
    }
    obj.iter()
        .filter(|(_, d)| !d.is_null())
        .map(|(field, d)| Ok(SortField::new(field.clone(), direction(d)?)))
        .collect()
}

fn direction(v: &Value) -> Result<i32, StreamError> {
    match v.as_i64() {
        Some(1) => Ok(1),
        Some(-1) => Ok(-1),
        _ => Err(StreamError::input_field(
            "sort",
            format!("direction must be 1 or -1, got {v}"),
        )),
    }
}

/// `None` for an absent value, an empty one or the text `null`.
pub fn present(raw: Option<&str>) -> Option<&str> {
    raw.filter(|r| !r.is_empty() && *r != "null")
}

/// The `payload=` JSON object with every `null` member removed; absent means `{}`.
pub fn payload(raw: Option<&str>) -> Result<Value, StreamError> {
    let Some(raw) = present(raw) else {
        return Ok(Value::Object(Map::new()));
    };
    let mut v: Value = serde_json::from_str(raw)
        .map_err(|e| StreamError::input_field("payload", format!("is not valid JSON: {e}")))?;
    if !v.is_object() {
        return Err(StreamError::input_field("payload", "must be a JSON object"));
    }
    strip_nulls(&mut v);
    Ok(v)
}

/// Removes every object member whose value is `null`, at any depth (array items are kept).
pub fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(obj) => {
            obj.retain(|_, m| !m.is_null());
            obj.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// A list value: a JSON array, or a comma list of once-more percent-encoded items.
pub fn list(raw: &str) -> Vec<String> {
    let raw = raw.trim();
    if present(Some(raw)).is_none() {
        return Vec::new();
    }
    if raw.starts_with('[') {
        if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(raw) {
            return items
                .into_iter()
                .filter(|i| !i.is_null())
                .map(|i| match i {
                    Value::String(s) => s,
                    other => other.to_string(),
                })
                .collect();
        }
    }
    raw.split(',')
        .map(percent_decode)
        .filter(|i| !i.is_empty())
        .collect()
}

/// A `sort` query value: a JSON array (JS), comma-joined encoded JSON objects (Python), or bare
/// JSON objects joined by commas.
pub fn sort(raw: &str) -> Result<Vec<SortField>, StreamError> {
    let raw = raw.trim();
    if present(Some(raw)).is_none() {
        return Ok(Vec::new());
    }
    let bad =
        |e: serde_json::Error| StreamError::input_field("sort", format!("is not valid JSON: {e}"));
    if raw.starts_with('[') {
        return sort_value(&serde_json::from_str(raw).map_err(bad)?);
    }
    if raw.starts_with('{') {
        if let Ok(v) = serde_json::from_str::<Value>(&format!("[{raw}]")) {
            return sort_value(&v);
        }
    }
    let mut out = Vec::new();
    for item in raw.split(',').map(percent_decode).filter(|i| !i.is_empty()) {
        out.extend(entry(&serde_json::from_str(&item).map_err(bad)?)?);
    }
    Ok(out)
}

/// A boolean value: `true`/`false`/`1`/`0` (any case); absent or `null` is `None`.
pub fn boolean(name: &str, raw: &str) -> Result<Option<bool>, StreamError> {
    let Some(raw) = present(Some(raw.trim())) else {
        return Ok(None);
    };
    if raw == "1" || raw.eq_ignore_ascii_case("true") {
        Ok(Some(true))
    } else if raw == "0" || raw.eq_ignore_ascii_case("false") {
        Ok(Some(false))
    } else {
        Err(StreamError::input_field(
            name,
            format!("must be true or false, got {raw:?}"),
        ))
    }
}

/// Decodes `%XX` escapes once; malformed escapes stay as they are.
fn percent_decode(s: &str) -> String {
    let hex = |b: Option<&u8>| b.and_then(|&b| (b as char).to_digit(16));
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn payload_strips_nulls_at_any_depth() {
        let raw = r#"{"filter_conditions": {"id": {"$in": ["a", null]}, "team": null}, "sort": [{"field": "created_at", "direction": -1, "type": null}], "limit": null, "presence": false}"#;
        let v = payload(Some(raw)).unwrap();
        assert_eq!(
            v,
            json!({
                "filter_conditions": {"id": {"$in": ["a", null]}},
                "sort": [{"field": "created_at", "direction": -1}],
                "presence": false,
            })
        );
    }

    #[test]
    fn payload_absent_or_bad() {
        assert_eq!(payload(None).unwrap(), json!({}));
        assert_eq!(payload(Some("null")).unwrap(), json!({}));
        let err = payload(Some("{not json")).unwrap_err();
        assert_eq!(err.code.code(), 4);
        assert!(err.exception_fields.contains_key("payload"));
        assert_eq!(payload(Some("[1]")).unwrap_err().status, 400);
    }

    #[test]
    fn list_accepts_json_and_double_encoded_commas() {
        // Python: ["m1", "m 2", "a,b"] → items encoded, joined, then decoded once by the caller.
        assert_eq!(list("m1,m%202,a%2Cb"), ["m1", "m 2", "a,b"]);
        assert_eq!(list(r#"["m1","m 2","a,b"]"#), ["m1", "m 2", "a,b"]);
        assert_eq!(list("[1, 2]"), ["1", "2"]);
        assert_eq!(list("single"), ["single"]);
        assert_eq!(list("100%"), ["100%"]);
        assert!(list("null").is_empty());
        assert!(list("").is_empty());
    }

    #[test]
    fn sort_from_js_and_python() {
        let want = vec![SortField::new("created_at", 1), SortField::new("id", -1)];
        // JS: a JSON array.
        let js = r#"[{"field":"created_at","direction":1},{"field":"id","direction":-1}]"#;
        assert_eq!(sort(js).unwrap(), want);
        // Python: each object percent-encoded, then comma-joined.
        let py = "%7B%22direction%22%3A%201%2C%20%22field%22%3A%20%22created_at%22%2C%20%22type%22%3A%20null%7D,\
                  %7B%22direction%22%3A%20-1%2C%20%22field%22%3A%20%22id%22%2C%20%22type%22%3A%20null%7D";
        assert_eq!(sort(py).unwrap(), want);
        // Bare objects joined by commas, and the object form.
        let bare = r#"{"field":"created_at"},{"id":-1}"#;
        assert_eq!(sort(bare).unwrap(), want);
        assert!(sort("null").unwrap().is_empty());
    }

    #[test]
    fn sort_rejects_bad_entries() {
        for raw in [
            r#"[{"field":"a","direction":2}]"#,
            r#"[{"direction":1}]"#,
            r#"[{"field":""}]"#,
            r#"["created_at"]"#,
            "%7Bnope",
        ] {
            let err = sort(raw).unwrap_err();
            assert_eq!(err.code.code(), 4, "{raw}");
            assert!(err.message.starts_with("sort:"), "{raw}: {}", err.message);
        }
    }

    #[test]
    fn sort_field_deserializes_both_forms() {
        #[derive(Deserialize)]
        struct Body {
            #[serde(default, deserialize_with = "deserialize_sort")]
            sort: Vec<SortField>,
            one: Option<SortField>,
        }
        let b: Body = serde_json::from_value(json!({
            "sort": [{"created_at": -1}, {"field": "name", "direction": 1}],
            "one": {"last_message_at": -1},
        }))
        .unwrap();
        assert_eq!(
            b.sort,
            [SortField::new("created_at", -1), SortField::new("name", 1)]
        );
        assert_eq!(b.one, Some(SortField::new("last_message_at", -1)));
        let b: Body = serde_json::from_value(json!({"sort": {"a": 1, "b": -1}})).unwrap();
        assert_eq!(b.sort, [SortField::new("a", 1), SortField::new("b", -1)]);
        let b: Body = serde_json::from_value(json!({"sort": null})).unwrap();
        assert!(b.sort.is_empty());
        assert!(serde_json::from_value::<SortField>(json!({"a": 1, "b": 1})).is_err());
        assert!(serde_json::from_value::<Body>(json!({"sort": [{"a": 0}]})).is_err());
    }

    #[test]
    fn booleans() {
        for (raw, want) in [
            ("true", Some(true)),
            ("1", Some(true)),
            ("True", Some(true)),
            ("false", Some(false)),
            ("0", Some(false)),
            ("null", None),
            ("", None),
        ] {
            assert_eq!(boolean("watch", raw).unwrap(), want, "{raw}");
        }
        let err = boolean("watch", "yes").unwrap_err();
        assert!(err.exception_fields.contains_key("watch"));
    }

    #[test]
    fn present_treats_null_text_as_absent() {
        assert_eq!(present(Some("null")), None);
        assert_eq!(present(Some("")), None);
        assert_eq!(present(None), None);
        assert_eq!(present(Some("alice")), Some("alice"));
    }
}
