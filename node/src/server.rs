//! Boot and shutdown, as a readable list of steps: open storage, bind ports, start Raft and its
//! peer port, bootstrap or wait to join, announce ports, serve the API, and on a signal stop
//! the API, then Raft, then the peer port.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use proto::command::{Outcome, Reply};
use tokio::net::TcpListener;

use crate::bus::local::LocalBus;
use crate::bus::nats::NatsBus;
use crate::bus::{relay, Bus};
use crate::clock::now_ms;
use crate::config::{Bootstrap, Config};
use crate::faces::gs2::{self as api, App, AppState};
use crate::gateway::fcm::Fcm;
use crate::gateway::sessions::Registry;
use crate::gateway::{fanout, mobile, push, Gateway};
use crate::lifecycle::Lifecycle;
use crate::raft::cluster::Cluster;
use crate::raft::network::{Network, PeerPool};
use crate::raft::{server as raft_server, Node, Raft, DEFAULT_GROUP};
use crate::storage::apply::DEDUP_TTL_MS;
use crate::storage::log_store::LogStore;
use crate::storage::state_machine::StateMachine;
use crate::storage::{Store, View};
use tokio_util::sync::CancellationToken;

/// How often the leader proposes the retention sweep.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// Rows one sweep entry deletes at most (a message counts once, with its indexes).
const SWEEP_CHUNK: u32 = 1_000;
/// Chunks proposed back to back before waiting for the next interval (a million rows a minute
/// at most, leaving the log to client writes in between).
const SWEEP_MAX_CHUNKS: usize = 1_000;
/// How long a stopping node waits for its tasks before it exits anyway.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

pub async fn run(config: Config) -> anyhow::Result<()> {
    let fresh = !config.data_dir.join("db").exists();
    std::fs::create_dir_all(&config.data_dir)?;
    let store = Store::open_for_node(&config.data_dir.join("db"), config.node_id)?;
    if let Some(path) = &config.restore_from {
        if !fresh {
            anyhow::bail!(
                "--restore-from needs a new data directory; {} already holds data",
                config.data_dir.display()
            );
        }
        let bytes = std::fs::read(path)?;
        let rows = crate::storage::state_machine::restore(&store, DEFAULT_GROUP, &bytes)?;
        tracing::info!(rows, from = %path.display(), "restored backup");
    }

    let raft_listener = TcpListener::bind(sticky_raft_addr(&config)).await?;
    let api_listener = TcpListener::bind(config.api_addr).await?;
    let raft_addr = raft_listener.local_addr()?;
    let api_addr = api_listener.local_addr()?;
    let advertised_raft = config
        .advertise_raft_addr
        .clone()
        .unwrap_or_else(|| raft_addr.to_string());

    // openraft's leader lease is the maximum election timeout; the failover watchdog needs it.
    let lease_ms = 2 * config.election_timeout_ms;
    let raft_config = openraft::Config {
        cluster_name: "chat".into(),
        heartbeat_interval: config.heartbeat_ms,
        election_timeout_min: config.election_timeout_ms,
        election_timeout_max: lease_ms,
        // Nodes snapshot at slightly different log lengths (up to +3/16), so a cluster's members
        // do not all read their whole state at the same moment.
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(
            config.snapshot_threshold + config.snapshot_threshold * (config.node_id % 4) / 16,
        ),
        max_in_snapshot_log_to_keep: (config.snapshot_threshold / 2).min(1000),
        // Snapshots travel in 1 MiB chunks; each chunk may take its time on a slow disk.
        snapshot_max_chunk_size: 1024 * 1024,
        install_snapshot_timeout: 10_000,
        ..Default::default()
    }
    .validate()?;
    let pool = PeerPool::with_overrides(config.dial_overrides.clone());
    let log_store = LogStore::new(store.clone(), DEFAULT_GROUP)?;
    let commit_index = log_store.commit_index();
    let raft = Raft::new(
        config.node_id,
        Arc::new(raft_config),
        Network {
            pool: pool.clone(),
            group: DEFAULT_GROUP,
        },
        log_store,
        StateMachine::new(store.clone(), DEFAULT_GROUP, config.data_dir.clone()),
    )
    .await?;
    // Every task is spawned on `life` and watches its token; a fatal error anywhere cancels it,
    // and the node stops instead of serving stale data.
    let life = Lifecycle::new();
    let cluster = Cluster::new(
        raft.clone(),
        config.node_id,
        DEFAULT_GROUP,
        pool,
        Duration::from_millis(lease_ms),
        commit_index,
        &life,
    );
    life.spawn(
        "raft-port",
        raft_server::serve(raft_listener, cluster.clone(), life.clone()),
    );
    life.spawn("raft-watch", watch_fatal(raft.clone(), life.clone()));

    bootstrap(&raft, &config, &advertised_raft).await?;
    if config.restore_from.is_some() {
        // Joining nodes must receive the restored views through a snapshot, not the (empty) log.
        seal_restore(&raft).await?;
    }
    write_ports(&config, api_addr, raft_addr)?;

    life.spawn_until(
        "raft-metrics",
        crate::raft::gauges::watch_raft(raft.clone()),
    );
    life.spawn("sweep", sweep_loop(cluster.clone(), life.token()));

    let registry = Registry::new(config.node_id);
    let registry_for_shutdown = registry.clone();
    cluster.serve_gateway(Arc::new(crate::gateway::peer::PeerCalls(registry.clone())));
    let (bus, deliveries) = match &config.nats {
        Some(nats) => {
            let (bus, d) = NatsBus::start(nats, &life).await?;
            (Bus::Nats(Box::new(bus)), d)
        }
        None => {
            let (bus, d) = LocalBus::new();
            (Bus::Local(bus), d)
        }
    };
    let view = View::new(store.clone(), DEFAULT_GROUP);
    let (mobile_tx, mobile_rx) = mobile::queue();
    let gateway = Arc::new(Gateway {
        registry: registry.clone(),
        cluster: cluster.clone(),
        fcm: Fcm::new(&config.fcm_endpoint),
        ws_send_queue: config.ws_send_queue,
        mobile: mobile_tx,
    });
    let relay = relay::run(cluster.clone(), view.clone(), bus.clone(), life.token());
    let relay_life = life.clone();
    life.spawn("relay", async move {
        if let Err(e) = relay.await {
            relay_life.fatal("relay", e);
        }
    });
    let stream = Arc::new(crate::faces::stream::StreamState::new(
        cluster.clone(),
        view.clone(),
        crate::faces::stream::auth::AppKeys::new(&config.stream_api_key, &config.stream_api_secret),
        gateway.clone(),
    ));
    let sinks: Vec<Arc<dyn fanout::EventSink>> = vec![stream.clone()];
    let fanout = fanout::run(
        cluster.clone(),
        view.clone(),
        registry,
        sinks,
        deliveries.fanout,
    );
    life.spawn_until("fanout", fanout);
    let push = push::run(gateway.clone(), view.clone(), deliveries.push);
    life.spawn_until("push", push);
    life.spawn_until("mobile", mobile::run(gateway.clone(), mobile_rx));

    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{api_addr}"));
    let app: App = Arc::new(AppState {
        cluster: cluster.clone(),
        view,
        tokens: api::auth::Tokens::rotating(
            &config.client_id,
            &config.client_secret,
            &config.previous_client_secrets,
        ),
        render: api::render::Renderer::new(&config.region, &config.owner_id),
        public_url: public_url.trim_end_matches('/').to_string(),
        owner_id: config.owner_id.clone(),
        gateway,
        bus,
    });
    announce(&config, api_addr, raft_addr);

    let router = crate::faces::router(app, stream);
    let handoff_cluster = cluster.clone();
    let handoff_registry = registry_for_shutdown;
    let stopping = life.clone();
    axum::serve(api_listener, router)
        .with_graceful_shutdown(async move {
            tokio::select! {
                _ = shutdown_signal() => handoff(&handoff_cluster, &handoff_registry).await,
                // A fatal error: no handoff (Raft has stopped); clients reconnect elsewhere.
                _ = stopping.stopping() => {
                    handoff_registry.close_all(crate::gateway::sessions::CLOSE_RESTART, "node stopped on an error; reconnect");
                }
            }
        })
        .await?;

    tracing::info!("api stopped; shutting down raft");
    life.token().cancel();
    if let Err(e) = raft.shutdown().await {
        tracing::warn!(error = %e, "raft shutdown failed");
    }
    life.shutdown(SHUTDOWN_DEADLINE).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Raft stopped by a fatal error (a storage error in the log or in apply) stops the node.
async fn watch_fatal(raft: Raft, life: Lifecycle) {
    let mut rx = raft.metrics();
    loop {
        if let Err(e) = &rx.borrow_and_update().running_state {
            life.fatal("raft", e);
            return;
        }
        tokio::select! {
            changed = rx.changed() => if changed.is_err() {
                if !life.is_stopping() {
                    life.fatal("raft", "raft stopped");
                }
                return;
            },
            _ = life.stopping() => return,
        }
    }
}

async fn bootstrap(raft: &Raft, config: &Config, advertised: &str) -> anyhow::Result<()> {
    if raft.is_initialized().await? {
        return Ok(());
    }
    let members: BTreeMap<u64, Node> = match &config.bootstrap {
        Bootstrap::Join => {
            tracing::info!("waiting to be added to a cluster (--join)");
            return Ok(());
        }
        Bootstrap::Single => BTreeMap::from([(
            config.node_id,
            Node {
                addr: advertised.to_string(),
            },
        )]),
        Bootstrap::Members(list) => {
            let lowest = list.iter().map(|(id, _)| *id).min();
            if lowest != Some(config.node_id) {
                tracing::info!("waiting for the lowest-id member to bootstrap the cluster");
                return Ok(());
            }
            list.iter()
                .map(|(id, addr)| (*id, Node { addr: addr.clone() }))
                .collect()
        }
    };
    tracing::info!(members = ?members.keys().collect::<Vec<_>>(), "initializing cluster");
    raft.initialize(members).await?;
    Ok(())
}

/// Peers know a node by the Raft address in the membership, so a node asked for an ephemeral
/// Raft port (`:0`) keeps the port it got at first start (recorded in `ports.json`).
fn sticky_raft_addr(config: &Config) -> std::net::SocketAddr {
    let mut addr = config.raft_addr;
    if addr.port() != 0 {
        return addr;
    }
    let previous = std::fs::read(config.data_dir.join("ports.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["raft"].as_str()?.parse::<std::net::SocketAddr>().ok());
    if let Some(prev) = previous.filter(|p| p.ip() == addr.ip()) {
        addr.set_port(prev.port());
    }
    addr
}

/// Writes `ports.json` atomically, so tests and tools learn ephemeral ports.
fn write_ports(
    config: &Config,
    api: std::net::SocketAddr,
    raft: std::net::SocketAddr,
) -> anyhow::Result<()> {
    let doc = serde_json::json!({
        "nodeId": config.node_id,
        "api": api.to_string(),
        "raft": raft.to_string(),
    });
    let path = config.data_dir.join("ports.json");
    let tmp = config.data_dir.join("ports.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(&doc)?)?;
    std::fs::rename(tmp, path)?;
    Ok(())
}

fn announce(config: &Config, api: std::net::SocketAddr, raft: std::net::SocketAddr) {
    tracing::info!(node_id = config.node_id, %api, %raft, data_dir = %config.data_dir.display(), "chat-node listening");
    println!(
        "chat-node {} listening: api http://{api}  raft {raft}",
        config.node_id
    );
    if config.generated_credentials {
        println!(
            "development credentials (generated; pass --client-id/--client-secret to fix them):"
        );
        println!(
            "  client_id={}  client_secret={}",
            config.client_id, config.client_secret
        );
    } else {
        println!("project client_id={}", config.client_id);
    }
    if config.generated_stream_credentials {
        println!(
            "Stream development app (generated; pass --stream-api-key/--stream-api-secret to fix it):"
        );
        println!(
            "  api_key={}  api_secret={}",
            config.stream_api_key, config.stream_api_secret
        );
    } else {
        println!("Stream api_key={}", config.stream_api_key);
    }
    println!(
        "log in: curl -s -X POST http://{api}/identifier/projectToken/login -H 'Content-Type: application/json' -d '{{\"client_id\":\"{}\",\"client_secret\":\"<secret>\"}}'",
        config.client_id
    );
}

/// On the leader, periodically replicates a retention sweep so every replica deletes the same
/// expired messages and stale idempotency records.
async fn sweep_loop(cluster: Cluster, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_INTERVAL) => {}
            _ = stop.cancelled() => return,
        }
        if cluster.status().leader_id != Some(cluster.node_id()) {
            continue;
        }
        // One chunk per entry, proposed again at once while the last one stopped at its limit:
        // no single apply holds an unbounded delete.
        for _ in 0..SWEEP_MAX_CHUNKS {
            let cmd = proto::command::Command::Sweep {
                dedup_before_ms: now_ms() - DEDUP_TTL_MS,
                limit: Some(SWEEP_CHUNK),
            };
            match cluster.write(cmd, None).await {
                Ok(Reply::Ok(Outcome::Swept { more: true })) if !stop.is_cancelled() => {}
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "retention sweep failed");
                    break;
                }
            }
        }
    }
}

/// Before stopping: hand leadership to another voter, and tell WebSocket clients to reconnect
/// elsewhere.
async fn handoff(cluster: &Cluster, registry: &Registry) {
    if cluster.is_leader() && cluster.members().len() > 1 {
        match cluster.transfer_leader(None).await {
            Ok(to) => tracing::info!(to, "leadership handed over for shutdown"),
            Err(e) => tracing::warn!(error = %e, "could not hand leadership over"),
        }
    }
    let closed = registry.close_all(
        crate::gateway::sessions::CLOSE_RESTART,
        "node shutting down; reconnect",
    );
    tracing::info!(closed, "websocket clients told to reconnect");
    // Let the writers flush their close frames.
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// Snapshots the restored state and purges the log behind it.
async fn seal_restore(raft: &Raft) -> anyhow::Result<()> {
    raft.wait(Some(Duration::from_secs(10)))
        .metrics(|m| m.current_leader.is_some(), "leader after restore")
        .await?;
    raft.trigger().snapshot().await?;
    let m = raft
        .wait(Some(Duration::from_secs(30)))
        .metrics(|m| m.snapshot.is_some(), "snapshot after restore")
        .await?;
    if let Some(s) = m.snapshot {
        raft.trigger().purge_log(s.index).await?;
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received");
}
