//! The run's report: a human summary on stdout and the same figures as JSON.
//!
//! Owns: turning the history and the checkers' verdict into figures (operations attempted
//! and acknowledged, faults by kind, the longest window without a successful write, the
//! time from each leader loss to the first successful write after it), the violation list
//! with the seed and a one-line reproduction command, and the summary text.
//! Does not own: deciding what is a violation (see [`crate::checker`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::checker::{Collector, INVARIANTS};
use crate::history::{ms, History, PostOutcome};
use crate::nemesis::FaultKind;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Operations {
    pub posts_attempted: u64,
    pub posts_acked: u64,
    pub posts_indeterminate: u64,
    pub posts_rejected: u64,
    pub http_attempts: u64,
    pub reads_attempted: u64,
    pub reads_checked: u64,
    pub reads_unanswered: u64,
    pub subscription_changes: u64,
    pub subscription_changes_acked: u64,
    pub ws_sessions: u64,
    pub ws_sessions_bound: u64,
    pub notifications_received: u64,
    pub notifications_required: u64,
    pub notifications_forbidden: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultEntry {
    pub kind: FaultKind,
    pub start_s: f64,
    pub healed_s: f64,
    pub recovered_s: f64,
    pub detail: String,
    pub leader_loss_s: Option<f64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gap {
    pub ms: u64,
    pub from_s: f64,
    pub to_s: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failover {
    /// One per leader loss, in milliseconds: the loss to the first acknowledged write
    /// whose request was sent after it.
    pub samples_ms: Vec<u64>,
    pub p50_ms: Option<u64>,
    pub max_ms: Option<u64>,
    /// Leader losses after which no write succeeded before the load ended.
    pub unresolved: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ViolationEntry {
    pub invariant: String,
    pub detail: String,
    pub seed: u64,
    pub repro: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub seed: u64,
    pub duration_secs: u64,
    pub nodes: usize,
    pub quick: bool,
    pub passed: bool,
    pub repro: String,
    pub elapsed_secs: f64,
    pub node_binary: String,
    pub operations: Operations,
    pub faults: BTreeMap<String, u64>,
    pub fault_log: Vec<FaultEntry>,
    pub longest_write_outage: Gap,
    pub failover: Failover,
    pub violation_counts: BTreeMap<String, usize>,
    pub violations: Vec<ViolationEntry>,
    pub checker_stats: BTreeMap<String, u64>,
    pub warnings: Vec<String>,
    pub final_members: Vec<u64>,
    pub logs_dir: Option<String>,
}

/// Percentile (nearest rank) of sorted `v`.
fn percentile(v: &[u64], p: f64) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

/// Inputs besides the history.
pub struct RunFacts {
    pub seed: u64,
    pub duration: Duration,
    pub nodes: usize,
    pub quick: bool,
    pub repro: String,
    pub node_binary: String,
    pub load_start: Instant,
    pub load_end: Instant,
    pub final_members: Vec<u64>,
    pub logs_dir: Option<String>,
}

pub fn build(h: &History, verdict: &Collector, facts: RunFacts) -> Report {
    let posts = h.posts.lock().expect("posts lock").clone();
    let subs = h.subs.lock().expect("subs lock").clone();
    let sessions = h.sessions_snapshot();
    let faults = h.faults.lock().expect("faults lock").clone();
    let reads = h.reads.lock().expect("reads lock").len() as u64;

    let mut acks: Vec<(Instant, Instant)> = posts
        .iter()
        .filter_map(|p| match &p.outcome {
            PostOutcome::Acked {
                at, attempt_sent, ..
            } => Some((*at, *attempt_sent)),
            _ => None,
        })
        .collect();
    acks.sort();
    let count = |f: fn(&PostOutcome) -> bool| posts.iter().filter(|p| f(&p.outcome)).count() as u64;

    // Longest window without an acknowledged write, within the load.
    let mut times: Vec<Instant> = vec![facts.load_start];
    times.extend(
        acks.iter()
            .map(|(a, _)| *a)
            .filter(|a| *a >= facts.load_start && *a <= facts.load_end),
    );
    times.push(facts.load_end);
    let mut gap = Gap {
        ms: 0,
        from_s: 0.0,
        to_s: 0.0,
    };
    for w in times.windows(2) {
        let d = w[1].saturating_duration_since(w[0]);
        if ms(d) > gap.ms {
            gap = Gap {
                ms: ms(d),
                from_s: h.secs(w[0]),
                to_s: h.secs(w[1]),
            };
        }
    }

    let mut samples = Vec::new();
    let mut unresolved = 0;
    for f in &faults {
        let Some(loss) = f.leader_loss else { continue };
        match acks
            .iter()
            .filter(|(_, sent)| *sent >= loss)
            .map(|(at, _)| *at)
            .min()
        {
            Some(at) => samples.push(ms(at.duration_since(loss))),
            None => unresolved += 1,
        }
    }
    samples.sort_unstable();

    let mut by_kind: BTreeMap<String, u64> = FaultKind::ALL
        .iter()
        .map(|k| (k.name().to_owned(), 0))
        .collect();
    for f in &faults {
        if !f.detail.starts_with("skipped") {
            *by_kind.entry(f.kind.name().to_owned()).or_default() += 1;
        }
    }
    let violation_counts: BTreeMap<String, usize> = INVARIANTS
        .iter()
        .map(|n| ((*n).to_owned(), verdict.counts.get(n).copied().unwrap_or(0)))
        .collect();
    let passed = violation_counts.values().all(|&n| n == 0);

    Report {
        seed: facts.seed,
        duration_secs: facts.duration.as_secs(),
        nodes: facts.nodes,
        quick: facts.quick,
        passed,
        repro: facts.repro.clone(),
        elapsed_secs: h.t0.elapsed().as_secs_f64(),
        node_binary: facts.node_binary,
        operations: Operations {
            posts_attempted: posts.len() as u64,
            posts_acked: acks.len() as u64,
            posts_indeterminate: count(|o| matches!(o, PostOutcome::Indeterminate { .. })),
            posts_rejected: count(|o| matches!(o, PostOutcome::Rejected { .. })),
            http_attempts: h.http_attempts.load(Ordering::Relaxed),
            reads_attempted: h.reads_attempted.load(Ordering::Relaxed),
            reads_checked: reads,
            reads_unanswered: h.reads_unanswered.load(Ordering::Relaxed),
            subscription_changes: subs.len() as u64,
            subscription_changes_acked: subs.iter().filter(|s| s.acked).count() as u64,
            ws_sessions: sessions.len() as u64,
            ws_sessions_bound: sessions.iter().filter(|s| s.bound.is_some()).count() as u64,
            notifications_received: sessions.iter().map(|s| s.received.len() as u64).sum(),
            notifications_required: verdict
                .stats
                .get("notifications required")
                .copied()
                .unwrap_or(0),
            notifications_forbidden: verdict
                .stats
                .get("notifications forbidden")
                .copied()
                .unwrap_or(0),
        },
        faults: by_kind,
        fault_log: faults
            .iter()
            .map(|f| FaultEntry {
                kind: f.kind,
                start_s: h.secs(f.started),
                healed_s: h.secs(f.healed),
                recovered_s: h.secs(f.recovered),
                detail: f.detail.clone(),
                leader_loss_s: f.leader_loss.map(|t| h.secs(t)),
                error: f.recovery_error.clone(),
            })
            .collect(),
        longest_write_outage: gap,
        failover: Failover {
            p50_ms: percentile(&samples, 0.5),
            max_ms: samples.last().copied(),
            samples_ms: samples,
            unresolved,
        },
        violation_counts,
        violations: verdict
            .kept
            .iter()
            .map(|v| ViolationEntry {
                invariant: v.invariant.to_owned(),
                detail: v.detail.clone(),
                seed: facts.seed,
                repro: facts.repro.clone(),
            })
            .collect(),
        checker_stats: verdict
            .stats
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect(),
        warnings: h.warnings.lock().expect("warnings lock").clone(),
        final_members: facts.final_members,
        logs_dir: facts.logs_dir,
    }
}

impl Report {
    pub fn write_json(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("create {}", dir.display()))?;
            }
        }
        let text = serde_json::to_string_pretty(self).context("encode report")?;
        std::fs::write(path, text).with_context(|| format!("write {}", path.display()))
    }

    /// The human summary.
    pub fn summary(&self) -> String {
        let o = &self.operations;
        let mut s = String::new();
        let mut line = |l: String| {
            s.push_str(&l);
            s.push('\n');
        };
        line(format!(
            "==== chaos summary: seed {} · {} s of faults · {} nodes{} · {:.0} s total ====",
            self.seed,
            self.duration_secs,
            self.nodes,
            if self.quick { " · quick" } else { "" },
            self.elapsed_secs
        ));
        line(format!(
            "posts:          {} attempted, {} acknowledged, {} indeterminate, {} refused ({} HTTP attempts)",
            o.posts_attempted, o.posts_acked, o.posts_indeterminate, o.posts_rejected, o.http_attempts
        ));
        line(format!(
            "reads:          {} after acks, {} answered, {} unanswered within the budget",
            o.reads_attempted, o.reads_checked, o.reads_unanswered
        ));
        line(format!(
            "subscriptions:  {} changes, {} acknowledged",
            o.subscription_changes, o.subscription_changes_acked
        ));
        line(format!(
            "websockets:     {} sessions ({} bound), {} notifications received; checked {} that must arrive, {} that must not",
            o.ws_sessions,
            o.ws_sessions_bound,
            o.notifications_received,
            o.notifications_required,
            o.notifications_forbidden
        ));
        let total: u64 = self.faults.values().sum();
        let kinds: Vec<String> = self
            .faults
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        line(format!("faults:         {total} ({})", kinds.join(", ")));
        line(format!(
            "write outage:   longest {} ms without an acknowledged write ({:.1}s → {:.1}s)",
            self.longest_write_outage.ms,
            self.longest_write_outage.from_s,
            self.longest_write_outage.to_s
        ));
        let f = &self.failover;
        line(format!(
            "failover:       {} leader losses, first write after p50 {} ms, max {} ms{}",
            f.samples_ms.len() + f.unresolved,
            f.p50_ms.map(|v| v.to_string()).unwrap_or("-".into()),
            f.max_ms.map(|v| v.to_string()).unwrap_or("-".into()),
            if f.unresolved > 0 {
                format!(", {} without a write before the end", f.unresolved)
            } else {
                String::new()
            }
        ));
        let failed: Vec<String> = self
            .fault_log
            .iter()
            .filter_map(|f| {
                f.error
                    .as_ref()
                    .map(|e| format!("{} at {:.0}s: {}", f.kind.name(), f.start_s, e))
            })
            .collect();
        if !failed.is_empty() {
            line(format!(
                "fault trouble:  {} fault(s) did not complete or recover cleanly:",
                failed.len()
            ));
            for f in &failed {
                line(format!("  - {f}"));
            }
        }
        if !self.warnings.is_empty() {
            line(format!(
                "warnings:       {} (see the JSON report)",
                self.warnings.len()
            ));
        }
        for (inv, n) in &self.violation_counts {
            line(format!(
                "  {:<36} {}",
                inv,
                if *n == 0 {
                    "ok".to_owned()
                } else {
                    format!("{n} VIOLATION(S)")
                }
            ));
        }
        if self.passed {
            line("RESULT: PASS (0 violations)".into());
        } else {
            let n: usize = self.violation_counts.values().sum();
            line(format!("RESULT: FAIL ({n} violations)"));
            for v in self.violations.iter().take(20) {
                line(format!("  [{}] {}", v.invariant, v.detail));
            }
            if self.violations.len() > 20 {
                line(format!(
                    "  … {} more in the JSON report",
                    self.violations.len() - 20
                ));
            }
            line(format!("reproduce: {}", self.repro));
            if let Some(d) = &self.logs_dir {
                line(format!(
                    "logs kept in {d} (harness.log, node-*/node.log, nats/nats-server.log)"
                ));
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentile() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[7], 0.5), Some(7));
        assert_eq!(percentile(&[1, 2, 3, 4], 0.5), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4, 5], 0.5), Some(3));
        assert_eq!(percentile(&[1, 2, 3, 4, 5], 1.0), Some(5));
    }
}
