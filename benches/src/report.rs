//! Results: one [`Record`] per scenario, printed as a table and written as a JSON array.

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

/// One scenario's result. `ours` and `reference` are in `unit`; `ratio` is ours / reference
/// (`better` says whether a higher or a lower ratio is the good direction); `met` is null when
/// the scenario could not be judged (skipped).
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub name: String,
    pub ours: Option<f64>,
    pub reference: Option<f64>,
    pub ratio: Option<f64>,
    pub target: String,
    pub met: Option<bool>,
    pub unit: String,
    /// What the reference figure is.
    pub reference_name: Option<String>,
    /// "higher" or "lower": which direction of `ours` (and of `ratio`) is better.
    pub better: String,
    /// "quick" or "full", with the parameters used.
    pub scale: Value,
    pub details: Value,
    pub machine: Value,
    /// Wall-clock seconds the scenario took, setup included.
    pub elapsed_s: f64,
    /// Unix time (s) the scenario finished.
    pub finished_at: u64,
    pub command: String,
}

impl Record {
    pub fn new(name: &str, unit: &str, better: &str, target: &str) -> Record {
        Record {
            name: name.to_owned(),
            ours: None,
            reference: None,
            ratio: None,
            target: target.to_owned(),
            met: None,
            unit: unit.to_owned(),
            reference_name: None,
            better: better.to_owned(),
            scale: Value::Null,
            details: Value::Object(Default::default()),
            machine: Value::Null,
            elapsed_s: 0.0,
            finished_at: 0,
            command: String::new(),
        }
    }

    /// Sets `reference` and computes `ratio` = ours / reference.
    pub fn with_reference(&mut self, name: &str, value: Option<f64>) {
        self.reference_name = Some(name.to_owned());
        self.reference = value;
        self.ratio = match (self.ours, value) {
            (Some(o), Some(r)) if r > 0.0 => Some(crate::util::round(o / r, 3)),
            _ => None,
        };
    }

    pub fn detail(&mut self, key: &str, v: Value) {
        if let Value::Object(m) = &mut self.details {
            m.insert(key.to_owned(), v);
        }
    }
}

fn fmt_num(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(x) if x.abs() >= 1000.0 => format!("{x:.0}"),
        Some(x) if x.abs() >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.3}"),
    }
}

/// The human-readable table.
pub fn table(records: &[Record]) -> String {
    let mut rows = vec![[
        "scenario".to_owned(),
        "ours".to_owned(),
        "reference".to_owned(),
        "ratio".to_owned(),
        "unit".to_owned(),
        "target".to_owned(),
        "met".to_owned(),
    ]];
    for r in records {
        rows.push([
            r.name.clone(),
            fmt_num(r.ours),
            match (&r.reference_name, r.reference) {
                (Some(n), v) => format!("{} ({n})", fmt_num(v)),
                (None, _) => "-".into(),
            },
            fmt_num(r.ratio),
            r.unit.clone(),
            r.target.clone(),
            match r.met {
                Some(true) => "yes".into(),
                Some(false) => "NO".into(),
                None => "n/a".into(),
            },
        ]);
        if let Some(Value::Array(extra)) = r.details.get("table_rows") {
            for e in extra {
                let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                let f = |k: &str| e.get(k).and_then(Value::as_f64);
                rows.push([
                    format!("  {}", s("name")),
                    fmt_num(f("ours")),
                    match f("reference") {
                        Some(v) => format!("{} ({})", fmt_num(Some(v)), s("reference_name")),
                        None => "-".into(),
                    },
                    fmt_num(f("ratio")),
                    s("unit"),
                    s("target"),
                    match e.get("met").and_then(Value::as_bool) {
                        Some(true) => "yes".into(),
                        Some(false) => "NO".into(),
                        None => "".into(),
                    },
                ]);
            }
        }
    }
    let mut widths = [0usize; 7];
    for row in &rows {
        for (i, c) in row.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for (n, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        out.push_str(cells.join(" | ").trim_end());
        out.push('\n');
        if n == 0 {
            let sep: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&sep.join("-+-"));
            out.push('\n');
        }
    }
    out
}

/// Writes `records` to `path` as a JSON array. Unless `fresh`, records of other scenarios
/// already in the file are kept (so scenarios can be run one at a time).
pub fn write_json(path: &Path, records: &[Record], fresh: bool, order: &[&str]) -> Result<()> {
    let mut all: Vec<Value> = Vec::new();
    if !fresh {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(Value::Array(old)) = serde_json::from_str::<Value>(&text) {
                all.extend(old.into_iter().filter(|o| {
                    let n = o.get("name").and_then(Value::as_str).unwrap_or("");
                    !records.iter().any(|r| r.name == n)
                }));
            }
        }
    }
    for r in records {
        all.push(serde_json::to_value(r)?);
    }
    let rank = |v: &Value| {
        let n = v.get("name").and_then(Value::as_str).unwrap_or("");
        order.iter().position(|o| *o == n).unwrap_or(order.len())
    };
    all.sort_by_key(rank);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&all)?)
        .with_context(|| format!("write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("rename to {}", path.display()))?;
    Ok(())
}
