//! Prometheus metrics: one registry, served at `/metrics`.
//!
//! Raft gauges are refreshed from openraft's metrics channel by [`watch_raft`]; RocksDB sizes
//! are read when scraped.

use std::sync::LazyLock;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

pub static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

fn register<T: prometheus::core::Collector + Clone + 'static>(c: T) -> T {
    REGISTRY
        .register(Box::new(c.clone()))
        .expect("metric names are unique");
    c
}

pub static HTTP_REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register(
        IntCounterVec::new(
            Opts::new("chat_requests_total", "API requests by method and status"),
            &["method", "status"],
        )
        .expect("valid metric"),
    )
});

pub static HTTP_LATENCY: LazyLock<HistogramVec> = LazyLock::new(|| {
    register(
        HistogramVec::new(
            HistogramOpts::new("chat_request_seconds", "API request latency by method")
                .buckets(prometheus::exponential_buckets(0.0005, 2.0, 16).expect("valid")),
            &["method"],
        )
        .expect("valid metric"),
    )
});

/// A histogram of batch sizes: 1, 2, 4, … 2048 entries.
fn batch_sizes(name: &str, help: &str) -> Histogram {
    register(
        Histogram::with_opts(
            HistogramOpts::new(name, help)
                .buckets(prometheus::exponential_buckets(1.0, 2.0, 12).expect("valid")),
        )
        .expect("valid metric"),
    )
}

pub static APPLY_BATCH: LazyLock<Histogram> =
    LazyLock::new(|| batch_sizes("chat_apply_batch_entries", "Writes per apply batch"));

pub static LOG_APPEND_BATCH: LazyLock<Histogram> = LazyLock::new(|| {
    batch_sizes(
        "chat_log_append_batch_entries",
        "Log entries per fsync'd append (group commit)",
    )
});

pub static RAFT: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register(
        IntGaugeVec::new(
            Opts::new(
                "chat_raft",
                "Raft state: term, leader, last_log_index, applied_index, snapshot_index, is_leader",
            ),
            &["field"],
        )
        .expect("valid metric"),
    )
});

pub static RAFT_COMMIT_INDEX: LazyLock<IntGauge> = LazyLock::new(|| {
    register(
        IntGauge::new(
            "chat_raft_commit_index",
            "Highest committed log index known here",
        )
        .expect("valid metric"),
    )
});

pub static ROCKSDB_BYTES: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register(
        IntGaugeVec::new(
            Opts::new(
                "chat_rocksdb_live_bytes",
                "Estimated live data size per column family",
            ),
            &["cf"],
        )
        .expect("valid metric"),
    )
});

pub static WS_CONNECTIONS: LazyLock<IntGauge> = LazyLock::new(|| {
    register(IntGauge::new("chat_ws_connections", "Open WebSocket connections").expect("valid"))
});

pub static WS_OVERFLOW_CLOSED: LazyLock<IntCounter> = LazyLock::new(|| {
    register(
        IntCounter::new(
            "chat_ws_overflow_closed_total",
            "WebSocket connections closed because their send queue was full",
        )
        .expect("valid"),
    )
});

pub static PUSH_SENT: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register(
        IntCounterVec::new(
            Opts::new("chat_push_sent_total", "FCM push requests by result"),
            &["result"],
        )
        .expect("valid"),
    )
});

pub static BUS_PUBLISHED: LazyLock<IntCounter> = LazyLock::new(|| {
    register(
        IntCounter::new(
            "chat_bus_published_total",
            "Outbox events published to the bus",
        )
        .expect("valid"),
    )
});

pub static NATS_CONNECTED: LazyLock<IntGauge> = LazyLock::new(|| {
    register(
        IntGauge::new(
            "chat_nats_connected",
            "1 when connected to NATS, 0 otherwise",
        )
        .expect("valid"),
    )
});

pub static FANOUT_SECONDS: LazyLock<Histogram> = LazyLock::new(|| {
    register(
        Histogram::with_opts(
            HistogramOpts::new(
                "chat_fanout_seconds",
                "Time to fan one post out to local sessions",
            )
            .buckets(prometheus::exponential_buckets(0.00005, 2.0, 16).expect("valid")),
        )
        .expect("valid"),
    )
});

/// Renders every metric in the Prometheus text format.
/// Gauges read at scrape time (RocksDB sizes) are set by their owner before this is called.
pub fn render() -> String {
    LazyLock::force(&APPLY_BATCH);
    LazyLock::force(&LOG_APPEND_BATCH);
    LazyLock::force(&HTTP_REQUESTS);
    LazyLock::force(&HTTP_LATENCY);
    LazyLock::force(&RAFT_COMMIT_INDEX);
    LazyLock::force(&WS_CONNECTIONS);
    LazyLock::force(&WS_OVERFLOW_CLOSED);
    LazyLock::force(&PUSH_SENT);
    LazyLock::force(&BUS_PUBLISHED);
    LazyLock::force(&NATS_CONNECTED);
    LazyLock::force(&FANOUT_SECONDS);
    let mut buf = Vec::new();
    let _ = TextEncoder::new().encode(&REGISTRY.gather(), &mut buf);
    String::from_utf8(buf).unwrap_or_default()
}
