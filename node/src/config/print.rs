//! `chat-node config print`: the layered [`Settings`] as nested TOML. Every key is shown: a set
//! one as `key = value  # from <layer>; --flag, CHAT_VAR`, an unset one as
//! `# key: not set; --flag, CHAT_VAR`. Secrets print as `"<redacted>"`.

use std::fmt::Write as _;

use figment::Figment;
use serde_json::Value as Json;

use super::args::NodeArgs;
use super::file::{self, Settings};

/// What a secret prints as.
pub const REDACTED: &str = "<redacted>";

const HEADER: &str = "\
# chat-node: effective configuration (defaults, then the TOML file, then CHAT_* variables,
# then flags; a later layer wins). Secrets are shown as \"<redacted>\".
";

pub fn render(settings: &Settings, figment: &Figment) -> String {
    let Json::Object(top) = serde_json::to_value(settings).expect("settings serialize to JSON")
    else {
        unreachable!("Settings is a struct");
    };
    let mut out = String::from(HEADER);
    out.push('\n');
    let (tables, keys): (Vec<_>, Vec<_>) = top.iter().partition(|(_, v)| v.is_object());
    for (k, v) in keys {
        line(&mut out, k, k, v, figment);
    }
    for (name, table) in tables {
        let _ = writeln!(out, "\n[{name}]");
        for (k, v) in table.as_object().into_iter().flatten() {
            line(&mut out, &format!("{name}.{k}"), k, v, figment);
        }
    }
    out
}

fn line(out: &mut String, path: &str, key: &str, value: &Json, figment: &Figment) {
    let how = file::by_nested(path)
        .and_then(|k| NodeArgs::flag_and_env(k.flat))
        .map(|(flag, env)| format!("{flag}, {env}"))
        .unwrap_or_default();
    if value.is_null() {
        let _ = writeln!(out, "# {key}: not set; {how}");
        return;
    }
    let value = if file::SECRET_KEYS.contains(&path) {
        redact(value)
    } else {
        value.clone()
    };
    let from = figment
        .find_metadata(path)
        .map(|m| m.name.to_string())
        .unwrap_or_else(|| "?".into());
    let _ = writeln!(out, "{key} = {}  # from {from}; {how}", to_toml(&value));
}

fn redact(value: &Json) -> Json {
    match value {
        Json::Array(items) => Json::Array(items.iter().map(redact).collect()),
        Json::Null => Json::Null,
        _ => Json::String(REDACTED.into()),
    }
}

fn to_toml(value: &Json) -> toml::Value {
    match value {
        Json::Bool(b) => toml::Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::String(n.to_string()),
        },
        Json::String(s) => toml::Value::String(s.clone()),
        Json::Array(items) => toml::Value::Array(items.iter().map(to_toml).collect()),
        Json::Null | Json::Object(_) => unreachable!("no null or table at this depth"),
    }
}
