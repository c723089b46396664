//! The two timestamp encodings of the Stream API families (`stream-protocol.md` §0, §7 quirks 1–2).
//!
//! Times are kept as [`Nanos`] (nanoseconds since the Unix epoch, UTC). Responses render them per
//! [`Family`]: v1 (unprefixed paths, the JS client) gets RFC 3339 strings with exactly nine
//! fractional digits and `Z` (V8's `new Date` reads them, keeping the milliseconds, and our own
//! parser reads them back losslessly); v2 (`/api/v2/…`, the Python and Go SDKs) gets integer
//! nanoseconds, since an RFC 3339 string there fails every Python call (§3.3). Requests of both
//! families may carry either form, so [`parse`] reads both.

use ::time::format_description::well_known::Rfc3339;
use ::time::OffsetDateTime;
use serde_json::Value;

/// Nanoseconds since 1970-01-01T00:00:00Z.
pub type Nanos = i64;

/// An API family: which timestamp encoding the response gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// Unprefixed paths: RFC 3339 strings.
    V1,
    /// `/api/v2/…` paths: integer nanoseconds.
    V2,
}

impl Family {
    /// The family of a request path (`/api/v2` or below is V2, everything else V1).
    pub fn of_path(path: &str) -> Family {
        match path.strip_prefix("/api/v2") {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => Family::V2,
            _ => Family::V1,
        }
    }
}

/// Milliseconds since the epoch as [`Nanos`] (saturating).
pub fn from_millis(ms: i64) -> Nanos {
    ms.saturating_mul(1_000_000)
}

/// `t` as the family writes it: `"2024-01-02T03:04:05.123456789Z"` (V1) or `1704164645123456789` (V2).
pub fn render(t: Nanos, family: Family) -> Value {
    match family {
        Family::V1 => Value::String(rfc3339(t)),
        Family::V2 => Value::from(t),
    }
}

/// `t` as an RFC 3339 UTC string with nine fractional digits.
pub fn rfc3339(t: Nanos) -> String {
    // Every i64 of nanoseconds (years 1677–2262) is a valid OffsetDateTime.
    let dt = OffsetDateTime::from_unix_timestamp_nanos(i128::from(t))
        .expect("i64 nanoseconds are always in time's range");
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.nanosecond()
    )
}

/// A request timestamp: an RFC 3339 string (any precision, any offset), or integer nanoseconds
/// as a JSON number or a numeric string. `None` for anything else, or out of the i64 range.
pub fn parse(v: &Value) -> Option<Nanos> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(i)
            } else if n.is_u64() {
                None
            } else {
                n.as_f64().and_then(float_nanos)
            }
        }
        Value::String(s) => {
            let s = s.trim();
            match s.parse::<i64>() {
                Ok(i) => Some(i),
                Err(_) => parse_rfc3339(s),
            }
        }
        _ => None,
    }
}

/// An RFC 3339 string as [`Nanos`]. Also reads the lenient forms SDKs emit: a space instead of
/// `T`, and no offset at all (taken as UTC, as Python's naive `isoformat()`).
pub fn parse_rfc3339(s: &str) -> Option<Nanos> {
    // The shortest RFC 3339 text is `YYYY-MM-DDTHH:MM:SSZ`; anything shorter is no time.
    if s.len() < 19 || !matches!(s.as_bytes()[10], b'T' | b't' | b' ') {
        return None;
    }
    let parsed = OffsetDateTime::parse(s, &Rfc3339).ok().or_else(|| {
        let mut fixed = String::with_capacity(s.len() + 1);
        fixed.push_str(&s[..10]);
        fixed.push('T');
        fixed.push_str(s.get(11..)?);
        if !has_offset(&fixed) {
            fixed.push('Z');
        }
        OffsetDateTime::parse(&fixed, &Rfc3339).ok()
    })?;
    i64::try_from(parsed.unix_timestamp_nanos()).ok()
}

/// Whether the time part (after `T`) of `s` ends in `Z` or a `±HH:MM` offset.
fn has_offset(s: &str) -> bool {
    let time = s.get(11..).unwrap_or("");
    time.ends_with(['Z', 'z']) || time.contains(['+', '-'])
}

fn float_nanos(f: f64) -> Option<Nanos> {
    // i64::MAX as f64 rounds up to 2^63, which no longer fits; keep strictly below it.
    (f.is_finite() && f >= i64::MIN as f64 && f < i64::MAX as f64).then_some(f as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T: Nanos = 1_704_164_645_123_456_789; // 2024-01-02T03:04:05.123456789Z

    #[test]
    fn family_of_path() {
        assert_eq!(Family::of_path("/api/v2/chat/channels"), Family::V2);
        assert_eq!(Family::of_path("/api/v2/users"), Family::V2);
        assert_eq!(Family::of_path("/api/v2"), Family::V2);
        assert_eq!(Family::of_path("/channels/messaging/x/query"), Family::V1);
        assert_eq!(Family::of_path("/api/v20/x"), Family::V1);
        assert_eq!(Family::of_path("/users"), Family::V1);
    }

    #[test]
    fn renders_per_family() {
        assert_eq!(
            render(T, Family::V1),
            json!("2024-01-02T03:04:05.123456789Z")
        );
        assert_eq!(render(T, Family::V2), json!(1_704_164_645_123_456_789_i64));
        // Nine digits even when the tail is zero, and before the epoch.
        assert_eq!(
            rfc3339(from_millis(1_704_164_645_000)),
            "2024-01-02T03:04:05.000000000Z"
        );
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn render_round_trips_through_parse() {
        for t in [
            T,
            0,
            -1,
            1,
            i64::MIN,
            i64::MAX,
            from_millis(1_000_000_000_123),
        ] {
            for family in [Family::V1, Family::V2] {
                assert_eq!(parse(&render(t, family)), Some(t), "{t} {family:?}");
            }
        }
    }

    #[test]
    fn parses_what_the_sdks_send() {
        let cases = [
            ("2024-01-02T03:04:05.123Z", 1_704_164_645_123_000_000), // JS toISOString
            (
                "2024-01-02T03:04:05.123456+00:00",
                1_704_164_645_123_456_000,
            ), // PY isoformat
            ("2024-01-02T03:04:05.123456789Z", T),                   // Go RFC3339Nano
            ("2024-01-02T05:04:05.123456789+02:00", T),
            ("2024-01-01T22:04:05.123456789-05:00", T),
            ("2024-01-02T03:04:05Z", 1_704_164_645_000_000_000),
            ("2024-01-02T03:04:05.1Z", 1_704_164_645_100_000_000),
            ("2024-01-02 03:04:05.123Z", 1_704_164_645_123_000_000),
            ("2024-01-02T03:04:05.123456", 1_704_164_645_123_456_000), // naive: UTC
            ("2024-01-02T03:04:05.1234567899Z", T), // beyond nanoseconds: truncated
            ("2024-01-02t03:04:05.123456789z", T),
            ("1704164645123456789", T),
        ];
        for (text, want) in cases {
            assert_eq!(parse(&json!(text)), Some(want), "{text}");
        }
        assert_eq!(parse(&json!(T)), Some(T));
        assert_eq!(parse(&json!(1.5e18)), Some(1_500_000_000_000_000_000));
    }

    #[test]
    fn rejects_non_times() {
        for v in [
            json!("yesterday"),
            json!("2024-13-02T03:04:05Z"),
            json!("2024-01-02"),
            json!(""),
            json!(true),
            json!(null),
            json!([1]),
            json!(u64::MAX),
            json!(1e300),
            json!("9999-01-01T00:00:00Z"), // beyond i64 nanoseconds
        ] {
            assert_eq!(parse(&v), None, "{v}");
        }
    }
}
