//! Delivery accounting shared by the push scenarios (ours) and their references: each
//! delivery of post `seq` read by a subscriber is timed from the post's intended send time,
//! counted, and compared with what the acknowledged posts should have produced.

use crate::load::intended_at;
use crate::util::{new_hist, record, round};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 32;

pub struct Deliveries {
    t0: Instant,
    rate: f64,
    warm_n: u64,
    total_n: u64,
    shards: Vec<Mutex<Histogram<u64>>>,
    /// Deliveries of counted posts (seq ≥ warm_n).
    pub counted: AtomicU64,
    /// Every delivery, warmup included.
    pub received: AtomicU64,
    /// Deliveries whose seq was not one the generator sent (should stay 0).
    pub unknown: AtomicU64,
    /// Nanoseconds after `t0` of the last counted delivery.
    last_ns: AtomicU64,
    /// Acknowledged posts per room (seq ≥ warm_n).
    acked: Vec<AtomicU64>,
}

impl Deliveries {
    pub fn new(t0: Instant, rate: f64, warm_n: u64, total_n: u64, rooms: usize) -> Deliveries {
        Deliveries {
            t0,
            rate,
            warm_n,
            total_n,
            shards: (0..SHARDS).map(|_| Mutex::new(new_hist())).collect(),
            counted: AtomicU64::new(0),
            received: AtomicU64::new(0),
            unknown: AtomicU64::new(0),
            last_ns: AtomicU64::new(0),
            acked: (0..rooms.max(1)).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// A subscriber (number `who`) read the delivery of post `seq` at `at`.
    pub fn delivered(&self, who: usize, seq: u64, at: Instant) {
        self.received.fetch_add(1, Ordering::Relaxed);
        if seq >= self.total_n {
            self.unknown.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if seq < self.warm_n {
            return;
        }
        let due = intended_at(self.t0, self.rate, seq);
        record(
            &mut self.shards[who % SHARDS].lock().expect("hist"),
            at.saturating_duration_since(due),
        );
        self.counted.fetch_add(1, Ordering::Relaxed);
        let ns = at.saturating_duration_since(self.t0).as_nanos() as u64;
        self.last_ns.fetch_max(ns, Ordering::Relaxed);
    }

    /// Post `seq` to `room` was acknowledged.
    pub fn acked(&self, seq: u64, room: usize) {
        if seq >= self.warm_n {
            self.acked[room % self.acked.len()].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Deliveries the acknowledged counted posts should produce, given how many subscribers
    /// each room has.
    pub fn expected(&self, subs_per_room: &[usize]) -> u64 {
        self.acked
            .iter()
            .enumerate()
            .map(|(r, a)| {
                a.load(Ordering::Relaxed) * subs_per_room.get(r).copied().unwrap_or(0) as u64
            })
            .sum()
    }

    pub fn hist(&self) -> Histogram<u64> {
        let mut h = new_hist();
        for s in &self.shards {
            h.add(&*s.lock().expect("hist")).expect("same bounds");
        }
        h
    }

    /// Counted deliveries per second, from the intended time of the first counted post to
    /// the last counted delivery.
    pub fn rate_per_s(&self) -> f64 {
        let start = intended_at(self.t0, self.rate, self.warm_n);
        let last = self.t0 + Duration::from_nanos(self.last_ns.load(Ordering::Relaxed));
        let secs = last.saturating_duration_since(start).as_secs_f64();
        if secs <= 0.0 {
            0.0
        } else {
            self.counted.load(Ordering::Relaxed) as f64 / secs
        }
    }

    /// Waits until the counted deliveries reach `expected`, or nothing new arrived for
    /// `idle`, or `max` elapsed.
    pub async fn drain(&self, expected: impl Fn() -> u64, idle: Duration, max: Duration) {
        let started = Instant::now();
        let mut last = self.counted.load(Ordering::Relaxed);
        let mut last_change = Instant::now();
        loop {
            let now_count = self.counted.load(Ordering::Relaxed);
            if now_count >= expected() || started.elapsed() > max {
                return;
            }
            if now_count != last {
                last = now_count;
                last_change = Instant::now();
            } else if last_change.elapsed() > idle {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn summary(&self, subs_per_room: &[usize]) -> Value {
        let expected = self.expected(subs_per_room);
        let counted = self.counted.load(Ordering::Relaxed);
        json!({
            "expected_deliveries": expected,
            "counted_deliveries": counted,
            "missing": expected.saturating_sub(counted),
            "extra": counted.saturating_sub(expected),
            "received_total": self.received.load(Ordering::Relaxed),
            "unknown": self.unknown.load(Ordering::Relaxed),
            "deliveries_per_s": round(self.rate_per_s(), 1),
            "latency_from_intended_send": crate::util::hist_summary(&self.hist()),
        })
    }
}
