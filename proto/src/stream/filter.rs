//! Stream's filter language (the `filter_conditions` / `filter` of the query endpoints) and the
//! sort of query results.
//!
//! A filter is a JSON object. Each key is a field or one of `$and`, `$or`, `$nor` (an array of
//! filters); several keys are ANDed. A field's value is either a plain value (implicit `$eq`) or
//! an object of operators (`$eq $ne $gt $gte $lt $lte $in $nin $exists $autocomplete $q`), also
//! ANDed. [`Filter::parse_with`] turns the JSON into a [`Filter`] or a code-4 [`StreamError`]
//! naming the bad operator or field; [`Filter::matches`] evaluates it against a JSON document
//! whose top-level keys are the fields. A field holding an array (such as `members`) matches
//! `$eq x` when it contains `x`, and `$in`/`$gt`/… when any element does.
//!
//! Comparisons: numbers numerically, strings lexically, booleans with booleans; two RFC 3339
//! strings (or one and integer nanoseconds) compare as times. Values of different kinds never
//! match (`$ne` then matches). A `null` field counts as absent.

use std::cmp::Ordering;

use serde_json::Value;

use super::error::StreamError;
use super::query::SortField;
use super::time::{parse_rfc3339, Nanos};

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Every sub-filter matches (an empty list matches everything).
    And(Vec<Filter>),
    /// At least one sub-filter matches.
    Or(Vec<Filter>),
    /// No sub-filter matches.
    Nor(Vec<Filter>),
    /// One condition on one top-level field.
    Field { field: String, cond: Cond },
}

/// A condition on a field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// Equal, or contained when the field is an array (`$eq` and the implicit form).
    Eq(Value),
    /// Not `Eq` (also true when the field is absent).
    Ne(Value),
    Gt(Value),
    Gte(Value),
    Lt(Value),
    Lte(Value),
    /// Equal to one of the values (any element, for an array field).
    In(Vec<Value>),
    /// Not `In` (also true when the field is absent).
    Nin(Vec<Value>),
    /// Present and not null (`true`), or absent or null (`false`).
    Exists(bool),
    /// Case-insensitive prefix of a word of the text.
    Autocomplete(String),
    /// Case-insensitive: every whitespace-separated term occurs in the text.
    Q(String),
}

impl Filter {
    /// Parses a filter allowing any field; `null` is the empty filter (matches everything).
    pub fn parse(v: &Value) -> Result<Filter, StreamError> {
        Filter::parse_with(v, None)
    }

    /// Parses a filter; with `allowed`, a field outside the list is an error.
    pub fn parse_with(v: &Value, allowed: Option<&[&str]>) -> Result<Filter, StreamError> {
        match v {
            Value::Null => Ok(Filter::And(Vec::new())),
            _ => parse_object(v, allowed),
        }
    }

    /// Whether the document satisfies the filter.
    pub fn matches(&self, doc: &Value) -> bool {
        match self {
            Filter::And(all) => all.iter().all(|f| f.matches(doc)),
            Filter::Or(any) => any.iter().any(|f| f.matches(doc)),
            Filter::Nor(none) => !none.iter().any(|f| f.matches(doc)),
            Filter::Field { field, cond } => cond.matches(doc.get(field).filter(|v| !v.is_null())),
        }
    }
}

fn parse_object(v: &Value, allowed: Option<&[&str]>) -> Result<Filter, StreamError> {
    let obj = v
        .as_object()
        .ok_or_else(|| StreamError::input(format!("a filter must be an object, got {v}")))?;
    let mut parts = Vec::new();
    for (key, value) in obj {
        match key.as_str() {
            "$and" | "$or" | "$nor" => {
                let subs = value
                    .as_array()
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| {
                        StreamError::input(format!("{key} needs a non-empty array of filters"))
                    })?
                    .iter()
                    .map(|s| parse_object(s, allowed))
                    .collect::<Result<Vec<_>, _>>()?;
                parts.push(match key.as_str() {
                    "$and" => Filter::And(subs),
                    "$or" => Filter::Or(subs),
                    _ => Filter::Nor(subs),
                });
            }
            op if op.starts_with('$') => {
                return Err(StreamError::input(format!(
                    "unknown operator {op:?} at the top of a filter (expected a field, $and, $or or $nor)"
                )))
            }
            field => {
                if allowed.is_some_and(|a| !a.contains(&field)) {
                    return Err(StreamError::input(format!(
                        "field {field:?} cannot be used in this filter"
                    )));
                }
                for cond in parse_conds(field, value)? {
                    parts.push(Filter::Field {
                        field: field.to_string(),
                        cond,
                    });
                }
            }
        }
    }
    Ok(match parts.len() {
        1 => parts.remove(0),
        _ => Filter::And(parts),
    })
}

fn parse_conds(field: &str, v: &Value) -> Result<Vec<Cond>, StreamError> {
    let ops = match v.as_object() {
        Some(obj) if !obj.is_empty() && obj.keys().all(|k| k.starts_with('$')) => obj,
        Some(obj) if obj.keys().any(|k| k.starts_with('$')) => {
            return Err(StreamError::input(format!(
                "field {field:?}: operators and plain keys cannot be mixed"
            )))
        }
        _ => return Ok(vec![Cond::Eq(v.clone())]),
    };
    ops.iter()
        .map(|(op, arg)| parse_cond(field, op, arg))
        .collect()
}

fn parse_cond(field: &str, op: &str, arg: &Value) -> Result<Cond, StreamError> {
    let bad = |want: &str| {
        StreamError::input(format!(
            "operator {op} on field {field:?} needs {want}, got {arg}"
        ))
    };
    let scalar = || match arg {
        Value::Number(_) | Value::String(_) | Value::Bool(_) => Ok(arg.clone()),
        _ => Err(bad("a number, string or boolean")),
    };
    let list = || arg.as_array().cloned().ok_or_else(|| bad("an array"));
    let text = || {
        arg.as_str()
            .map(str::to_string)
            .ok_or_else(|| bad("a string"))
    };
    Ok(match op {
        "$eq" => Cond::Eq(arg.clone()),
        "$ne" => Cond::Ne(arg.clone()),
        "$gt" => Cond::Gt(scalar()?),
        "$gte" => Cond::Gte(scalar()?),
        "$lt" => Cond::Lt(scalar()?),
        "$lte" => Cond::Lte(scalar()?),
        "$in" => Cond::In(list()?),
        "$nin" => Cond::Nin(list()?),
        "$exists" => Cond::Exists(arg.as_bool().ok_or_else(|| bad("true or false"))?),
        "$autocomplete" => Cond::Autocomplete(text()?),
        "$q" => Cond::Q(text()?),
        _ => {
            return Err(StreamError::input(format!(
                "unknown operator {op:?} on field {field:?}"
            )))
        }
    })
}

impl Cond {
    /// Whether a field value (`None` = absent or null) satisfies the condition.
    pub fn matches(&self, value: Option<&Value>) -> bool {
        let any = |pred: &dyn Fn(&Value) -> bool| value.is_some_and(|v| elements(v).any(pred));
        let cmp = |x: &Value, want: fn(Ordering) -> bool| any(&|e| compare(e, x).is_some_and(want));
        match self {
            Cond::Eq(x) => eq_field(value, x),
            Cond::Ne(x) => !eq_field(value, x),
            Cond::Gt(x) => cmp(x, Ordering::is_gt),
            Cond::Gte(x) => cmp(x, Ordering::is_ge),
            Cond::Lt(x) => cmp(x, Ordering::is_lt),
            Cond::Lte(x) => cmp(x, Ordering::is_le),
            Cond::In(xs) => any(&|e| xs.iter().any(|x| equal(e, x))),
            Cond::Nin(xs) => !any(&|e| xs.iter().any(|x| equal(e, x))),
            Cond::Exists(want) => value.is_some() == *want,
            Cond::Autocomplete(q) => any(&|e| e.as_str().is_some_and(|s| word_prefix(s, q))),
            Cond::Q(q) => any(&|e| e.as_str().is_some_and(|s| has_terms(s, q))),
        }
    }
}

/// The values a condition looks at: an array's elements, or the value itself.
fn elements(v: &Value) -> Box<dyn Iterator<Item = &Value> + '_> {
    match v {
        Value::Array(items) => Box::new(items.iter()),
        _ => Box::new(std::iter::once(v)),
    }
}

fn eq_field(value: Option<&Value>, x: &Value) -> bool {
    match (value, x) {
        (None, _) => x.is_null(),
        (Some(v @ Value::Array(_)), Value::Array(_)) => v == x,
        (Some(v), _) => elements(v).any(|e| equal(e, x)),
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match compare(a, b) {
        Some(o) => o.is_eq(),
        None => a == b,
    }
}

/// Orders two scalars of the same kind (times as times); `None` when they do not compare.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Some(num_cmp(x, y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::String(x), Value::String(y)) => match (parse_rfc3339(x), parse_rfc3339(y)) {
            (Some(tx), Some(ty)) => Some(tx.cmp(&ty)),
            _ => Some(x.cmp(y)),
        },
        (Value::String(s), Value::Number(n)) => Some(parse_rfc3339(s)?.cmp(&n.as_i64()?)),
        (Value::Number(n), Value::String(s)) => Some(n.as_i64()?.cmp(&parse_rfc3339(s)?)),
        _ => None,
    }
}

fn num_cmp(x: &serde_json::Number, y: &serde_json::Number) -> Ordering {
    let (ax, rx) = num_key(x);
    let (ay, ry) = num_key(y);
    ax.total_cmp(&ay).then(rx.cmp(&ry))
}

/// A number as (nearest f64, exact remainder for integers): a total order that is exact for
/// integers of any size and for floats.
fn num_key(n: &serde_json::Number) -> (f64, i128) {
    let exact = n
        .as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from));
    match exact {
        Some(i) => {
            let approx = i as f64;
            (approx, i - approx as i128)
        }
        None => (n.as_f64().unwrap_or(0.0), 0),
    }
}

fn word_prefix(text: &str, q: &str) -> bool {
    let (text, q) = (text.to_lowercase(), q.trim().to_lowercase());
    let mut prev_word_char = false;
    for (i, c) in text.char_indices() {
        if !prev_word_char && text[i..].starts_with(&q) {
            return true;
        }
        prev_word_char = c.is_alphanumeric();
    }
    q.is_empty()
}

fn has_terms(text: &str, q: &str) -> bool {
    let text = text.to_lowercase();
    q.to_lowercase()
        .split_whitespace()
        .all(|t| text.contains(t))
}

/// Sorts documents by the sort keys (stable); a missing or null value sorts last either way.
pub fn sort_docs(docs: &mut Vec<Value>, sort: &[SortField]) {
    if sort.is_empty() {
        return;
    }
    let mut keyed: Vec<(Vec<Option<Key>>, Value)> = docs
        .drain(..)
        .map(|d| {
            let keys = sort
                .iter()
                .map(|s| d.get(&s.field).and_then(Key::of))
                .collect();
            (keys, d)
        })
        .collect();
    keyed.sort_by(|(a, _), (b, _)| {
        a.iter()
            .zip(b)
            .zip(sort)
            .map(|((x, y), s)| match (x, y) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(x), Some(y)) if s.direction < 0 => y.order(x),
                (Some(x), Some(y)) => x.order(y),
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    docs.extend(keyed.into_iter().map(|(_, d)| d));
}

/// A sort key with a total order: kinds rank booleans < numbers < times < strings < the rest.
#[derive(Debug)]
enum Key {
    Bool(bool),
    Number(f64, i128),
    Time(Nanos),
    Str(String),
    Other(String),
}

impl Key {
    fn of(v: &Value) -> Option<Key> {
        Some(match v {
            Value::Null => return None,
            Value::Bool(b) => Key::Bool(*b),
            Value::Number(n) => {
                let (approx, rest) = num_key(n);
                Key::Number(approx, rest)
            }
            Value::String(s) => match parse_rfc3339(s) {
                Some(t) => Key::Time(t),
                None => Key::Str(s.clone()),
            },
            other => Key::Other(other.to_string()),
        })
    }

    fn rank(&self) -> u8 {
        match self {
            Key::Bool(_) => 0,
            Key::Number(..) => 1,
            Key::Time(_) => 2,
            Key::Str(_) => 3,
            Key::Other(_) => 4,
        }
    }

    fn order(&self, other: &Key) -> Ordering {
        match (self, other) {
            (Key::Bool(a), Key::Bool(b)) => a.cmp(b),
            (Key::Number(a, ra), Key::Number(b, rb)) => a.total_cmp(b).then(ra.cmp(rb)),
            (Key::Time(a), Key::Time(b)) => a.cmp(b),
            (Key::Str(a), Key::Str(b)) | (Key::Other(a), Key::Other(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

#[cfg(test)]
mod tests;
