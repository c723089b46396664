//! `chaos`: a seeded fault-injection harness that tries hard to make a `chat-node`
//! cluster lose, duplicate, reorder or misdeliver something, and says so when it does.
//!
//! Owns: running N real `chat-node` processes and `nats-server` on loopback with every
//! node→node and node→NATS link behind a proxy it controls, injecting a seeded schedule of
//! faults while clients post, read, subscribe and listen over WebSocket, then checking
//! what the clients saw against what every replica stores.
//! Does not own: the server (it only talks to it through its public API, the admin API
//! and signals).
//!
//! Layout:
//! - [`run`]: one scenario, phase by phase.
//! - [`proxy`]: controllable TCP proxies (pass, black-hole, refuse, delay, cut).
//! - [`cluster`]: node slots (addresses, start arguments, life; the processes are
//!   [`testkit::Node`] and [`testkit::NatsServer`]), proxies, membership, leader lookup,
//!   health and convergence.
//! - [`nemesis`]: the fault kinds and their seeded schedule.
//! - [`workload`]: posters, readers, subscription changes, WebSocket listeners.
//! - [`api`]: the harness's REST calling policy over [`testkit::Client`] (token per node,
//!   timeouts, avoider, stale reads); WebSocket listeners use [`testkit::WsClient`].
//! - [`history`]: what the clients and the nemesis observed.
//! - [`checker`]: one invariant per file.
//! - [`report`]: the human summary and the JSON report.
//!
//! Reproducibility: the seed fixes the fault order, timing and target choices, the
//! workload's rooms, categories and pacing; what the cluster does in response (who wins
//! an election, how long a restart takes) still varies, so a failing seed is a strong
//! starting point rather than an exact replay. Every report carries its seed and the
//! command that reruns it.

pub mod api;
pub mod checker;
pub mod cluster;
pub mod history;
pub mod nemesis;
pub mod proxy;
pub mod report;
pub mod run;
pub mod workload;
