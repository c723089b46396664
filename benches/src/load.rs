//! The two load engines every scenario and every reference run uses, so ours and the
//! references are driven by the same generator:
//!
//! - [`closed_loop`]: `workers` tasks, each sending its next request when the previous one is
//!   answered (sustained throughput at a fixed concurrency).
//! - [`open_loop`]: requests scheduled at fixed intended times (`t0 + seq / rate`) and handed to
//!   a pool of `workers`; latency is measured from the intended send time, so a stall delays
//!   every request behind it and shows up in the histogram (no coordinated omission).

use crate::util::{new_hist, record};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;

/// The future of one request of a load run: `Err` says why it failed.
pub trait Request: Future<Output = Result<(), String>> + Send + 'static {}

impl<T: Future<Output = Result<(), String>> + Send + 'static> Request for T {}

/// What one load run measured (only requests completing inside the measurement window).
pub struct LoadResult {
    pub ok: u64,
    pub errors: u64,
    /// Open loop: scheduled requests that could not even start before the drain deadline.
    pub dropped: u64,
    /// Length of the measurement window.
    pub window: Duration,
    /// Latency of successful requests (µs); open loop: from the intended send time.
    pub hist: Histogram<u64>,
    pub first_error: Option<String>,
    /// Open loop: the offered rate (req/s).
    pub offered: Option<f64>,
}

impl LoadResult {
    /// Successful requests per second over the window.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64().max(1e-9)
    }

    pub fn summary(&self) -> Value {
        json!({
            "ok": self.ok,
            "errors": self.errors,
            "dropped": self.dropped,
            "window_s": crate::util::round(self.window.as_secs_f64(), 3),
            "rate_per_s": crate::util::round(self.rate(), 1),
            "offered_per_s": self.offered.map(|r| crate::util::round(r, 1)),
            "latency": crate::util::hist_summary(&self.hist),
            "first_error": self.first_error,
        })
    }
}

struct WorkerOut {
    ok: u64,
    errors: u64,
    dropped: u64,
    hist: Histogram<u64>,
    first_error: Option<String>,
}

impl WorkerOut {
    fn new() -> WorkerOut {
        WorkerOut {
            ok: 0,
            errors: 0,
            dropped: 0,
            hist: new_hist(),
            first_error: None,
        }
    }

    /// A failed request: counted if `counted`; the first error is kept.
    fn error(&mut self, e: String, counted: bool) {
        if counted {
            self.errors += 1;
        }
        if self.first_error.is_none() {
            self.first_error = Some(e);
        }
    }
}

/// Spawns `worker(w)` for every `w` in `0..workers`.
fn spawn_workers<W, Fut>(workers: usize, worker: W) -> Vec<JoinHandle<WorkerOut>>
where
    W: Fn(usize) -> Fut,
    Fut: Future<Output = WorkerOut> + Send + 'static,
{
    (0..workers).map(|w| tokio::spawn(worker(w))).collect()
}

/// What every worker that did not panic measured.
async fn join_workers(handles: Vec<JoinHandle<WorkerOut>>) -> Vec<WorkerOut> {
    let mut outs = Vec::with_capacity(handles.len());
    for h in handles {
        if let Ok(o) = h.await {
            outs.push(o);
        }
    }
    outs
}

fn merge(outs: Vec<WorkerOut>, window: Duration, offered: Option<f64>) -> LoadResult {
    let mut r = LoadResult {
        ok: 0,
        errors: 0,
        dropped: 0,
        window,
        hist: new_hist(),
        first_error: None,
        offered,
    };
    for o in outs {
        r.ok += o.ok;
        r.errors += o.errors;
        r.dropped += o.dropped;
        r.hist.add(&o.hist).expect("same bounds");
        if r.first_error.is_none() {
            r.first_error = o.first_error;
        }
    }
    r
}

/// `workers` tasks loop on `op(worker, seq)` for `warmup + duration`; completions after the
/// warmup are counted. `seq` is unique across workers.
pub async fn closed_loop<Fut: Request>(
    workers: usize,
    warmup: Duration,
    duration: Duration,
    op: impl Fn(usize, u64) -> Fut + Send + Sync + 'static,
) -> LoadResult {
    let op = Arc::new(op);
    let seq = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let measure_from = t0 + warmup;
    let end = measure_from + duration;
    let handles = spawn_workers(workers, |w| {
        let op = op.clone();
        let seq = seq.clone();
        async move {
            let mut out = WorkerOut::new();
            loop {
                let start = Instant::now();
                if start >= end {
                    break;
                }
                let s = seq.fetch_add(1, Ordering::Relaxed);
                let r = op(w, s).await;
                let done = Instant::now();
                let counted = done >= measure_from && done <= end;
                match r {
                    Ok(()) if counted => {
                        out.ok += 1;
                        record(&mut out.hist, done - start);
                    }
                    Ok(()) => {}
                    Err(e) => {
                        out.error(e, counted);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            }
            out
        }
    });
    merge(join_workers(handles).await, duration, None)
}

/// A start instant a little in the future, so workers are up before the first request is due.
pub fn start_soon() -> Instant {
    Instant::now() + Duration::from_millis(50)
}

/// When request `seq` of an open loop started at `t0` with `rate` is due.
pub fn intended_at(t0: Instant, rate: f64, seq: u64) -> Instant {
    t0 + Duration::from_secs_f64(seq as f64 / rate.max(0.001))
}

/// The first `seq` counted after a warmup.
pub fn warm_count(warmup: Duration, rate: f64) -> u64 {
    (warmup.as_secs_f64() * rate).ceil() as u64
}

/// Requests `seq = 0, 1, …` are due at `t0 + seq / rate` for `warmup + duration`, executed by
/// `workers` tasks as they free up; latency is `completion - intended time`. Requests due in
/// the warmup are sent but not counted. Work still queued `drain` after the end is dropped.
#[allow(clippy::too_many_arguments)]
pub async fn open_loop<Fut: Request>(
    t0: Instant,
    rate: f64,
    warmup: Duration,
    duration: Duration,
    drain: Duration,
    workers: usize,
    op: impl Fn(usize, u64) -> Fut + Send + Sync + 'static,
) -> LoadResult {
    let rate = rate.max(0.001);
    let total = ((warmup + duration).as_secs_f64() * rate).floor() as u64;
    let warm_n = warm_count(warmup, rate);
    let op = Arc::new(op);
    let (tx, rx) = mpsc::unbounded_channel::<u64>();
    let rx = Arc::new(Mutex::new(rx));
    let intended = move |seq: u64| intended_at(t0, rate, seq);
    let hard_end = t0 + warmup + duration + drain;
    let handles = spawn_workers(workers, |w| {
        let op = op.clone();
        let rx = rx.clone();
        async move {
            let mut out = WorkerOut::new();
            loop {
                let next = rx.lock().await.recv().await;
                let Some(s) = next else { break };
                let due = intended(s);
                if Instant::now() > hard_end {
                    if s >= warm_n {
                        out.dropped += 1;
                    }
                    continue;
                }
                let r = op(w, s).await;
                let done = Instant::now();
                if s < warm_n {
                    continue;
                }
                match r {
                    Ok(()) => {
                        out.ok += 1;
                        record(&mut out.hist, done.saturating_duration_since(due));
                    }
                    Err(e) => out.error(e, true),
                }
            }
            out
        }
    });
    // The dispatcher: release every request whose intended time has come.
    let mut next = 0u64;
    while next < total {
        let now = Instant::now();
        while next < total && intended(next) <= now {
            let _ = tx.send(next);
            next += 1;
        }
        if next < total {
            let wake = intended(next);
            tokio::time::sleep_until(tokio::time::Instant::from_std(wake)).await;
        }
    }
    drop(tx);
    merge(join_workers(handles).await, duration, Some(rate))
}
