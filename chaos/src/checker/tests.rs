//! The checkers against small hand-made observations: each invariant flags what it must
//! and nothing else.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::*;
use crate::history::{PostOutcome, Received};

fn at(t0: Instant, ms: u64) -> Instant {
    t0 + Duration::from_millis(ms)
}

fn msg(op: u64, created_at: i64) -> Msg {
    Msg {
        name: format!("m-{op}"),
        metadata: format!("chaos-1-op-{op}"),
        user_id: format!("p-{op}"),
        category: 0,
        created_at,
    }
}

fn post(t0: Instant, op: u64, room: &str, sent: u64, acked: Option<u64>) -> PostRecord {
    PostRecord {
        op,
        room: room.into(),
        user: format!("p-{op}"),
        metadata: format!("chaos-1-op-{op}"),
        category: 0,
        avoider: format!("chaos-1-{op}"),
        first_sent: at(t0, sent),
        attempts: 1,
        outcome: match acked {
            Some(a) => PostOutcome::Acked {
                at: at(t0, a),
                attempt_sent: at(t0, sent),
                name: format!("m-{op}"),
                created_at: 1000 + op as i64,
                node: 1,
            },
            None => PostOutcome::Indeterminate {
                last_error: "timeout".into(),
            },
        },
    }
}

fn sub(t0: Instant, user: &str, room: &str, kind: SubKind, sent: u64, done: u64) -> SubRecord {
    SubRecord {
        user: user.into(),
        room: room.into(),
        kind,
        sent: at(t0, sent),
        resolved: at(t0, done),
        acked: true,
        detail: String::new(),
    }
}

fn recv(t0: Instant, op: u64, room: &str, ms: u64) -> Received {
    Received {
        at: at(t0, ms),
        namespace: "chaos".into(),
        room: room.into(),
        poster: format!("p-{op}"),
        category: 0,
        created_at: 1000 + op as i64,
    }
}

fn session(
    t0: Instant,
    user: &str,
    bound: u64,
    closed: Option<u64>,
    received: Vec<Received>,
) -> SessionRecord {
    SessionRecord {
        seq: 1,
        user: user.into(),
        node: 1,
        connected: at(t0, bound.saturating_sub(10)),
        bound: Some(at(t0, bound)),
        closed: closed.map(|c| at(t0, c)),
        close_reason: String::new(),
        received,
        bad_frames: Vec::new(),
    }
}

/// Two acknowledged posts to room `r`, stored identically on nodes 1 and 2; user `u`
/// subscribed from the start and online throughout with both notifications.
fn clean(t0: Instant) -> Observed {
    let listing: Listing = BTreeMap::from([("r".to_owned(), vec![msg(1, 1001), msg(2, 1002)])]);
    Observed {
        t0,
        posts: vec![
            post(t0, 1, "r", 100, Some(150)),
            post(t0, 2, "r", 200, Some(250)),
        ],
        reads: Vec::new(),
        subs: vec![sub(t0, "u", "r", SubKind::Subscribe, 0, 50)],
        sessions: vec![session(
            t0,
            "u",
            60,
            None,
            vec![recv(t0, 1, "r", 160), recv(t0, 2, "r", 260)],
        )],
        faults: Vec::new(),
        crashes: Vec::new(),
        replicas: BTreeMap::from([(1, listing.clone()), (2, listing)]),
        grace: Duration::from_secs(5),
    }
}

fn verdict(obs: &Observed) -> BTreeMap<&'static str, usize> {
    check_all(obs).counts
}

#[test]
fn a_clean_run_has_no_violation() {
    let obs = clean(Instant::now());
    let c = check_all(&obs);
    assert!(c.kept.is_empty(), "{:?}", c.kept);
    assert_eq!(c.stats.get("notifications required"), Some(&2));
}

#[test]
fn lost_duplicated_and_diverging_posts_are_flagged() {
    let t0 = Instant::now();
    let mut obs = clean(t0);
    // Node 2 lost op 2 and stored op 1 twice.
    obs.replicas
        .get_mut(&2)
        .unwrap()
        .insert("r".into(), vec![msg(1, 1001), msg(1, 1001)]);
    obs.replicas.get_mut(&2).unwrap().get_mut("r").unwrap()[1].name = "m-1-again".into();
    let v = verdict(&obs);
    assert_eq!(v.get(no_lost_post::NAME), Some(&1));
    assert_eq!(v.get(no_duplicate_post::NAME), Some(&1));
    assert_eq!(v.get(replica_agreement::NAME), Some(&1));
}

#[test]
fn a_read_that_misses_the_post_is_flagged() {
    let t0 = Instant::now();
    let mut obs = clean(t0);
    obs.reads.push(ReadRecord {
        op: 1,
        room: "r".into(),
        name: "m-1".into(),
        node: 2,
        sent: at(t0, 151),
        done: at(t0, 160),
        found: false,
        items: 0,
    });
    assert_eq!(verdict(&obs).get(read_after_ack::NAME), Some(&1));
}

#[test]
fn missing_duplicated_and_reordered_notifications_are_flagged() {
    let t0 = Instant::now();
    let mut obs = clean(t0);
    obs.sessions[0].received = vec![
        recv(t0, 2, "r", 260),
        recv(t0, 1, "r", 270),
        recv(t0, 1, "r", 280),
    ];
    let c = check_all(&obs);
    // Out of order (op 1 after op 2) and op 1 twice.
    assert_eq!(
        c.counts.get(notification_delivery::NAME),
        Some(&2),
        "{:?}",
        c.kept
    );

    obs.sessions[0].received = vec![recv(t0, 1, "r", 160)];
    assert_eq!(
        verdict(&obs).get(notification_delivery::NAME),
        Some(&1),
        "op 2 missing"
    );
}

#[test]
fn sessions_or_subscriptions_outside_the_window_are_not_judged() {
    let t0 = Instant::now();
    let mut obs = clean(t0);
    obs.sessions[0].received.clear();
    // Bound after the posts were sent.
    obs.sessions[0].bound = Some(at(t0, 210));
    obs.posts[0].first_sent = at(t0, 100);
    obs.posts[1].first_sent = at(t0, 200);
    assert!(check_all(&obs).kept.is_empty());
    // Closed before the notifications were due.
    obs.sessions[0].bound = Some(at(t0, 60));
    obs.sessions[0].closed = Some(at(t0, 3000));
    assert!(check_all(&obs).kept.is_empty());
    // An unsubscribe sent before they were due.
    obs.sessions[0].closed = None;
    obs.subs
        .push(sub(t0, "u", "r", SubKind::Unsubscribe, 1000, 1100));
    assert!(check_all(&obs).kept.is_empty());
}

#[test]
fn a_fault_overlapping_the_post_pushes_the_due_time() {
    let t0 = Instant::now();
    let mut obs = clean(t0);
    obs.faults.push(crate::history::FaultRecord {
        kind: crate::nemesis::FaultKind::NatsKillRestart,
        detail: String::new(),
        started: at(t0, 120),
        healed: at(t0, 20_000),
        recovered: at(t0, 21_000),
        leader_loss: None,
        recovery_error: None,
    });
    assert_eq!(obs.due(&obs.posts[0]), Some(at(t0, 26_000)));
    // Closed at 10 s: not online until the notification was due, so not judged.
    obs.sessions[0].closed = Some(at(t0, 10_000));
    obs.sessions[0].received.clear();
    assert!(check_all(&obs).kept.is_empty());
}

#[test]
fn a_notification_after_an_acknowledged_unsubscribe_is_flagged() {
    let t0 = Instant::now();
    let mut obs = clean(t0);
    obs.subs
        .push(sub(t0, "u", "r", SubKind::Unsubscribe, 170, 180));
    // Op 2 was sent at 200 ms, after the unsubscribe was acknowledged.
    assert_eq!(
        verdict(&obs).get(no_notification_after_unsubscribe::NAME),
        Some(&1)
    );
    // A new subscribe sent before the frame arrived makes it ambiguous.
    obs.subs
        .push(sub(t0, "u", "r", SubKind::Subscribe, 255, 258));
    assert_eq!(
        verdict(&obs).get(no_notification_after_unsubscribe::NAME),
        None
    );
}

#[test]
fn a_notification_that_names_no_stored_post_is_flagged() {
    let t0 = Instant::now();
    let mut obs = clean(t0);
    obs.posts.push(post(t0, 3, "r", 300, None));
    obs.sessions[0].received.push(recv(t0, 3, "r", 400));
    obs.sessions[0].received.push(recv(t0, 99, "r", 410));
    assert_eq!(verdict(&obs).get(notification_delivery::NAME), Some(&2));
}

#[test]
fn crashes_are_flagged() {
    let mut obs = clean(Instant::now());
    obs.crashes
        .push("node 2 exited on its own (signal 6)".into());
    assert_eq!(verdict(&obs).get(no_crash::NAME), Some(&1));
}

#[test]
fn subscription_windows() {
    let t = Instant::now();
    let s = |x: u64| t + Duration::from_secs(x);
    let a = sub(t, "u", "r", SubKind::Subscribe, 0, 1000);
    let b = sub(t, "u", "r", SubKind::Unsubscribe, 10_000, 11_000);
    let ops = vec![&a, &b];
    assert!(subscribed_throughout(&ops, s(2), s(9)));
    assert!(
        !subscribed_throughout(&ops, s(2), s(10)),
        "unsubscribe sent before due"
    );
    assert!(
        !subscribed_throughout(&ops, s(0), s(5)),
        "subscribe not yet resolved"
    );
    assert!(unsubscribed_throughout(&ops, s(12), s(20)).is_some());
    assert!(
        unsubscribed_throughout(&ops, s(10), s(20)).is_none(),
        "unsubscribe in flight"
    );
    assert!(
        unsubscribed_throughout(&[], s(1), s(2)).is_some(),
        "never subscribed"
    );
    let mut failed = sub(t, "u", "r", SubKind::Unsubscribe, 10_000, 11_000);
    failed.acked = false;
    assert!(unsubscribed_throughout(&[&a, &failed], s(12), s(20)).is_none());
}
