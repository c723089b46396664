//! Injecting one fault of each kind and healing it (the schedule is in the parent).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rand::seq::SliceRandom;
use rand::Rng;

use super::{FaultKind, Injected, Nemesis, RECOVERY_TIMEOUT};
use crate::proxy::Mode;

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Hold => "black-hole",
        Mode::Refuse => "refuse",
        Mode::Pass => "pass",
    }
}

impl Nemesis {
    /// The members in a seeded random order.
    fn shuffled_members(&mut self) -> Vec<u64> {
        let mut m = self.cluster.members();
        m.shuffle(&mut self.rng);
        m
    }

    /// Keeps the link fault for `hold`, then puts every link back to pass.
    async fn hold_links(&self, hold: Duration) {
        tokio::time::sleep(hold).await;
        self.cluster.heal_links();
    }

    /// Cuts each of `groups` off from the others (both ways, a seeded mode) for `hold`,
    /// then heals. Returns the mode and when the cut was made.
    async fn partition_for(&mut self, groups: &[Vec<u64>], hold: Duration) -> (Mode, Instant) {
        let mode = self.mode();
        self.cluster.partition(groups, mode);
        let at = Instant::now();
        self.hold_links(hold).await;
        (mode, at)
    }

    pub(super) async fn inject(&mut self, kind: FaultKind, hold: Duration) -> Result<Injected> {
        let mut loss = None;
        let detail = match kind {
            FaultKind::KillRestart => {
                let (t, leader) = self.target().await;
                self.cluster.node_mut(t).kill();
                if Some(t) == leader {
                    loss = Some(Instant::now());
                }
                tokio::time::sleep(hold).await;
                self.cluster.start_node(t).await?;
                format!("node {t}{} down {hold:.1?}", role(t, leader))
            }
            FaultKind::Pause => {
                let (t, leader) = self.target().await;
                self.cluster.node_mut(t).pause()?;
                if Some(t) == leader {
                    loss = Some(Instant::now());
                }
                tokio::time::sleep(hold).await;
                self.cluster.node_mut(t).resume()?;
                format!("node {t}{} stopped {hold:.1?}", role(t, leader))
            }
            FaultKind::IsolateLeader => {
                let leader = self
                    .cluster
                    .leader()
                    .await
                    .context("no leader to isolate")?;
                let others = self.cluster.members_except(leader);
                let (mode, at) = self.partition_for(&[vec![leader], others], hold).await;
                loss = Some(at);
                format!(
                    "leader {leader} cut off ({}) for {hold:.1?}",
                    mode_name(mode)
                )
            }
            FaultKind::PartitionMinority => {
                let leader = self.cluster.leader().await;
                let members = self.shuffled_members();
                let k = ((members.len() - 1) / 2).max(1);
                let minority = members[..k].to_vec();
                let majority = members[k..].to_vec();
                let groups = [minority.clone(), majority.clone()];
                let (mode, at) = self.partition_for(&groups, hold).await;
                if leader.is_some_and(|l| minority.contains(&l)) {
                    loss = Some(at);
                }
                format!(
                    "{minority:?} | {majority:?} ({}, leader was {leader:?}) for {hold:.1?}",
                    mode_name(mode)
                )
            }
            FaultKind::PartitionMajority => {
                let leader = self.cluster.leader().await;
                let ring = self.shuffled_members();
                let n = ring.len();
                let mode = self.mode();
                let mut cut = Vec::new();
                for i in 0..n {
                    for j in (i + 1)..n {
                        let adjacent = j == i + 1 || (i == 0 && j == n - 1);
                        // With 3 nodes a ring is complete: cut one pair (a bridge).
                        let drop = if n == 3 { (i, j) == (0, 2) } else { !adjacent };
                        if drop {
                            self.cluster.block(&[ring[i]], &[ring[j]], mode);
                            self.cluster.block(&[ring[j]], &[ring[i]], mode);
                            cut.push((ring[i], ring[j]));
                        }
                    }
                }
                self.hold_links(hold).await;
                format!(
                    "overlapping majorities, cut pairs {cut:?} ({}, leader was {leader:?}) for {hold:.1?}",
                    mode_name(mode)
                )
            }
            FaultKind::PartitionAsymmetric => {
                let (t, leader) = self.target().await;
                let others = self.cluster.members_except(t);
                let outgoing = self.rng.gen_bool(0.5);
                let mode = self.mode();
                if outgoing {
                    self.cluster.block(&[t], &others, mode);
                    if Some(t) == leader {
                        loss = Some(Instant::now());
                    }
                } else {
                    self.cluster.block(&others, &[t], mode);
                }
                self.hold_links(hold).await;
                format!(
                    "node {t}{} {} links blocked ({}) for {hold:.1?}",
                    role(t, leader),
                    if outgoing { "outgoing" } else { "incoming" },
                    mode_name(mode)
                )
            }
            FaultKind::SlowLinks => {
                let delay = Duration::from_millis(self.rng.gen_range(20..250));
                let jitter = Duration::from_millis(self.rng.gen_range(0..50));
                let members = self.cluster.members();
                let hold = hold * 3 / 2;
                let scope = if self.rng.gen_bool(0.5) {
                    for &a in &members {
                        for &b in &members {
                            if a != b {
                                self.cluster.link(a, b).set_delay(delay, jitter);
                            }
                        }
                    }
                    "every Raft link".to_owned()
                } else {
                    let t = self.pick(&members);
                    for &b in &members {
                        if b != t {
                            self.cluster.link(t, b).set_delay(delay, jitter);
                            self.cluster.link(b, t).set_delay(delay, jitter);
                        }
                    }
                    self.cluster.nats_link(t).set_delay(delay, jitter);
                    format!("every link of node {t} (Raft and NATS)")
                };
                self.hold_links(hold).await;
                format!("{scope} +{delay:?} ±{jitter:?} for {hold:.1?}")
            }
            FaultKind::NatsKillRestart => {
                self.cluster.nats.kill();
                tokio::time::sleep(hold).await;
                self.cluster.nats.restart().await?;
                format!("nats-server down {hold:.1?}")
            }
            FaultKind::NatsLink => {
                let members = self.cluster.running_members();
                let t = self.pick(&members);
                let mode = self.mode();
                self.cluster.nats_link(t).set_mode(mode);
                tokio::time::sleep(hold).await;
                self.cluster.nats_link(t).heal();
                format!(
                    "node {t} cut from NATS ({}) for {hold:.1?}",
                    mode_name(mode)
                )
            }
            FaultKind::RollingRestart => {
                let order = self.shuffled_members();
                let mut notes = Vec::new();
                for id in &order {
                    let leader = self.cluster.leader().await;
                    let t = Instant::now();
                    let clean = self
                        .cluster
                        .node_mut(*id)
                        .terminate(Duration::from_secs(30))
                        .await;
                    if Some(*id) == leader && loss.is_none() {
                        loss = Some(t);
                    }
                    if !clean {
                        self.history
                            .warn(format!("node {id} did not exit within 30s of SIGTERM"));
                    }
                    self.cluster.start_node(*id).await?;
                    self.cluster.wait_healthy(RECOVERY_TIMEOUT).await?;
                    notes.push(format!(
                        "{id}{}{} {:.1?}",
                        role(*id, leader),
                        if clean { "" } else { " (SIGKILLed)" },
                        t.elapsed()
                    ));
                }
                format!("SIGTERM + restart in turn: {}", notes.join(", "))
            }
            FaultKind::Membership => {
                let Some(new) = self.cluster.spare_slot() else {
                    self.history
                        .warn("membership fault skipped: no spare node slot left");
                    return Ok(Injected {
                        detail: "skipped: no spare node slot".into(),
                        leader_loss: None,
                        healed: Instant::now(),
                    });
                };
                let t_add = Instant::now();
                let added = match self.cluster.start_node(new).await {
                    Ok(()) => self.cluster.add_member(new).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = added {
                    // As an operator would: take the half-added node out of the
                    // membership (it may linger as a learner) and stop it for good.
                    if let Err(r) = self.cluster.remove_from_membership(new).await {
                        self.history
                            .warn(format!("removing the half-added node {new}: {r:#}"));
                    }
                    let node = self.cluster.node_mut(new);
                    node.life = crate::cluster::Life::Retired;
                    node.terminate(Duration::from_secs(10)).await;
                    return Err(
                        e.context(format!("adding node {new} (after {:.1?})", t_add.elapsed()))
                    );
                }
                let add_took = t_add.elapsed();
                tokio::time::sleep(hold).await;
                let leader = self.cluster.leader().await;
                let candidates = self.cluster.members_except(new);
                let victim = self.pick(&candidates);
                if Some(victim) == leader {
                    loss = Some(Instant::now());
                }
                self.cluster.remove_member(victim).await?;
                format!(
                    "added node {new} (voter after {add_took:.1?} incl. catch-up), then removed node {victim}{}; members now {:?}",
                    role(victim, leader),
                    self.cluster.members()
                )
            }
        };
        Ok(Injected {
            detail,
            leader_loss: loss,
            healed: Instant::now(),
        })
    }
}

fn role(id: u64, leader: Option<u64>) -> &'static str {
    if Some(id) == leader {
        " (leader)"
    } else {
        ""
    }
}
