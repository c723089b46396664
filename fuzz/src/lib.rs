//! Fuzz targets: one plain function per decoder that takes bytes from outside (clients, peers,
//! the bus) or from disk (log, snapshots). Each calls the real decoder of `proto` or `node` and
//! checks what is cheap to check: no panic on any input, and where a value decodes, encoding it
//! and decoding again gives the same value.
//!
//! The afl binaries in `src/bin/` (feature `afl`) call these functions; `tests/corpus.rs`
//! replays the committed corpora through them in `cargo test`. This crate owns no decoder.

use axum::http::Method;
use bytes::Bytes;
use node::faces::gs2::http::{decode_params, path_segments};
use node::faces::gs2::request::{Caller, Req};
use node::faces::gs2::routes;
use node::faces::gs2::ws::decode_request_frame;
use node::faces::http::decode_body;
use node::raft::cluster::Consistency;
use node::raft::rpc::{self, RpcBody, RpcRequest, RpcResponse, SnapshotChunk};
use node::raft::TypeConfig;
use node::storage::db;
use node::storage::state_machine::{SnapshotBody, StoredSnapshot};
use openraft::raft::InstallSnapshotRequest;
use proto::command::LogEntry;
use proto::event::Envelope;
use serde_json::{Map, Value};

/// A fuzz target: takes any bytes, panics only on a bug.
pub type Target = fn(&[u8]);

/// Every target, by name: the corpus folder `corpus/<name>/` and the binary `<name>`.
pub const TARGETS: &[(&str, Target)] = &[
    ("rest_body", rest_body),
    ("rest_query", rest_query),
    ("ws_frame", ws_frame),
    ("log_entry", log_entry),
    ("raft_rpc", raft_rpc),
    ("snapshot_chunk", snapshot_chunk),
    ("nats_envelope", nats_envelope),
];

/// A REST body. First byte: bit 0 `Content-Encoding: gzip`, bit 1 a raw-body (upload) route;
/// the rest is the body.
pub fn rest_body(data: &[u8]) {
    let Some((&flags, body)) = data.split_first() else {
        return;
    };
    let (gzip, raw) = (flags & 1 != 0, flags & 2 != 0);
    let Ok(bytes) = decode_body(gzip, Bytes::copy_from_slice(body)) else {
        return;
    };
    if let Ok((params, raw_bytes)) = decode_params(raw, bytes, None) {
        assert!(raw || raw_bytes.is_none());
        read_fields(params);
    }
}

/// A request target `path?query` (as UTF-8): path segments, route lookup for every method,
/// and the query string into fields.
pub fn rest_query(data: &[u8]) {
    let Ok(target) = std::str::from_utf8(data) else {
        return;
    };
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let segments = path_segments(path);
    assert!(segments.iter().all(|s| !s.is_empty()));
    if let Some((service, rest)) = segments.split_first() {
        for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
            if let Some((route, path_params)) = routes::find(&method, service, rest) {
                assert_eq!(route.method, method);
                read_fields(path_params);
            }
        }
    }
    if let Ok((params, _)) = decode_params(false, Bytes::new(), query) {
        read_fields(params);
    }
}

/// A WebSocket text frame (GS2 request frame with its `x_gs2` header).
pub fn ws_frame(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(frame) = decode_request_frame(text) {
        assert!(!frame.params.contains_key("x_gs2"));
        let _ = routes::find_by_name(&frame.service, &frame.component, &frame.function);
        read_fields(frame.params);
    }
}

/// A Raft log entry: the application entry (`proto` LogEntry) and the stored openraft entry.
pub fn log_entry(data: &[u8]) {
    if let Ok(entry) = LogEntry::decode(data) {
        let again = LogEntry::decode(&entry.encode()).expect("an encoded entry decodes");
        assert_eq!(again, entry);
        for part in entry.parts() {
            let _ = (part.cmd.kind(), part.cmd.clone());
        }
    }
    if let Ok(stored) = db::decode::<openraft::Entry<TypeConfig>>("log", data) {
        round_trip_bytes::<openraft::Entry<TypeConfig>>(&db::encode(&stored));
    }
}

/// A frame on the Raft port: a request (as the server reads it) and a response (as the
/// client reads it).
pub fn raft_rpc(data: &[u8]) {
    if let Ok(req) = rpc::decode::<RpcRequest>(data) {
        round_trip_bytes::<RpcRequest>(&rpc::encode(&req));
    }
    if let Ok(resp) = rpc::decode::<RpcResponse>(data) {
        round_trip_bytes::<RpcResponse>(&rpc::encode(&resp));
    }
}

/// A snapshot chunk (RPC body), the snapshot payload a follower installs, and the snapshot
/// file or backup read from disk.
pub fn snapshot_chunk(data: &[u8]) {
    if let Ok(chunk) = rpc::decode::<SnapshotChunk>(data) {
        let req: InstallSnapshotRequest<TypeConfig> = chunk.into();
        let back = SnapshotChunk::from(req.clone());
        let again: InstallSnapshotRequest<TypeConfig> = back.into();
        assert_eq!(again, req);
        round_trip_bytes::<RpcBody>(&rpc::encode(&RpcBody::SnapshotChunk(again.into())));
    }
    if let Ok(body) = db::decode::<SnapshotBody>("snapshot", data) {
        let _ = (body.format, body.rows.len());
    }
    if let Ok(stored) = db::decode::<StoredSnapshot>("snapshot", data) {
        round_trip_bytes::<StoredSnapshot>(&db::encode(&stored));
        let _ = db::decode::<SnapshotBody>("snapshot", &stored.data);
    }
}

/// An event as received from NATS JetStream (JSON envelope).
pub fn nats_envelope(data: &[u8]) {
    if let Ok(env) = serde_json::from_slice::<Envelope>(data) {
        let json = serde_json::to_vec(&env).expect("an envelope encodes");
        let again: Envelope = serde_json::from_slice(&json).expect("an encoded envelope decodes");
        assert_eq!(again, env);
        let _ = (env.subject(), env.event.kind(), env.event.post());
    }
}

/// `bytes` is an encoding of a value; decoding and encoding it again gives the same bytes.
fn round_trip_bytes<T: serde::Serialize + serde::de::DeserializeOwned>(bytes: &[u8]) {
    let value: T = rmp_serde::from_slice(bytes).expect("an encoded value decodes");
    let again = rmp_serde::to_vec_named(&value).expect("a decoded value encodes");
    assert_eq!(again, bytes, "encoding is not stable over a round trip");
}

/// Reads every field the way handlers do (typed getters, master-data settings).
fn read_fields(params: Map<String, Value>) {
    let keys: Vec<String> = params.keys().cloned().collect();
    let req = Req {
        params,
        caller: Caller::Anonymous,
        duplication_avoider: None,
        consistency: Consistency::ReadYourWrites,
        raw: None,
        connection: None,
    };
    for k in &keys {
        let _ = req.opt_i64(k);
        let _ = req.opt_bool(k);
        let _ = req.opt::<Vec<String>>(k);
        if let Ok(Some(s)) = req.opt_str(k) {
            let _ = proto::gs2::validate::master_settings(&s);
        }
    }
}
