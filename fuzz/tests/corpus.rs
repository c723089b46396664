//! The short smoke of every fuzz target: each committed corpus file (`corpus/<target>/*`) goes
//! through the target's function. `write_seeds` (ignored) regenerates the seed files from the
//! code itself; see `fuzz/README.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use node::gateway::peer::GatewayRequest;
use node::raft::rpc::{self, ForwardError, RpcBody, RpcRequest, RpcResponse, SnapshotChunk};
use node::raft::service::to_document;
use node::raft::{Node, TypeConfig};
use node::storage::db;
use node::storage::state_machine::StoredSnapshot;
use openraft::raft::{AppendEntriesRequest, VoteRequest};
use openraft::{
    CommittedLeaderId, Entry, EntryPayload, LogId, Membership, SnapshotMeta, StoredMembership, Vote,
};
use proto::command::{Actor, Command, EntryMeta, LogEntry, PasswordChange};
use proto::event::{Envelope, Event};
use proto::gs2::models::NotificationType;
use proto::gs2::records::NamespaceSettings;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

#[test]
fn every_corpus_file_of_every_target_replays() {
    for (name, target) in fuzz::TARGETS {
        let dir = corpus_dir(name);
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("corpus entry").path();
            let data = std::fs::read(&path).expect("corpus file");
            target(&data);
            files += 1;
        }
        assert!(files > 0, "no corpus for {name}");
    }
}

fn log_id(term: u64, index: u64) -> LogId<u64> {
    LogId::new(CommittedLeaderId::new(term, 1), index)
}

fn entries() -> Vec<LogEntry> {
    let meta = |dedup: Option<&str>| EntryMeta {
        now_ms: 1_700_000_000_000,
        dedup: dedup.map(String::from),
    };
    let post = Command::Post {
        namespace: "ns".into(),
        room: "r".into(),
        name: "6f1c2b9e-0000-4000-8000-000000000001".into(),
        actor: Actor::Player("u1".into()),
        user_id: "u1".into(),
        category: 3,
        metadata: Some("hello".into()),
        checked_room_revision: Some(2),
    };
    vec![
        LogEntry::new(meta(Some("u:u1:k")), post.clone()),
        LogEntry::new(
            meta(None),
            Command::CreateNamespace {
                name: "ns".into(),
                settings: NamespaceSettings::default(),
            },
        ),
        LogEntry::new(
            meta(None),
            Command::UpdateRoom {
                namespace: "ns".into(),
                name: "r".into(),
                actor: Actor::Backend(None),
                metadata: None,
                password: PasswordChange::Set("$argon2id$x".into()),
                white_list_user_ids: vec!["a".into(), "b".into()],
            },
        ),
        LogEntry::new(
            meta(None),
            Command::Subscribe {
                namespace: "ns".into(),
                room: "r".into(),
                user_id: "u1".into(),
                notification_types: vec![NotificationType {
                    category: Some(1),
                    enable_transfer_mobile_push_notification: Some(true),
                }],
            },
        ),
        LogEntry::new(
            meta(None),
            Command::TrimOutbox {
                upto_index: 100,
                from_index: 7,
            },
        ),
        LogEntry::Batch(vec![
            LogEntry::new(meta(None), post.clone()).parts()[0].clone(),
            LogEntry::new(
                meta(None),
                Command::DeleteMessage {
                    namespace: "ns".into(),
                    room: "r".into(),
                    name: "m".into(),
                },
            )
            .parts()[0]
                .clone(),
        ]),
    ]
}

fn membership() -> Membership<u64, Node> {
    let nodes: BTreeMap<u64, Node> = (1..=3)
        .map(|i| (i, Node::new(format!("127.0.0.1:{}", 7000 + i))))
        .collect();
    Membership::new(vec![nodes.keys().copied().collect::<BTreeSet<_>>()], nodes)
}

fn snapshot_meta() -> SnapshotMeta<u64, Node> {
    SnapshotMeta {
        last_log_id: Some(log_id(2, 40)),
        last_membership: StoredMembership::new(Some(log_id(1, 1)), membership()),
        snapshot_id: "2-40-1".into(),
    }
}

/// A snapshot payload as `build` writes it: `{format, rows: [[cf, key, value]]}`.
fn snapshot_body() -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Body {
        format: u32,
        rows: Vec<(String, serde_bytes::ByteBuf, serde_bytes::ByteBuf)>,
    }
    let row = |cf: &str, k: &[u8], v: &[u8]| {
        (
            cf.to_string(),
            serde_bytes::ByteBuf::from(k.to_vec()),
            serde_bytes::ByteBuf::from(v.to_vec()),
        )
    };
    db::encode(&Body {
        format: 1,
        rows: vec![
            row("namespaces", b"\0\0\0\0ns", &db::encode(&"x")),
            row("rooms", b"\0\0\0\0ns\0r", b"\x80"),
        ],
    })
}

#[test]
#[ignore = "writes the seed files; run by hand (fuzz/README.md)"]
fn write_seeds() {
    let mut seeds: Vec<(&str, &str, Vec<u8>)> = Vec::new();

    // REST bodies: flags byte (bit 0 gzip, bit 1 raw route), then the body.
    let bodies: &[(&str, &[u8])] = &[
        ("empty", b""),
        ("null", b"null"),
        ("array", b"[1,2]"),
        (
            "namespace",
            br#"{"name":"ns","description":"d","messageLifeTimeDays":3,"postMessage":{"triggerScriptId":null}}"#,
        ),
        (
            "post",
            br#"{"metadata":"hi","category":"3","password":"p","allowed":true,"whiteListUserIds":["a","b"]}"#,
        ),
        (
            "settings",
            br#"{"settings":"{\"version\":\"2020-04-30\",\"categoryModels\":[{\"category\":1,\"rejectAccessTokenPost\":\"Enabled\"}]}"}"#,
        ),
    ];
    for (name, body) in bodies {
        let mut plain = vec![0u8];
        plain.extend_from_slice(body);
        seeds.push(("rest_body", name, plain));
    }
    let mut gz = flate2::write::GzEncoder::new(vec![1u8], flate2::Compression::fast());
    gz.write_all(bodies[3].1).expect("gzip");
    seeds.push(("rest_body", "namespace-gzip", gz.finish().expect("gzip")));
    seeds.push(("rest_body", "raw-upload", b"\x02{\"u\":1} raw".to_vec()));
    seeds.push(("rest_body", "gzip-header-plain", b"\x01{\"a\":1}".to_vec()));

    for (name, target) in [
        ("root", "/"),
        ("namespaces", "/chat/?pageToken=0a0b&limit=10"),
        ("latest", "/chat/ns/room/r/message/latest?limit=5"),
        ("message", "/chat/ns/room/r%20x/message/m1"),
        ("subscribe", "/chat/ns/user/me/room/subscribe"),
        ("null", "/chat/null?namespaceName=null"),
        (
            "gateway",
            "/gateway/ns/session/user/u1?a=%F0%9F%98%80&b=+&c",
        ),
    ] {
        seeds.push(("rest_query", name, target.as_bytes().to_vec()));
    }

    for (name, frame) in [
        (
            "post",
            r#"{"x_gs2":{"service":"chat","component":"message","function":"post","contentType":"application/json","requestId":"1"},"namespaceName":"ns","roomName":"r","metadata":"hi","category":0,"xGs2ProjectToken":"p","xGs2AccessToken":"t"}"#,
        ),
        (
            "set-user-id",
            r#"{"x_gs2":{"service":"gateway","component":"wsSession","function":"setUserId","requestId":7},"namespaceName":"ns","allowConcurrentAccess":"true","accessToken":"t"}"#,
        ),
        ("no-request-id", r#"{"x_gs2":{"service":"chat"}}"#),
        ("not-object", r#"["x_gs2"]"#),
    ] {
        seeds.push(("ws_frame", name, frame.as_bytes().to_vec()));
    }

    for (i, e) in entries().iter().enumerate() {
        seeds.push((
            "log_entry",
            ["post", "ns", "room", "sub", "trim", "batch"][i],
            e.encode(),
        ));
    }
    let stored = |payload| Entry::<TypeConfig> {
        log_id: log_id(2, 9),
        payload,
    };
    seeds.push((
        "log_entry",
        "stored-normal",
        db::encode(&stored(EntryPayload::Normal(entries()[0].clone()))),
    ));
    seeds.push((
        "log_entry",
        "stored-blank",
        db::encode(&stored(EntryPayload::Blank)),
    ));
    seeds.push((
        "log_entry",
        "stored-membership",
        db::encode(&stored(EntryPayload::Membership(membership()))),
    ));

    let req = |body| RpcRequest {
        version: rpc::RPC_VERSION,
        group: 0,
        body,
    };
    let vote = Vote::new_committed(2, 1);
    let rpcs: Vec<(&str, RpcRequest)> = vec![
        (
            "append",
            req(RpcBody::AppendEntries(AppendEntriesRequest {
                vote,
                prev_log_id: Some(log_id(2, 8)),
                entries: vec![stored(EntryPayload::Normal(entries()[5].clone()))],
                leader_commit: Some(log_id(2, 8)),
            })),
        ),
        (
            "vote",
            req(RpcBody::Vote(VoteRequest::new(vote, Some(log_id(1, 3))))),
        ),
        (
            "write",
            req(RpcBody::ClientWrite(Box::new(entries()[0].clone()))),
        ),
        ("read-index", req(RpcBody::ReadIndex)),
        (
            "add-node",
            req(RpcBody::AddNode {
                node_id: 4,
                raft_addr: "127.0.0.1:7004".into(),
            }),
        ),
        ("transfer", req(RpcBody::TransferLeader { to: Some(2) })),
        (
            "gateway-notify",
            req(RpcBody::Gateway(to_document(&GatewayRequest::Notify {
                namespace: "ns".into(),
                user: "u1".into(),
                frame: "{}".into(),
            }))),
        ),
        ("leader-lost", req(RpcBody::LeaderLost { leader: 1 })),
    ];
    for (name, r) in rpcs {
        seeds.push(("raft_rpc", name, rpc::encode(&r)));
    }
    let resps: Vec<(&str, RpcResponse)> = vec![
        ("resp-read-index", RpcResponse::ReadIndex(Ok(41))),
        (
            "resp-not-leader",
            RpcResponse::Admin(Err(ForwardError::NotLeader { leader: Some(2) })),
        ),
        (
            "resp-refused",
            RpcResponse::Refused("unknown group 3".into()),
        ),
    ];
    for (name, r) in resps {
        seeds.push(("raft_rpc", name, rpc::encode(&r)));
    }

    let chunk = SnapshotChunk {
        vote,
        meta: snapshot_meta(),
        offset: 0,
        data: snapshot_body(),
        done: true,
    };
    seeds.push(("snapshot_chunk", "chunk", rpc::encode(&chunk)));
    seeds.push(("snapshot_chunk", "body", snapshot_body()));
    seeds.push((
        "snapshot_chunk",
        "stored",
        db::encode(&StoredSnapshot {
            meta: snapshot_meta(),
            data: snapshot_body(),
        }),
    ));

    let env = |event| Envelope {
        version: proto::event::ENVELOPE_VERSION,
        id: "0-12-0".into(),
        index: 12,
        seq: 0,
        at: 1_700_000_000_000,
        namespace_name: "ns".into(),
        room_name: Some("r.1".into()),
        event,
    };
    let envs = [
        (
            "posted",
            env(Event::MessagePosted {
                message_name: "m".into(),
                user_id: "u1".into(),
                category: 3,
                metadata: Some("hi".into()),
                created_at: 1_700_000_000_000,
            }),
        ),
        ("room-deleted", env(Event::RoomDeleted {})),
        (
            "subscribed",
            env(Event::Subscribed {
                user_id: "u1".into(),
                notification_types: vec![NotificationType {
                    category: Some(0),
                    enable_transfer_mobile_push_notification: Some(false),
                }],
            }),
        ),
        (
            "push",
            env(Event::MobilePushRequested {
                message_name: "m".into(),
                user_id: "u1".into(),
                category: 1,
                created_at: 5,
            }),
        ),
    ];
    for (name, e) in envs {
        seeds.push(("nats_envelope", name, serde_json::to_vec(&e).expect("json")));
    }

    for (target, name, data) in seeds {
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).expect("corpus dir");
        std::fs::write(dir.join(format!("seed-{name}")), data).expect("seed file");
    }
}
