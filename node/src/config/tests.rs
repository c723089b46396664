//! Layering (file < environment < flags), booleans turned off by a later layer, lists, the old
//! flat keys, unknown keys, validation, and `config print`.

use std::ffi::OsString;
use std::io::Write as _;
use std::sync::Mutex;

use clap::CommandFactory;

use super::*;

/// Tests that set `CHAT_*` variables (and every test that parses, since clap reads them) take
/// this lock; every variable chat-node knows is cleared around the parse.
static ENV_LOCK: Mutex<()> = Mutex::new(());

fn parse_with_env(argv: &[&str], env: &[(&str, &str)]) -> Result<Args, clap::Error> {
    let _guard = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let names: Vec<String> = Args::command()
        .get_arguments()
        .filter_map(|a| a.get_env())
        .map(|e| e.to_string_lossy().into_owned())
        .collect();
    let saved: Vec<(String, Option<OsString>)> = names
        .iter()
        .map(|n| (n.clone(), std::env::var_os(n)))
        .collect();
    for n in &names {
        std::env::remove_var(n);
    }
    for (k, v) in env {
        std::env::set_var(k, v);
    }
    let parsed = Args::try_parse_argv(std::iter::once("chat-node").chain(argv.iter().copied()));
    for (k, v) in saved {
        match v {
            Some(v) => std::env::set_var(&k, v),
            None => std::env::remove_var(&k),
        }
    }
    parsed
}

fn node_args(argv: &[&str], env: &[(&str, &str)]) -> NodeArgs {
    parse_with_env(argv, env).expect("flags parse").node
}

fn load(argv: &[&str], env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::load(&node_args(argv, env))
}

/// A TOML file that lives as long as the returned handle.
fn toml_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new()
        .suffix(".toml")
        .tempfile()
        .expect("temp file");
    f.write_all(text.as_bytes()).expect("write temp file");
    f
}

const CREDS: &[&str] = &["--client-id", "id", "--client-secret", "secret-secret"];

fn with_creds<'a>(argv: &[&'a str]) -> Vec<&'a str> {
    argv.iter().copied().chain(CREDS.iter().copied()).collect()
}

#[test]
fn defaults_are_a_single_node_with_dev_credentials() {
    let c = load(&[], &[]).unwrap();
    assert_eq!(c.bootstrap, Bootstrap::Single);
    assert!(c.generated_credentials);
    assert_eq!(c.api_addr.to_string(), "127.0.0.1:8080");
    assert_eq!(c.raft_addr.to_string(), "127.0.0.1:8081");
    assert_eq!(c.node_id, 1);
    assert_eq!(c.snapshot_threshold, 50_000);
    assert!(c.nats.is_none() && c.previous_client_secrets.is_empty());
    assert!(c.warnings.is_empty());
}

#[test]
fn members_are_parsed_and_checked() {
    let c = load(
        &with_creds(&[
            "--initial-members",
            "1=127.0.0.1:1,2=127.0.0.1:2",
            "--node-id",
            "2",
        ]),
        &[],
    )
    .unwrap();
    assert!(matches!(c.bootstrap, Bootstrap::Members(ref m) if m.len() == 2));
    let bad = load(
        &["--initial-members", "1=127.0.0.1:1", "--node-id", "3"],
        &[],
    );
    assert!(bad.unwrap_err().to_string().contains("does not contain"));
    let half = load(&["--client-id", "id"], &[]).unwrap_err();
    assert!(half.to_string().contains("set both or neither"), "{half}");
}

#[test]
fn a_later_layer_wins_file_then_environment_then_flags() {
    let file = toml_file(
        r#"
        [api]
        addr = "127.0.0.1:1001"
        [raft]
        addr = "127.0.0.1:2001"
        node_id = 7
        [project]
        region = "file-region"
        "#,
    );
    let path = file.path().to_str().unwrap();
    let c = load(
        &with_creds(&["--config", path, "--api-addr", "127.0.0.1:1003"]),
        &[
            ("CHAT_API_ADDR", "127.0.0.1:1002"),
            ("CHAT_RAFT_ADDR", "127.0.0.1:2002"),
        ],
    )
    .unwrap();
    assert_eq!(c.api_addr.to_string(), "127.0.0.1:1003", "flag over env");
    assert_eq!(c.raft_addr.to_string(), "127.0.0.1:2002", "env over file");
    assert_eq!(c.node_id, 7, "file over default");
    assert_eq!(c.region, "file-region");
    assert_eq!(c.owner_id, "owner", "default");

    // The file named by CHAT_CONFIG works like --config.
    let c = load(CREDS, &[("CHAT_CONFIG", path)]).unwrap();
    assert_eq!(c.node_id, 7);
}

#[test]
fn booleans_of_the_file_are_turned_off_by_flags_and_variables() {
    let file = toml_file(
        r#"
        [raft]
        join = true
        [nats]
        url = ["nats://127.0.0.1:4222"]
        tls = true
        [log]
        json = true
        "#,
    );
    let path = file.path().to_str().unwrap();
    let c = load(&with_creds(&["--config", path]), &[]).unwrap();
    assert_eq!(c.bootstrap, Bootstrap::Join);
    assert!(c.nats.as_ref().unwrap().tls && c.log_json);

    let c = load(
        &with_creds(&["--config", path, "--join=false", "--log-json=false"]),
        &[("CHAT_NATS_TLS", "false")],
    )
    .unwrap();
    assert_eq!(c.bootstrap, Bootstrap::Single);
    assert!(!c.nats.as_ref().unwrap().tls);
    assert!(!c.log_json);

    // A bare flag, and a variable, turn them on.
    let c = load(
        &with_creds(&["--join", "--nats-url", "nats://x:4222"]),
        &[("CHAT_NATS_TLS", "true"), ("CHAT_LOG_JSON", "true")],
    )
    .unwrap();
    assert_eq!(c.bootstrap, Bootstrap::Join);
    assert!(c.nats.unwrap().tls && c.log_json);
    // A bare --join does not swallow the next flag.
    let a = node_args(&["--join", "--node-id", "3"], &[]);
    assert_eq!((a.join, a.node_id), (Some(true), Some(3)));
}

#[test]
fn lists_are_split_at_commas_from_flags_and_variables() {
    let c = load(
        &with_creds(&[
            "--nats-url",
            "nats://a:4222,nats://b:4222",
            "--dial-override",
            "10.0.0.2:8081=127.0.0.1:18081,10.0.0.3:8081=127.0.0.1:18082",
            "--previous-client-secrets",
            "older-secret-1,older-secret-2",
        ]),
        &[],
    )
    .unwrap();
    assert_eq!(c.nats.unwrap().url, ["nats://a:4222", "nats://b:4222"]);
    assert_eq!(c.dial_overrides.len(), 2);
    assert_eq!(c.dial_overrides["10.0.0.3:8081"], "127.0.0.1:18082");
    assert_eq!(
        c.previous_client_secrets,
        ["older-secret-1", "older-secret-2"]
    );

    let c = load(
        CREDS,
        &[
            ("CHAT_NATS_URL", "nats://a:4222,nats://b:4222,nats://c:4222"),
            ("CHAT_INITIAL_MEMBERS", "1=a:1,2=b:2"),
        ],
    )
    .unwrap();
    assert_eq!(c.nats.unwrap().url.len(), 3);
    assert!(matches!(c.bootstrap, Bootstrap::Members(ref m) if m.len() == 2));

    // A flag's list replaces the file's.
    let file = toml_file("[nats]\nurl = [\"nats://f1:4222\", \"nats://f2:4222\"]\n");
    let path = file.path().to_str().unwrap();
    let c = load(
        &with_creds(&["--config", path, "--nats-url", "nats://z:4222"]),
        &[],
    )
    .unwrap();
    assert_eq!(c.nats.unwrap().url, ["nats://z:4222"]);

    let short = load(&with_creds(&["--previous-client-secrets", "short"]), &[]).unwrap_err();
    assert!(
        short.to_string().contains("previous_client_secrets"),
        "{short}"
    );
}

#[test]
fn the_old_flat_keys_are_accepted_with_a_warning() {
    let file = toml_file(
        r#"
        api_addr = "127.0.0.1:1001"
        node_id = 2
        initial_members = "1=127.0.0.1:1,2=127.0.0.1:2"
        nats_url = "nats://a:4222,nats://b:4222"
        log_json = true
        client_id = "id"
        client_secret = "secret-secret"

        [raft]
        heartbeat_ms = 50
        "#,
    );
    let path = file.path().to_str().unwrap();
    let c = load(&["--config", path], &[]).unwrap();
    assert_eq!(c.api_addr.to_string(), "127.0.0.1:1001");
    assert_eq!(c.node_id, 2);
    assert_eq!(c.heartbeat_ms, 50);
    assert!(matches!(c.bootstrap, Bootstrap::Members(ref m) if m.len() == 2));
    assert_eq!(c.nats.unwrap().url.len(), 2);
    assert!(c.log_json && !c.generated_credentials);
    assert!(c.warnings.contains(&ConfigWarning::LegacyKey {
        old: "api_addr",
        new: "api.addr"
    }));
    assert_eq!(c.warnings.len(), 7, "one per old key: {:?}", c.warnings);
    assert_eq!(
        c.warnings[0].to_string(),
        "config key api_addr is deprecated: use api.addr"
    );

    // The same key both ways is ambiguous.
    let both = toml_file("api_addr = \"127.0.0.1:1\"\n[api]\naddr = \"127.0.0.1:2\"\n");
    let e = load(&["--config", both.path().to_str().unwrap()], &[]).unwrap_err();
    assert!(e.to_string().contains("api_addr"), "{e}");
}

#[test]
fn unknown_keys_and_bad_types_are_rejected() {
    for (text, needle) in [
        ("no_such_key = true\n", "no_such_key"),
        ("[raft]\nno_such_key = 1\n", "no_such_key"),
        ("[no_such_table]\n", "no_such_table"),
        ("[raft]\nnode_id = \"one\"\n", "node_id"),
        ("[nats]\nurl = \"nats://a:4222\"\n", "url"),
    ] {
        let file = toml_file(text);
        let e = load(&["--config", file.path().to_str().unwrap()], &[]).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("invalid config file") && msg.contains(needle),
            "{text:?}: {msg}"
        );
    }
    let e = load(&["--config", "/nonexistent/chat-node.toml"], &[]).unwrap_err();
    assert!(e.to_string().starts_with("cannot read config file"), "{e}");
}

#[test]
fn validation_rules_hold() {
    for (argv, field) in [
        (vec!["--node-id", "0"], "raft.node_id"),
        (
            vec!["--client-secret", "x"],
            "project.client_id/client_secret",
        ),
        (
            vec!["--client-id", "a", "--client-secret", "short"],
            "project.client_secret",
        ),
        (vec!["--join", "--initial-members", "1=a:1"], "raft.join"),
        (vec!["--snapshot-threshold", "0"], "raft.snapshot_threshold"),
        (vec!["--ws-send-queue", "0"], "gateway.ws_send_queue"),
        (vec!["--heartbeat-ms", "200"], "raft.election_timeout_ms"),
        (vec!["--join", "--restore-from", "b.bak"], "restore_from"),
        (vec!["--api-addr", "nowhere"], "api.addr"),
        (vec!["--dial-override", "a"], "raft.dial_override"),
    ] {
        let e = load(&argv, &[]).unwrap_err();
        assert!(
            e.to_string().starts_with(&format!("invalid {field}")),
            "{argv:?}: {e}"
        );
    }
}

fn printed(argv: &[&str], env: &[(&str, &str)]) -> String {
    let args = parse_with_env(argv, env).expect("parse");
    let node = match args.command {
        Some(Subcommand::Config {
            action: ConfigAction::Print(node),
        }) => node,
        other => panic!("not config print: {other:?}"),
    };
    super::print(&node).expect("valid config").0
}

#[test]
fn config_print_shows_every_key_with_its_source_and_redacts_secrets() {
    let file = toml_file("[nats]\npassword = \"n4ts-pw-value\"\nurl = [\"nats://a:4222\"]\n");
    let path = file.path().to_str().unwrap();
    let text = printed(
        &[
            "config",
            "print",
            "--config",
            path,
            "--client-id",
            "id",
            "--previous-client-secrets",
            "older-secret-1",
            "--join=false",
        ],
        &[("CHAT_CLIENT_SECRET", "secret-secret")],
    );
    for secret in ["secret-secret", "older-secret-1", "n4ts-pw-value"] {
        assert!(!text.contains(secret), "{secret} printed:\n{text}");
    }
    let t: toml::Table = toml::from_str(&text).expect("config print is TOML");
    assert_eq!(t["project"]["client_id"].as_str(), Some("id"));
    assert_eq!(t["project"]["client_secret"].as_str(), Some("<redacted>"));
    assert_eq!(
        t["tokens"]["previous_client_secrets"].as_array().unwrap()[0].as_str(),
        Some("<redacted>")
    );
    assert_eq!(t["nats"]["password"].as_str(), Some("<redacted>"));
    assert_eq!(t["raft"]["join"].as_bool(), Some(false));
    assert!(
        text.contains("# token: not set; --nats-token, CHAT_NATS_TOKEN\n"),
        "{text}"
    );
    assert!(text.contains("client_secret = \"<redacted>\"  # from environment;"));
    assert!(text.contains("join = false  # from flag; --join, CHAT_JOIN\n"));
    assert!(text.contains("password = \"<redacted>\"  # from config file;"));
    assert!(text.contains("addr = \"127.0.0.1:8080\"  # from default; --api-addr, CHAT_API_ADDR"));

    // Without secrets, the output read back as a file gives the same settings.
    let defaults = printed(&["config", "print"], &[]);
    let again = toml_file(&defaults);
    let args = node_args(&["--config", again.path().to_str().unwrap()], &[]);
    let layered = layers::layer(&args).expect("printed config parses");
    assert_eq!(layered.settings, Settings::default());
    assert!(layered.warnings.is_empty());
}
