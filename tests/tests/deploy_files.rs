//! The deployment files under `deploy/` against the node's actual configuration.
//!
//! No container engine, Kubernetes or Prometheus runs here, so these tests parse every YAML,
//! JSON and TOML file of `deploy/` and check that what they say agrees with the real
//! `chat-node` binary:
//! - every `--flag` and `CHAT_*` variable given to chat-node (Compose, Dockerfile, Kubernetes,
//!   systemd) is in `chat-node --help`;
//! - every key of the example configuration (and of the Kubernetes ConfigMap) is accepted by
//!   `chat-node config print`, every key that `chat-node config print` shows is documented in
//!   the example, and the example starts a node;
//! - ports (8080 API, 8081 Raft), probe paths (`/readyz`, `/healthz`), service names and
//!   Prometheus targets agree across the files;
//! - every metric the Grafana dashboard and the alert rules use is exported by a running node
//!   (and every exported metric has a dashboard panel).
//!
//! NATS files are checked with `nats-server` (`--help`, `-t`) when it is installed.

use chat_tests::gateway::{create_gateway_namespace, metrics_text, set_firebase_token};
use chat_tests::node::binary_path;
use chat_tests::{wait_until, FcmRecorder, Node, NodeOpts};
use serde_json::{json, Value as Json};
use serde_yaml::Value as Yaml;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

const API_PORT: u16 = 8080;
const RAFT_PORT: u16 = 8081;

// ------------------------------------------------------------------------------------------
// Files

fn repo_root() -> PathBuf {
    chat_tests::crate_dir()
        .join("..")
        .canonicalize()
        .expect("repository root")
}

fn deploy() -> PathBuf {
    repo_root().join("deploy")
}

fn read(rel: &str) -> String {
    let p = deploy().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// Every file under `deploy/`, relative paths, sorted.
fn deploy_files() -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read deploy dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, base, out);
            } else {
                let rel = path.strip_prefix(base).expect("under deploy");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(&deploy(), &deploy(), &mut out);
    out.sort();
    out
}

/// All documents of a YAML file, with `<<` merge keys applied.
fn yaml_docs(rel: &str) -> Vec<Yaml> {
    let text = read(rel);
    let mut chunks = vec![String::new()];
    for line in text.lines() {
        if line.trim_end() == "---" {
            chunks.push(String::new());
        } else {
            let last = chunks.last_mut().expect("a chunk");
            last.push_str(line);
            last.push('\n');
        }
    }
    let mut docs = Vec::new();
    for chunk in chunks {
        let mut v: Yaml =
            serde_yaml::from_str(&chunk).unwrap_or_else(|e| panic!("{rel}: invalid YAML: {e}"));
        merge_keys(&mut v);
        if !v.is_null() {
            docs.push(v);
        }
    }
    docs
}

fn yaml(rel: &str) -> Yaml {
    let mut docs = yaml_docs(rel);
    assert_eq!(docs.len(), 1, "{rel}: expected one YAML document");
    docs.remove(0)
}

/// Applies YAML merge keys (`<<: *anchor`): the mapping's own keys win.
fn merge_keys(v: &mut Yaml) {
    match v {
        Yaml::Mapping(m) => {
            for (_, child) in m.iter_mut() {
                merge_keys(child);
            }
            if let Some(merged) = m.remove("<<") {
                let sources = match merged {
                    Yaml::Sequence(s) => s,
                    other => vec![other],
                };
                for src in sources {
                    if let Yaml::Mapping(src) = src {
                        for (k, val) in src {
                            if !m.contains_key(&k) {
                                m.insert(k, val);
                            }
                        }
                    }
                }
            }
        }
        Yaml::Sequence(s) => s.iter_mut().for_each(merge_keys),
        _ => {}
    }
}

fn json_file(rel: &str) -> Json {
    serde_json::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: invalid JSON: {e}"))
}

fn ystr<'a>(v: &'a Yaml, path: &[&str]) -> Option<&'a str> {
    ynode(v, path).and_then(Yaml::as_str)
}

fn ynode<'a>(v: &'a Yaml, path: &[&str]) -> Option<&'a Yaml> {
    let mut cur = v;
    for key in path {
        cur = cur.get(*key)?;
    }
    Some(cur)
}

fn yseq<'a>(v: &'a Yaml, path: &[&str]) -> Vec<&'a Yaml> {
    ynode(v, path)
        .and_then(Yaml::as_sequence)
        .map(|s| s.iter().collect())
        .unwrap_or_default()
}

/// A YAML scalar as text (numbers included).
fn scalar(v: &Yaml) -> String {
    match v {
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// A Compose/Kubernetes command: a list of strings, or one string.
fn strings(v: Option<&Yaml>) -> Vec<String> {
    match v {
        None | Some(Yaml::Null) => Vec::new(),
        Some(Yaml::Sequence(s)) => s.iter().map(scalar).collect(),
        Some(other) => vec![scalar(other)],
    }
}

// ------------------------------------------------------------------------------------------
// The binary

struct Help {
    flags: BTreeSet<String>,
    envs: BTreeSet<String>,
}

/// `chat-node --help`, parsed: long flags and `CHAT_*` variables.
fn help() -> &'static Help {
    static HELP: OnceLock<Help> = OnceLock::new();
    HELP.get_or_init(|| {
        let bin = binary_path();
        assert!(
            bin.exists(),
            "chat-node binary not found at {} (build it with `cargo build -p node`, or set CHAT_NODE_BIN)",
            bin.display()
        );
        let out = Command::new(&bin)
            .arg("--help")
            .output()
            .expect("run chat-node --help");
        assert!(out.status.success(), "chat-node --help failed: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let flags: BTreeSet<String> = flags_in(&text).into_iter().collect();
        let envs: BTreeSet<String> = text
            .split("[env: ")
            .skip(1)
            .map(|rest| {
                rest.chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect::<String>()
            })
            .collect();
        assert!(
            flags.contains("api-addr") && envs.contains("CHAT_API_ADDR"),
            "unexpected chat-node --help output:\n{text}"
        );
        Help { flags, envs }
    })
}

/// Long flags (`--name`, `--name=value`) in a command line or script, without the dashes.
fn flags_in(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 2 < chars.len() {
        let boundary = i == 0 || matches!(chars[i - 1], ' ' | '\t' | '\n' | '"' | '\'' | '[' | ',');
        if boundary && chars[i] == '-' && chars[i + 1] == '-' && chars[i + 2].is_ascii_lowercase() {
            let mut j = i + 2;
            while j < chars.len()
                && (chars[j].is_ascii_lowercase() || chars[j].is_ascii_digit() || chars[j] == '-')
            {
                j += 1;
            }
            out.push(chars[i + 2..j].iter().collect());
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// `CHAT_*` names in a text.
fn chat_envs_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find("CHAT_") {
        let boundary = rest[..pos]
            .chars()
            .last()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        let name: String = rest[pos..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if boundary {
            out.push(name.clone());
        }
        rest = &rest[pos + name.len().max(1)..];
    }
    out
}

/// The value of `--flag value` or `--flag=value` in an argument list.
fn flag_value(args: &[String], flag: &str) -> Option<String> {
    let long = format!("--{flag}");
    let with_eq = format!("--{flag}=");
    for (i, a) in args.iter().enumerate() {
        if let Some(v) = a.strip_prefix(&with_eq) {
            return Some(v.to_string());
        }
        if *a == long {
            return args.get(i + 1).cloned();
        }
    }
    None
}

/// Runs `chat-node config print ARGS`; returns (exit code, stdout, stderr). The `CHAT_*`
/// variables of the test environment are removed so that only the arguments speak.
fn config_print(args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(binary_path());
    cmd.args(["config", "print"]).args(args);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("CHAT_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .expect("run chat-node config print");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `chat-node config print --config FILE` of a nested table; returns the printed TOML.
fn print_config_table(what: &str, table: &toml::Table) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("check.toml");
    std::fs::write(&path, toml::to_string(table).expect("render TOML")).expect("write TOML");
    let (code, stdout, stderr) = config_print(&["--config", path.to_str().unwrap()]);
    assert!(
        code == Some(0) && stderr.is_empty(),
        "{what}: chat-node config print should accept it (exit 0, nothing on stderr); \
         got exit {code:?}: {stderr}"
    );
    stdout
}

/// Checks that the binary accepts every key and value of `table` (its TOML parsing, with
/// unknown keys denied), whatever the combination: `raft.node_id = 0` makes the validation
/// that follows parsing fail, with exit status 2 and a message about `node_id`, not about the
/// file.
fn assert_binary_accepts_keys(what: &str, mut table: toml::Table) {
    insert_dotted(&mut table, "raft.node_id", toml::Value::Integer(0));
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("check.toml");
    std::fs::write(&path, toml::to_string(&table).expect("render TOML")).expect("write TOML");
    let (code, _, stderr) = config_print(&["--config", path.to_str().unwrap()]);
    assert!(
        code == Some(2) && stderr.contains("node_id") && !stderr.contains("config file"),
        "{what}: chat-node should accept every key (expected only the node_id = 0 error, exit 2); \
         got exit {code:?}: {stderr}"
    );
}

/// Sets a dotted key (`raft.node_id`) in a nested table.
fn insert_dotted(table: &mut toml::Table, key: &str, value: toml::Value) {
    match key.split_once('.') {
        None => {
            table.insert(key.to_string(), value);
        }
        Some((head, rest)) => {
            let sub = table
                .entry(head.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            insert_dotted(sub.as_table_mut().expect("a table"), rest, value);
        }
    }
}

/// A nested table as dotted keys (`api.addr`) and their values.
fn dotted(table: &toml::Table) -> BTreeMap<String, toml::Value> {
    fn walk(prefix: &str, t: &toml::Table, out: &mut BTreeMap<String, toml::Value>) {
        for (k, v) in t {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::Table(sub) => walk(&key, sub, out),
                other => {
                    out.insert(key, other.clone());
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", table, &mut out);
    out
}

/// Every key of the configuration, dotted, with the flag that sets it: from
/// `chat-node config print` of the defaults, which shows each key, set (`key = value  # from
/// default; --flag, CHAT_VAR`) or not (`# key: not set; --flag, CHAT_VAR`).
fn config_keys() -> BTreeMap<String, String> {
    let (code, text, stderr) = config_print(&[]);
    assert_eq!(code, Some(0), "chat-node config print: {stderr}");
    toml::from_str::<toml::Table>(&text)
        .unwrap_or_else(|e| panic!("chat-node config print is not TOML: {e}\n{text}"));
    let mut keys = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = format!("{name}.");
            continue;
        }
        let (key, note) = if let Some(rest) = line.strip_prefix("# ") {
            match rest.split_once(": not set; ") {
                Some(pair) => pair,
                None => continue,
            }
        } else if let Some((key, rest)) = line.split_once(" = ") {
            let note = rest
                .rsplit_once("; ")
                .map(|(_, n)| n)
                .unwrap_or_else(|| panic!("config print line without its flag: {line}"));
            (key, note)
        } else {
            continue;
        };
        let flag = note.split(", ").next().unwrap_or_default();
        keys.insert(format!("{section}{key}"), flag.to_string());
    }
    assert!(
        keys.contains_key("api.addr") && keys.contains_key("project.client_secret"),
        "keys parsed from chat-node config print: {keys:?}\n{text}"
    );
    keys
}

/// A TOML file's active keys, and its commented-out examples (`# key = value` lines that
/// parse as TOML on their own), dotted by the table they are written in.
fn toml_with_examples(text: &str, what: &str) -> (toml::Table, BTreeMap<String, toml::Value>) {
    let active: toml::Table =
        toml::from_str(text).unwrap_or_else(|e| panic!("{what}: invalid TOML: {e}"));
    let mut examples = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = format!("{name}.");
            continue;
        }
        let Some(rest) = trimmed.strip_prefix('#') else {
            continue;
        };
        let rest = rest.trim();
        let Some((key, _)) = rest.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            continue;
        }
        if let Ok(t) = toml::from_str::<toml::Table>(rest) {
            for (k, v) in t {
                examples.entry(format!("{section}{k}")).or_insert(v);
            }
        }
    }
    (active, examples)
}

// ------------------------------------------------------------------------------------------
// Where chat-node is started

/// One way chat-node is started by a deploy file.
struct Launch {
    source: String,
    /// Command line (including any wrapper script text).
    args: Vec<String>,
    /// Environment variable names set for it.
    envs: Vec<String>,
}

fn compose() -> Yaml {
    yaml("docker-compose.yml")
}

/// Compose services that run chat-node (built from deploy/Dockerfile or its image).
fn compose_chat_services(c: &Yaml) -> Vec<(String, Yaml)> {
    let services = c
        .get("services")
        .and_then(Yaml::as_mapping)
        .expect("compose services");
    services
        .iter()
        .filter(|(_, s)| {
            s.get("build").is_some()
                || ystr(s, &["image"]).is_some_and(|i| i.starts_with("chat-node"))
        })
        .map(|(k, s)| (scalar(k), s.clone()))
        .collect()
}

fn compose_nats_services(c: &Yaml) -> Vec<(String, Yaml)> {
    let services = c
        .get("services")
        .and_then(Yaml::as_mapping)
        .expect("compose services");
    services
        .iter()
        .filter(|(_, s)| ystr(s, &["image"]).is_some_and(|i| i.starts_with("nats:")))
        .map(|(k, s)| (scalar(k), s.clone()))
        .collect()
}

fn env_names(v: Option<&Yaml>) -> Vec<String> {
    match v {
        Some(Yaml::Mapping(m)) => m.keys().map(scalar).collect(),
        Some(Yaml::Sequence(s)) => s
            .iter()
            .map(|e| match e {
                Yaml::String(s) => s.split('=').next().unwrap_or_default().to_string(),
                other => ystr(other, &["name"]).unwrap_or_default().to_string(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// All Kubernetes objects of deploy/k8s (kind, name, object).
fn k8s_objects() -> Vec<(String, String, String, Yaml)> {
    let mut out = Vec::new();
    for file in deploy_files() {
        if !file.starts_with("k8s/") || !(file.ends_with(".yaml") || file.ends_with(".yml")) {
            continue;
        }
        for doc in yaml_docs(&file) {
            let kind = ystr(&doc, &["kind"]).unwrap_or_default().to_string();
            let name = ystr(&doc, &["metadata", "name"])
                .unwrap_or_default()
                .to_string();
            out.push((file.clone(), kind, name, doc));
        }
    }
    out
}

fn k8s_get(kind: &str, name: &str) -> Yaml {
    k8s_objects()
        .into_iter()
        .find(|(_, k, n, _)| k == kind && n == name)
        .map(|(_, _, _, o)| o)
        .unwrap_or_else(|| panic!("deploy/k8s has no {kind} {name}"))
}

/// The chat-node container of the chat-node StatefulSet.
fn k8s_chat_container() -> (Yaml, Yaml) {
    let sts = k8s_get("StatefulSet", "chat-node");
    let container = yseq(&sts, &["spec", "template", "spec", "containers"])
        .into_iter()
        .find(|c| ystr(c, &["name"]) == Some("chat-node"))
        .cloned()
        .expect("container chat-node in StatefulSet chat-node");
    (sts, container)
}

fn launches() -> Vec<Launch> {
    let mut out = Vec::new();

    // Compose.
    let c = compose();
    let chat = compose_chat_services(&c);
    assert_eq!(chat.len(), 3, "docker-compose.yml: 3 chat-node services");
    for (name, s) in &chat {
        let mut args = strings(s.get("entrypoint"));
        args.extend(strings(s.get("command")));
        out.push(Launch {
            source: format!("docker-compose.yml service {name}"),
            args,
            envs: env_names(s.get("environment")),
        });
    }

    // Dockerfile.
    let dockerfile = read("Dockerfile");
    let mut logical = Vec::new();
    let mut cur = String::new();
    for line in dockerfile.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        if let Some(l) = line.trim_end().strip_suffix('\\') {
            cur.push_str(l);
            cur.push(' ');
        } else {
            cur.push_str(line);
            logical.push(std::mem::take(&mut cur));
        }
    }
    let runtime_stage: Vec<&String> = {
        let last_from = logical
            .iter()
            .rposition(|l| l.trim_start().starts_with("FROM "))
            .expect("FROM in Dockerfile");
        logical[last_from..].iter().collect()
    };
    let mut args = Vec::new();
    let mut envs = Vec::new();
    for l in runtime_stage {
        let l = l.trim();
        if l.starts_with("ENTRYPOINT") || l.starts_with("CMD") {
            args.push(l.to_string());
        }
        if let Some(rest) = l.strip_prefix("ENV ") {
            envs.extend(
                rest.split_whitespace()
                    .filter_map(|kv| kv.split_once('=').map(|(k, _)| k.to_string())),
            );
        }
    }
    assert!(
        args.iter().any(|a| a.contains("chat-node")),
        "Dockerfile: ENTRYPOINT runs chat-node"
    );
    out.push(Launch {
        source: "Dockerfile".into(),
        args,
        envs,
    });

    // Kubernetes.
    let (_, container) = k8s_chat_container();
    let mut args = strings(container.get("command"));
    args.extend(strings(container.get("args")));
    let mut envs = env_names(container.get("env"));
    for from in yseq(&container, &["envFrom"]) {
        if let Some(secret) = ystr(from, &["secretRef", "name"]) {
            let s = k8s_get("Secret", secret);
            for key in ["stringData", "data"] {
                if let Some(m) = s.get(key).and_then(Yaml::as_mapping) {
                    envs.extend(m.keys().map(scalar));
                }
            }
        }
    }
    out.push(Launch {
        source: "k8s StatefulSet chat-node".into(),
        args,
        envs,
    });

    // systemd.
    let unit = read("chat-node.service");
    let exec: Vec<String> = unit
        .lines()
        .filter(|l| l.starts_with("ExecStart") || l.starts_with("ExecStop"))
        .map(str::to_string)
        .collect();
    assert!(
        exec.iter().any(|l| l.contains("chat-node")),
        "chat-node.service: ExecStart runs chat-node"
    );
    out.push(Launch {
        source: "chat-node.service".into(),
        args: exec,
        envs: unit
            .lines()
            .filter(|l| l.starts_with("Environment="))
            .flat_map(chat_envs_in)
            .collect(),
    });
    out
}

// ------------------------------------------------------------------------------------------
// Tests

#[test]
fn every_deploy_file_parses() {
    let files = deploy_files();
    for expected in [
        "Dockerfile",
        "docker-compose.yml",
        "chat-node.toml",
        "chat-node.service",
        "nats-server.service",
        "nats-server.conf",
        "prometheus.yml",
        "alerts.yml",
        "grafana-dashboard.json",
        "k8s/kustomization.yaml",
        "k8s/chat-node-statefulset.yaml",
        "k8s/chat-node-services.yaml",
        "k8s/chat-node-pdb.yaml",
        "k8s/chat-node-configmap.yaml",
        "k8s/chat-node-secret.yaml",
        "k8s/nats.yaml",
    ] {
        assert!(
            files.iter().any(|f| f == expected),
            "deploy/{expected} is missing"
        );
    }
    let mut parsed = 0;
    for f in &files {
        if f.ends_with(".yml") || f.ends_with(".yaml") {
            let docs = yaml_docs(f);
            assert!(!docs.is_empty(), "{f}: no YAML document");
            for doc in &docs {
                // TOML files embedded in ConfigMaps.
                if let Some(data) = doc.get("data").and_then(Yaml::as_mapping) {
                    for (k, v) in data {
                        if scalar(k).ends_with(".toml") {
                            toml::from_str::<toml::Table>(&scalar(v)).unwrap_or_else(|e| {
                                panic!("{f}: {}: invalid TOML: {e}", scalar(k))
                            });
                        }
                    }
                }
            }
            parsed += 1;
        } else if f.ends_with(".json") {
            json_file(f);
            parsed += 1;
        } else if f.ends_with(".toml") {
            toml::from_str::<toml::Table>(&read(f))
                .unwrap_or_else(|e| panic!("{f}: invalid TOML: {e}"));
            parsed += 1;
        }
    }
    assert!(parsed >= 12, "parsed only {parsed} files: {files:?}");

    // Kubernetes: every object has apiVersion, kind, a name, and no namespace.
    for (file, kind, name, obj) in k8s_objects() {
        assert!(ystr(&obj, &["apiVersion"]).is_some(), "{file}: apiVersion");
        assert!(!kind.is_empty(), "{file}: kind");
        if kind != "Kustomization" {
            assert!(!name.is_empty(), "{file}: {kind} without metadata.name");
            assert!(
                ystr(&obj, &["metadata", "namespace"]).is_none(),
                "{file}: {kind} {name} names a namespace; the manifests are namespace-agnostic"
            );
        }
    }
    // Kustomization resources exist.
    let k = yaml("k8s/kustomization.yaml");
    let resources = yseq(&k, &["resources"]);
    assert!(!resources.is_empty(), "kustomization resources");
    for r in resources {
        let r = scalar(r);
        assert!(
            deploy().join("k8s").join(&r).exists(),
            "k8s/kustomization.yaml lists missing {r}"
        );
    }
}

#[test]
fn every_flag_and_variable_given_to_chat_node_exists() {
    let help = help();
    let mut seen = BTreeSet::new();
    for launch in launches() {
        for a in &launch.args {
            for flag in flags_in(a) {
                assert!(
                    help.flags.contains(&flag),
                    "{}: --{flag} is not a chat-node flag (chat-node --help has {:?})",
                    launch.source,
                    help.flags
                );
                seen.insert(flag);
            }
        }
        for env in &launch.envs {
            if env.starts_with("CHAT_") {
                assert!(
                    help.envs.contains(env),
                    "{}: {env} is not a chat-node variable (chat-node --help has {:?})",
                    launch.source,
                    help.envs
                );
            }
        }
    }
    for needed in [
        "node-id",
        "initial-members",
        "api-addr",
        "raft-addr",
        "advertise-raft-addr",
        "nats-url",
        "config",
        "data-dir",
    ] {
        assert!(seen.contains(needed), "no deploy file uses --{needed}");
    }
}

#[test]
fn example_config_documents_every_key_and_the_binary_accepts_them() {
    let known = config_keys();
    let text = read("chat-node.toml");
    let (active, examples) = toml_with_examples(&text, "chat-node.toml");
    let active_keys = dotted(&active);
    let documented: BTreeSet<String> = active_keys.keys().chain(examples.keys()).cloned().collect();
    let known_set: BTreeSet<String> = known.keys().cloned().collect();
    let unknown: Vec<_> = documented.difference(&known_set).collect();
    assert!(
        unknown.is_empty(),
        "chat-node.toml has keys that `chat-node config print` does not show: {unknown:?}"
    );
    let undocumented: Vec<_> = known_set.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "chat-node.toml does not document these keys of `chat-node config print`: {undocumented:?}"
    );
    // Every key is a flag too: the one config print names for it.
    let help = help();
    for (key, flag) in &known {
        let name = flag.strip_prefix("--").unwrap_or_default();
        assert!(
            help.flags.contains(name),
            "config key {key}: config print names {flag:?}, not a flag of chat-node --help"
        );
    }

    // The active file parses in the binary, which prints back what it says.
    let dir = tempfile::tempdir().unwrap();
    let path = deploy().join("chat-node.toml");
    let (code, stdout, stderr) = config_print(&["--config", path.to_str().unwrap()]);
    assert!(
        code == Some(0) && stderr.is_empty(),
        "chat-node config print --config deploy/chat-node.toml: exit {code:?}: {stderr}"
    );
    let printed = dotted(&toml::from_str(&stdout).expect("config print is TOML"));
    for (key, value) in &active_keys {
        assert_eq!(
            printed.get(key),
            Some(value),
            "chat-node.toml {key}: config print shows another value:\n{stdout}"
        );
    }
    // With every example uncommented too (join and initial_members together would not
    // validate; node_id = 0 stops the validation first).
    let mut all = active.clone();
    for (k, v) in &examples {
        insert_dotted(&mut all, k, v.clone());
    }
    assert_binary_accepts_keys("chat-node.toml with every example uncommented", all);

    // The ConfigMap's TOML too.
    let cm = k8s_get("ConfigMap", "chat-node-config");
    let cm_toml = ystr(&cm, &["data", "chat-node.toml"]).expect("ConfigMap data chat-node.toml");
    let (cm_active, cm_examples) = toml_with_examples(cm_toml, "ConfigMap chat-node.toml");
    for k in dotted(&cm_active).keys().chain(cm_examples.keys()) {
        assert!(
            known.contains_key(k),
            "ConfigMap chat-node.toml: unknown key {k}"
        );
    }
    print_config_table("k8s ConfigMap chat-node.toml", &cm_active);

    // The binary rejects an unknown key (so the checks above mean something), at the top and
    // in a table.
    for bad in ["no_such_key = true\n", "[raft]\nno_such_key = true\n"] {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, bad).unwrap();
        let (code, _, stderr) = config_print(&["--config", path.to_str().unwrap()]);
        assert!(
            code == Some(2) && stderr.contains("no_such_key"),
            "an unknown key must be rejected ({bad:?}): exit {code:?}: {stderr}"
        );
    }

    // Ports of the example agree with the other files.
    assert_eq!(
        port_of(active["api"]["addr"].as_str().unwrap()),
        API_PORT,
        "api.addr"
    );
    assert_eq!(
        port_of(active["raft"]["addr"].as_str().unwrap()),
        RAFT_PORT,
        "raft.addr"
    );
}

fn port_of(addr: &str) -> u16 {
    let addr = addr
        .trim_start_matches("http://")
        .trim_start_matches("nats://");
    let addr = addr.split('/').next().unwrap();
    addr.rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or_else(|| panic!("{addr:?} has no port"))
}

fn host_of(addr: &str) -> &str {
    let addr = addr
        .trim_start_matches("http://")
        .trim_start_matches("nats://");
    addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(addr)
}

#[test]
fn compose_ports_members_and_healthchecks_agree() {
    let c = compose();
    let chat = compose_chat_services(&c);
    let nats = compose_nats_services(&c);
    assert_eq!(nats.len(), 3, "docker-compose.yml: 3 NATS servers");
    let chat_names: BTreeSet<&str> = chat.iter().map(|(n, _)| n.as_str()).collect();
    let nats_names: BTreeSet<&str> = nats.iter().map(|(n, _)| n.as_str()).collect();
    let volumes = c.get("volumes").and_then(Yaml::as_mapping);

    let mut ids = BTreeSet::new();
    let mut member_lists = BTreeSet::new();
    for (name, s) in &chat {
        let args = strings(s.get("command"));
        let get =
            |f: &str| flag_value(&args, f).unwrap_or_else(|| panic!("compose {name}: no --{f}"));
        assert_eq!(port_of(&get("api-addr")), API_PORT, "compose {name} api");
        assert_eq!(port_of(&get("raft-addr")), RAFT_PORT, "compose {name} raft");
        let adv = get("advertise-raft-addr");
        assert_eq!(port_of(&adv), RAFT_PORT, "compose {name} advertised raft");
        assert!(
            chat_names.contains(host_of(&adv)),
            "compose {name}: advertised Raft host {adv} is not a chat service"
        );
        let id: u64 = get("node-id").parse().expect("node id");
        assert!(ids.insert(id), "compose: node id {id} used twice");
        let members = get("initial-members");
        member_lists.insert(members.clone());
        let parsed: BTreeMap<u64, String> = members
            .split(',')
            .map(|m| {
                let (id, addr) = m.split_once('=').expect("id=addr");
                (id.parse().expect("member id"), addr.to_string())
            })
            .collect();
        assert_eq!(
            parsed.get(&id),
            Some(&adv),
            "compose {name}: its own member entry is its advertised Raft address"
        );
        for addr in parsed.values() {
            assert_eq!(port_of(addr), RAFT_PORT, "compose member {addr}");
            assert!(
                chat_names.contains(host_of(addr)),
                "compose member {addr} is not a chat service"
            );
        }
        let urls = get("nats-url");
        let hosts: BTreeSet<&str> = urls.split(',').map(host_of).collect();
        assert_eq!(
            hosts, nats_names,
            "compose {name}: --nats-url lists every NATS server"
        );
        for u in urls.split(',') {
            assert_eq!(port_of(u), 4222, "compose {name}: NATS client port in {u}");
        }
        // Healthcheck on /healthz of the API port.
        let hc = strings(ynode(s, &["healthcheck", "test"])).join(" ");
        assert!(
            hc.contains(&format!(":{API_PORT}/healthz")),
            "compose {name}: healthcheck {hc:?} should GET :{API_PORT}/healthz"
        );
        // Published ports map to the API port inside.
        for p in strings(s.get("ports")) {
            let inner = p.rsplit(':').next().unwrap();
            assert_eq!(inner, API_PORT.to_string(), "compose {name}: port {p}");
        }
        // Data on a named volume, where --data-dir points.
        let data_dir = get("data-dir");
        let vols = strings(s.get("volumes"));
        assert!(
            vols.iter().any(|v| {
                let (src, dst) = v.split_once(':').unwrap_or(("", ""));
                data_dir.starts_with(dst.split(':').next().unwrap())
                    && volumes.is_some_and(|m| m.contains_key(src))
            }),
            "compose {name}: --data-dir {data_dir} is not on a named volume ({vols:?})"
        );
    }
    assert_eq!(
        member_lists.len(),
        1,
        "compose: every node gets the same --initial-members"
    );
    let members = member_lists.into_iter().next().unwrap();
    let member_ids: BTreeSet<u64> = members
        .split(',')
        .map(|m| m.split_once('=').unwrap().0.parse().unwrap())
        .collect();
    assert_eq!(member_ids, ids, "compose: --initial-members ids = node ids");

    // NATS: JetStream, one cluster, routes to every server.
    for (name, s) in &nats {
        let args = strings(s.get("command"));
        let joined = args.join(" ");
        assert!(
            joined.contains("--jetstream") || args.iter().any(|a| a == "-js"),
            "compose {name}: JetStream enabled"
        );
        assert_eq!(
            flag_value(&args, "server_name").as_deref(),
            Some(name.as_str()),
            "compose {name}: server_name"
        );
        assert!(
            flag_value(&args, "cluster_name").is_some(),
            "compose {name}: cluster_name"
        );
        let routes = flag_value(&args, "routes").expect("routes");
        let hosts: BTreeSet<&str> = routes.split(',').map(host_of).collect();
        assert_eq!(hosts, nats_names, "compose {name}: routes to every server");
        for r in routes.split(',') {
            assert_eq!(port_of(r), 6222, "compose {name}: route {r}");
        }
        let cluster = flag_value(&args, "cluster").expect("cluster listen");
        assert_eq!(port_of(&cluster), 6222, "compose {name}: cluster listen");
    }

    // Dockerfile: exposes the ports and listens on them by default.
    let dockerfile = read("Dockerfile");
    assert!(
        dockerfile.contains(&format!("EXPOSE {API_PORT} {RAFT_PORT}")),
        "Dockerfile: EXPOSE {API_PORT} {RAFT_PORT}"
    );
    assert!(dockerfile.contains(&format!("CHAT_API_ADDR=0.0.0.0:{API_PORT}")));
    assert!(dockerfile.contains(&format!("CHAT_RAFT_ADDR=0.0.0.0:{RAFT_PORT}")));
    assert!(dockerfile.contains(&format!(":{API_PORT}/healthz")));
    assert!(dockerfile.contains("cargo build --release") && dockerfile.contains("-p node"));
    assert!(dockerfile.contains("libclang-dev") && dockerfile.contains("debian:bookworm-slim"));
}

/// The port a probe or Service targets, resolved through the container's named ports.
fn resolve_port(port: &Yaml, container: &Yaml) -> u16 {
    match port {
        Yaml::Number(n) => n.as_u64().expect("port") as u16,
        Yaml::String(name) => yseq(container, &["ports"])
            .into_iter()
            .find(|p| ystr(p, &["name"]) == Some(name))
            .and_then(|p| p.get("containerPort"))
            .and_then(Yaml::as_u64)
            .unwrap_or_else(|| panic!("no container port named {name}"))
            as u16,
        other => panic!("bad port {other:?}"),
    }
}

fn labels_match(selector: &Yaml, labels: &Yaml) -> bool {
    selector
        .as_mapping()
        .is_some_and(|m| !m.is_empty() && m.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

#[test]
fn kubernetes_ports_probes_services_and_volumes_agree() {
    let objects = k8s_objects();
    let (sts, container) = k8s_chat_container();
    let pod_labels = ynode(&sts, &["spec", "template", "metadata", "labels"])
        .expect("pod labels")
        .clone();
    assert!(labels_match(
        ynode(&sts, &["spec", "selector", "matchLabels"]).unwrap(),
        &pod_labels
    ));
    assert_eq!(
        ynode(&sts, &["spec", "replicas"]).and_then(Yaml::as_u64),
        Some(3)
    );
    assert_eq!(
        ystr(&sts, &["spec", "podManagementPolicy"]),
        Some("Parallel"),
        "pods must start together: one pod is not ready before a majority is up"
    );

    // Container ports and flags.
    assert_eq!(resolve_port(&Yaml::from("api"), &container), API_PORT);
    assert_eq!(resolve_port(&Yaml::from("raft"), &container), RAFT_PORT);
    let args = strings(container.get("args"));
    let script = strings(container.get("command")).join("\n");
    let get = |f: &str| flag_value(&args, f).unwrap_or_else(|| panic!("k8s: no --{f}"));
    assert_eq!(get("api-addr"), format!("0.0.0.0:{API_PORT}"));
    assert_eq!(get("raft-addr"), format!("0.0.0.0:{RAFT_PORT}"));
    let service_name = ystr(&sts, &["spec", "serviceName"]).expect("serviceName");
    assert_eq!(
        get("advertise-raft-addr"),
        format!("$(POD_NAME).{service_name}.$(NAMESPACE).svc.cluster.local:{RAFT_PORT}"),
    );
    // The entrypoint derives the node id from the ordinal and builds the member list.
    for needed in [
        "--node-id",
        "--initial-members",
        "--join",
        "${POD_NAME##*-}",
        "ordinal + 1",
        ".svc.cluster.local",
        &format!(":{RAFT_PORT}"),
        "exec /usr/local/bin/chat-node",
        "\"$@\"",
    ] {
        assert!(
            script.contains(needed),
            "k8s entrypoint script lacks {needed:?}:\n{script}"
        );
    }
    let env = env_names(container.get("env"));
    for needed in ["POD_NAME", "NAMESPACE"] {
        assert!(env.contains(&needed.to_string()), "k8s env {needed}");
    }
    // Secret with the credentials.
    let secret_ref = yseq(&container, &["envFrom"])
        .into_iter()
        .find_map(|f| ystr(f, &["secretRef", "name"]))
        .expect("envFrom secretRef");
    let secret = k8s_get("Secret", secret_ref);
    assert!(
        ynode(&secret, &["stringData", "CHAT_CLIENT_SECRET"]).is_some(),
        "Secret {secret_ref} has CHAT_CLIENT_SECRET"
    );

    // Probes.
    let probe = |kind: &str| -> (String, u16) {
        let p = ynode(&container, &[kind, "httpGet"])
            .unwrap_or_else(|| panic!("k8s chat-node: {kind}.httpGet"));
        (
            ystr(p, &["path"]).unwrap().to_string(),
            resolve_port(p.get("port").unwrap(), &container),
        )
    };
    assert_eq!(probe("readinessProbe"), ("/readyz".into(), API_PORT));
    assert_eq!(probe("livenessProbe"), ("/healthz".into(), API_PORT));
    if container.get("startupProbe").is_some() {
        assert_eq!(probe("startupProbe"), ("/healthz".into(), API_PORT));
    }
    let annotations = ynode(&sts, &["spec", "template", "metadata", "annotations"]);
    if let Some(a) = annotations {
        assert_eq!(ystr(a, &["prometheus.io/port"]), Some("8080"));
        assert_eq!(ystr(a, &["prometheus.io/path"]), Some("/metrics"));
    }

    // Volumes: the PVC template is mounted where --data-dir points; the ConfigMap where
    // --config points.
    let templates = yseq(&sts, &["spec", "volumeClaimTemplates"]);
    assert!(!templates.is_empty(), "volumeClaimTemplates");
    let mounts = yseq(&container, &["volumeMounts"]);
    let mount_of = |vol: &str| -> String {
        mounts
            .iter()
            .find(|m| ystr(m, &["name"]) == Some(vol))
            .and_then(|m| ystr(m, &["mountPath"]))
            .unwrap_or_else(|| panic!("no mount of volume {vol}"))
            .to_string()
    };
    let pvc = ystr(templates[0], &["metadata", "name"]).unwrap();
    assert!(
        get("data-dir").starts_with(&mount_of(pvc)),
        "data dir on the PVC"
    );
    let config_vol = yseq(&sts, &["spec", "template", "spec", "volumes"])
        .into_iter()
        .find(|v| v.get("configMap").is_some())
        .expect("ConfigMap volume");
    let cm_name = ystr(config_vol, &["configMap", "name"]).unwrap();
    let cm = k8s_get("ConfigMap", cm_name);
    let config_path = get("config");
    let (dir, file) = config_path.rsplit_once('/').unwrap();
    assert_eq!(mount_of(ystr(config_vol, &["name"]).unwrap()), dir);
    assert!(
        ynode(&cm, &["data", file]).is_some(),
        "ConfigMap {cm_name} has {file}"
    );

    // Services: a headless one named like serviceName, publishing not-ready addresses; every
    // Service selecting the pods targets real container ports.
    let headless = k8s_get("Service", service_name);
    assert_eq!(ystr(&headless, &["spec", "clusterIP"]), Some("None"));
    assert_eq!(
        ynode(&headless, &["spec", "publishNotReadyAddresses"]).and_then(Yaml::as_bool),
        Some(true)
    );
    let mut services = 0;
    for (file, kind, name, obj) in &objects {
        if kind != "Service" {
            continue;
        }
        let Some(sel) = ynode(obj, &["spec", "selector"]) else {
            continue;
        };
        if !labels_match(sel, &pod_labels) {
            continue;
        }
        services += 1;
        for p in yseq(obj, &["spec", "ports"]) {
            let port = ynode(p, &["port"]).and_then(Yaml::as_u64).unwrap() as u16;
            let target = resolve_port(
                p.get("targetPort").unwrap_or(p.get("port").unwrap()),
                &container,
            );
            assert_eq!(port, target, "{file}: Service {name} port {port}");
            assert!(
                port == API_PORT || port == RAFT_PORT,
                "{file}: Service {name} port {port}"
            );
        }
    }
    assert!(
        services >= 2,
        "a headless and a client Service for chat-node"
    );

    // PodDisruptionBudget.
    let pdb = objects
        .iter()
        .find(|(_, k, _, o)| {
            k == "PodDisruptionBudget"
                && ynode(o, &["spec", "selector", "matchLabels"])
                    .is_some_and(|s| labels_match(s, &pod_labels))
        })
        .map(|(_, _, _, o)| o)
        .expect("a PodDisruptionBudget selecting the chat-node pods");
    assert_eq!(
        ynode(pdb, &["spec", "maxUnavailable"]).and_then(Yaml::as_u64),
        Some(1)
    );

    // NATS: 3 servers with PVCs behind a headless Service; routes to every pod; chat-node's
    // [nats] url names every pod.
    let nats = k8s_get("StatefulSet", "nats");
    assert_eq!(
        ynode(&nats, &["spec", "replicas"]).and_then(Yaml::as_u64),
        Some(3)
    );
    assert!(!yseq(&nats, &["spec", "volumeClaimTemplates"]).is_empty());
    let nats_svc = ystr(&nats, &["spec", "serviceName"]).unwrap();
    let nats_headless = k8s_get("Service", nats_svc);
    assert_eq!(ystr(&nats_headless, &["spec", "clusterIP"]), Some("None"));
    let nats_container = yseq(&nats, &["spec", "template", "spec", "containers"])[0].clone();
    for (name, port) in [("client", 4222), ("cluster", 6222), ("monitor", 8222)] {
        assert_eq!(resolve_port(&Yaml::from(name), &nats_container), port);
    }
    let nats_cm_name = yseq(&nats, &["spec", "template", "spec", "volumes"])
        .into_iter()
        .find_map(|v| ystr(v, &["configMap", "name"]))
        .expect("NATS ConfigMap volume");
    let nats_conf = ystr(&k8s_get("ConfigMap", nats_cm_name), &["data", "nats.conf"])
        .expect("nats.conf")
        .to_string();
    let cm_toml: toml::Table =
        toml::from_str(ystr(&cm, &["data", file]).unwrap()).expect("ConfigMap TOML");
    let nats_url: Vec<&str> = cm_toml
        .get("nats")
        .and_then(|n| n.get("url"))
        .and_then(toml::Value::as_array)
        .expect("ConfigMap [nats] url")
        .iter()
        .map(|u| u.as_str().expect("a URL"))
        .collect();
    for i in 0..3 {
        assert!(
            nats_conf.contains(&format!("nats://nats-{i}.{nats_svc}:6222")),
            "nats.conf routes to nats-{i}"
        );
        assert!(
            nats_url.contains(&format!("nats://nats-{i}.{nats_svc}:4222").as_str()),
            "chat-node [nats] url names nats-{i}"
        );
    }
    assert!(
        nats_conf.contains("jetstream"),
        "nats.conf enables JetStream"
    );
}

#[test]
fn prometheus_scrapes_the_api_port_and_loads_the_rules() {
    let p = yaml("prometheus.yml");
    let jobs = yseq(&p, &["scrape_configs"]);
    let job = jobs
        .iter()
        .find(|j| ystr(j, &["job_name"]) == Some("chat-node"))
        .expect("job chat-node");
    assert_eq!(ystr(job, &["metrics_path"]), Some("/metrics"));
    let targets: Vec<String> = yseq(job, &["static_configs"])
        .into_iter()
        .flat_map(|sc| yseq(sc, &["targets"]).into_iter().map(scalar))
        .collect();
    assert_eq!(targets.len(), 3, "3 nodes: {targets:?}");
    let compose = compose();
    let chat_names: BTreeSet<String> = compose_chat_services(&compose)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    for t in &targets {
        assert_eq!(port_of(t), API_PORT, "target {t}");
        assert!(
            chat_names.contains(host_of(t)),
            "target {t} is not a Compose chat service"
        );
    }
    let rules = yseq(&p, &["rule_files"]);
    assert!(!rules.is_empty(), "rule_files");
    for r in rules {
        assert!(deploy().join(scalar(r)).exists(), "rule file {r:?}");
    }
    // Alert rules are well formed.
    let alerts = yaml("alerts.yml");
    let mut names = BTreeSet::new();
    for g in yseq(&alerts, &["groups"]) {
        for r in yseq(g, &["rules"]) {
            let name = ystr(r, &["alert"]).expect("alert name");
            assert!(names.insert(name.to_string()), "alert {name} twice");
            assert!(ystr(r, &["expr"]).is_some(), "{name}: expr");
            assert!(
                ystr(r, &["labels", "severity"]).is_some(),
                "{name}: severity"
            );
            assert!(
                ystr(r, &["annotations", "summary"]).is_some(),
                "{name}: summary"
            );
            assert!(
                ystr(r, &["annotations", "description"]).is_some(),
                "{name}: description"
            );
        }
    }
    assert!(names.len() >= 8, "alerts: {names:?}");
    // Compose mounts the rule file next to the configuration.
    let prom = ynode(&compose, &["services", "prometheus"]);
    if let Some(prom) = prom {
        let vols = strings(prom.get("volumes")).join(" ");
        assert!(vols.contains("./prometheus.yml") && vols.contains("./alerts.yml"));
    }
}

#[test]
fn systemd_units_start_the_binaries_with_their_config() {
    let unit = read("chat-node.service");
    for needed in [
        "[Unit]",
        "[Service]",
        "[Install]",
        "ExecStart=/usr/local/bin/chat-node --config /etc/chat-node/chat-node.toml",
        "KillSignal=SIGTERM",
    ] {
        assert!(unit.contains(needed), "chat-node.service lacks {needed:?}");
    }
    let nats = read("nats-server.service");
    for needed in [
        "[Unit]",
        "[Service]",
        "[Install]",
        "ExecStart=/usr/local/bin/nats-server --config /etc/nats/nats-server.conf",
    ] {
        assert!(
            nats.contains(needed),
            "nats-server.service lacks {needed:?}"
        );
    }
    let conf = read("nats-server.conf");
    assert!(conf.contains("jetstream") && conf.contains("routes") && conf.contains(":6222"));
}

/// The NATS files, checked by `nats-server` itself when it is installed.
#[test]
fn nats_flags_and_configuration_files_are_accepted_by_nats_server() {
    let bin = chat_tests::nats::binary();
    let Ok(out) = Command::new(&bin).arg("--help").output() else {
        eprintln!(
            "SKIP: {} not found (set NATS_SERVER_BIN): NATS files not checked",
            bin.display()
        );
        return;
    };
    let help = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let c = compose();
    for (name, s) in compose_nats_services(&c) {
        for a in strings(s.get("command")) {
            let flag = a.split('=').next().unwrap();
            if flag.starts_with('-') {
                assert!(
                    help.contains(&format!("{flag} ")) || help.contains(&format!("{flag},")),
                    "compose {name}: {flag} is not a nats-server option"
                );
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let k8s_conf = ystr(&k8s_get("ConfigMap", "nats-config"), &["data", "nats.conf"])
        .unwrap()
        .to_string();
    let k8s_path = dir.path().join("k8s-nats.conf");
    std::fs::write(&k8s_path, k8s_conf).unwrap();
    for (what, path) in [
        ("deploy/nats-server.conf", deploy().join("nats-server.conf")),
        ("k8s ConfigMap nats.conf", k8s_path),
    ] {
        let out = Command::new(&bin)
            .arg("-c")
            .arg(&path)
            .arg("-t")
            .env("POD_NAME", "nats-0")
            .output()
            .expect("nats-server -t");
        assert!(
            out.status.success(),
            "{what}: nats-server -t rejects it: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

// ------------------------------------------------------------------------------------------
// Metrics: the dashboard and the alerts against a running node

/// Metric names referenced by a PromQL expression: identifiers that are not functions,
/// keywords, label names, label values, durations or Grafana variables.
fn promql_metrics(expr: &str) -> BTreeSet<String> {
    const KEYWORDS: &[&str] = &[
        // aggregation operators (may be followed by `by (...)` instead of a parenthesis)
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "limitk",
        "limit_ratio",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "offset",
        "and",
        "or",
        "unless",
        "inf",
        "nan",
        "Inf",
        "NaN",
    ];
    const LABEL_LISTS: &[&str] = &[
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let mut out = BTreeSet::new();
    let mut i = 0;
    let skip_to = |i: usize, open: char, close: char| -> usize {
        let mut depth = 0;
        let mut j = i;
        let mut quote: Option<char> = None;
        while j < chars.len() {
            let c = chars[j];
            if let Some(q) = quote {
                if c == '\\' {
                    j += 1;
                } else if c == q {
                    quote = None;
                }
            } else if c == '"' || c == '\'' || c == '`' {
                quote = Some(c);
            } else if c == open {
                depth += 1;
            } else if c == close {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            j += 1;
        }
        j
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != c {
                if chars[j] == '\\' {
                    j += 1;
                }
                j += 1;
            }
            i = j + 1;
        } else if c == '{' {
            i = skip_to(i, '{', '}');
        } else if c == '[' {
            i = skip_to(i, '[', ']');
        } else if c == '$' {
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut k = i;
            while k < chars.len() && chars[k].is_whitespace() {
                k += 1;
            }
            let call = chars.get(k) == Some(&'(');
            if LABEL_LISTS.contains(&word.as_str()) {
                if call {
                    i = skip_to(k, '(', ')');
                }
            } else if call || KEYWORDS.contains(&word.as_str()) {
                // function or aggregation, or keyword
            } else {
                out.insert(word);
            }
        } else {
            i += 1;
        }
    }
    out
}

/// `(label, value)` pairs of equality matchers on the closed-set labels `field` and `cf`.
fn promql_label_values(expr: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for label in ["field", "cf"] {
        let pat = format!("{label}=\"");
        let mut rest = expr;
        while let Some(pos) = rest.find(&pat) {
            let before = rest[..pos].chars().last();
            let after = &rest[pos + pat.len()..];
            let value: String = after.chars().take_while(|c| *c != '"').collect();
            if before.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_')) {
                out.insert((label.to_string(), value.clone()));
            }
            rest = &after[value.len()..];
        }
    }
    out
}

/// Every PromQL expression of the dashboard (panel targets, variable queries).
fn dashboard_exprs(d: &Json) -> Vec<String> {
    fn walk(v: &Json, out: &mut Vec<String>) {
        match v {
            Json::Object(m) => {
                if let Some(Json::Array(targets)) = m.get("targets") {
                    for t in targets {
                        if let Some(e) = t.get("expr").and_then(Json::as_str) {
                            out.push(e.to_string());
                        }
                    }
                }
                for (k, child) in m {
                    if k != "targets" {
                        walk(child, out);
                    }
                }
            }
            Json::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&d["panels"], &mut out);
    for var in d["templating"]["list"].as_array().into_iter().flatten() {
        if var["type"] != "query" {
            continue;
        }
        let q = match &var["query"] {
            Json::String(s) => s.clone(),
            Json::Object(o) => o
                .get("query")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string(),
            _ => String::new(),
        };
        // label_values(selector, label): the selector is PromQL.
        let q = match q.strip_prefix("label_values(") {
            Some(args) => args
                .split([',', ')'])
                .next()
                .unwrap_or_default()
                .to_string(),
            None => q,
        };
        if !q.is_empty() {
            out.push(q);
        }
    }
    out
}

fn alert_exprs() -> Vec<(String, String)> {
    let alerts = yaml("alerts.yml");
    let mut out = Vec::new();
    for g in yseq(&alerts, &["groups"]) {
        for r in yseq(g, &["rules"]) {
            let name = ystr(r, &["alert"])
                .or_else(|| ystr(r, &["record"]))
                .unwrap_or("?");
            out.push((
                name.to_string(),
                ystr(r, &["expr"]).expect("expr").to_string(),
            ));
        }
    }
    out
}

/// Sample names and `(label, value)` pairs of a Prometheus text exposition.
fn exposition(text: &str) -> (BTreeSet<String>, BTreeSet<(String, String)>) {
    let mut names = BTreeSet::new();
    let mut labels = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let end = line.find(['{', ' ']).unwrap_or(line.len());
        names.insert(line[..end].to_string());
        if line[end..].starts_with('{') {
            let body = &line[end + 1..line.find('}').unwrap_or(line.len())];
            for pair in body.split("\",") {
                if let Some((k, v)) = pair.split_once("=\"") {
                    labels.insert((k.trim().to_string(), v.trim_end_matches('"').to_string()));
                }
            }
        }
    }
    (names, labels)
}

#[test]
fn promql_tokenizer_finds_metric_names_only() {
    let e = r#"histogram_quantile(0.99, sum by (le, method) (rate(chat_request_seconds_bucket{instance=~"$instance"}[$__rate_interval]))) > 0.5"#;
    assert_eq!(
        promql_metrics(e),
        BTreeSet::from(["chat_request_seconds_bucket".to_string()])
    );
    let e = r#"max by (job) (chat_raft{field="term"}) - max by (job) (chat_raft{field="term"} offset 15m) >= 3 and on() up == 1"#;
    assert_eq!(
        promql_metrics(e),
        BTreeSet::from(["chat_raft".to_string(), "up".to_string()])
    );
    assert_eq!(
        promql_label_values(r#"chat_raft{field="term"} - ignoring(field) x{cf="outbox"}"#),
        BTreeSet::from([
            ("cf".to_string(), "outbox".to_string()),
            ("field".to_string(), "term".to_string())
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_config_starts_a_node_exporting_every_metric_the_dashboard_and_alerts_use() {
    // The example configuration starts a node (flags override the listening addresses and
    // the data directory, as an operator would for a second node on one machine).
    let fcm = FcmRecorder::start().await.expect("start the FCM recorder");
    let config = deploy().join("chat-node.toml");
    let node = Node::start(
        NodeOpts::default()
            .arg("--config")
            .arg(config.to_string_lossy())
            .fcm(fcm.url()),
    )
    .await
    .expect("a node starts with deploy/chat-node.toml");
    let c = node.client().await.expect("project login");
    wait_until(Duration::from_secs(30), "GET /readyz = 200", || {
        let c = c.clone();
        async move {
            let r = c
                .get("/readyz")
                .try_send()
                .await
                .map_err(|e| e.to_string())?;
            if r.status == 200 {
                Ok(())
            } else {
                Err(format!("{} {}", r.status, r.text))
            }
        }
    })
    .await;

    // Traffic that makes every labelled metric appear: API requests and one mobile push.
    create_gateway_namespace(
        &c,
        "deploy-check",
        json!({"firebaseProjectId": "proj", "firebaseSecret": "fcm-secret"}),
    )
    .await;
    set_firebase_token(&c, "deploy-check", "user-1", "token-1", "en").await;
    c.post("/gateway/deploy-check/user/user-1/firebase/token/notification")
        .json(json!({"subject": "s", "payload": "p"}))
        .send()
        .await
        .ok();
    let text = wait_until(
        Duration::from_secs(20),
        "/metrics with chat_push_sent_total and chat_request_seconds",
        || {
            let node = &node;
            async move {
                let t = metrics_text(node).await?;
                if t.contains("chat_push_sent_total{") && t.contains("chat_request_seconds_bucket")
                {
                    Ok(t)
                } else {
                    Err("not yet".to_string())
                }
            }
        },
    )
    .await;
    let (names, label_values) = exposition(&text);
    // Prometheus adds `up` itself.
    let known = |m: &str| names.contains(m) || m == "up";

    let dashboard = json_file("grafana-dashboard.json");
    let mut used_by_dashboard = BTreeSet::new();
    let mut checked = Vec::new();
    for e in dashboard_exprs(&dashboard) {
        used_by_dashboard.extend(promql_metrics(&e));
        checked.push(("grafana-dashboard.json".to_string(), e));
    }
    let alerts = alert_exprs();
    assert!(!alerts.is_empty(), "alerts.yml has rules");
    for (name, e) in alerts {
        checked.push((format!("alerts.yml {name}"), e));
    }
    for (what, e) in &checked {
        let metrics = promql_metrics(e);
        assert!(!metrics.is_empty(), "{what}: no metric in {e:?}");
        for m in metrics {
            assert!(
                known(&m),
                "{what}: metric {m} (in {e:?}) is not exported by chat-node; /metrics has {names:?}"
            );
        }
        for (label, value) in promql_label_values(e) {
            assert!(
                label_values.contains(&(label.clone(), value.clone())),
                "{what}: {label}=\"{value}\" (in {e:?}) does not occur in /metrics"
            );
        }
    }

    // Every metric family the node exports has a dashboard panel.
    let families: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    for family in &families {
        let shown = used_by_dashboard.iter().any(|m| {
            m == family
                || ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|s| *m == format!("{family}{s}"))
        });
        assert!(shown, "grafana-dashboard.json has no panel for {family}");
    }

    // The dashboard's layout is sane: unique ids, panels within the 24-column grid.
    let mut ids = BTreeSet::new();
    for p in dashboard["panels"].as_array().expect("panels") {
        assert!(
            ids.insert(p["id"].as_u64().expect("panel id")),
            "panel id twice"
        );
        let g = &p["gridPos"];
        let (x, w) = (g["x"].as_u64().unwrap(), g["w"].as_u64().unwrap());
        assert!(x + w <= 24, "panel {} exceeds the grid", p["title"]);
    }
    assert!(dashboard["title"].is_string() && dashboard["uid"].is_string());

    // The node answers the probes the deploy files use.
    for (path, status) in [("/healthz", 200), ("/readyz", 200)] {
        let r = c.get(path).try_send().await.expect(path);
        assert_eq!(r.status, status, "GET {path}: {}", r.text);
    }
}
