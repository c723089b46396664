//! Apply of every entry kind against a real RocksDB in a temporary folder.

use proto::command::{Actor, Command, EntryMeta, LogEntry, Outcome, PasswordChange, Reply};
use proto::gs2::models::NotificationType;
use proto::gs2::records::{ActiveCategoryModel, NamespaceSettings, UserDump};
use proto::gs2::ChatError;

use super::{apply_entry, collect_user, DEDUP_TTL_MS};
use crate::storage::txn::Txn;
use crate::storage::{cf, keys};
use crate::storage::{Store, View};

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    now: i64,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        Fixture {
            _dir: dir,
            store,
            now: 1_000_000_000,
        }
    }

    fn view(&self) -> View {
        View::new(self.store.clone(), 0)
    }

    fn run_with(&mut self, cmd: Command, dedup: Option<&str>) -> Reply {
        self.now += 1;
        let entry = LogEntry::new(
            EntryMeta {
                now_ms: self.now,
                dedup: dedup.map(String::from),
            },
            cmd,
        );
        let mut txn = Txn::new(&self.store, 0);
        let reply = apply_entry(&mut txn, self.now as u64, &entry).unwrap();
        self.store.db.write(txn.into_batch()).unwrap();
        reply
    }

    fn run(&mut self, cmd: Command) -> Reply {
        self.run_with(cmd, None)
    }

    fn ok(&mut self, cmd: Command) -> Outcome {
        match self.run(cmd) {
            Reply::Ok(o) => o,
            other => panic!("unexpected reply {other:?}"),
        }
    }

    fn rejected(&mut self, cmd: Command) -> ChatError {
        match self.run(cmd) {
            Reply::Rejected(e) => e,
            other => panic!("unexpected reply {other:?}"),
        }
    }
}

fn ns(name: &str, days: Option<i64>, allow: bool) -> Command {
    Command::CreateNamespace {
        name: name.into(),
        settings: NamespaceSettings {
            allow_create_room: allow,
            message_life_time_days: days,
            ..Default::default()
        },
    }
}

fn room(name: &str, actor: Actor, hash: Option<&str>, white: &[&str]) -> Command {
    Command::CreateRoom {
        namespace: "ns".into(),
        name: name.into(),
        actor,
        metadata: Some("m".into()),
        password_hash: hash.map(String::from),
        white_list_user_ids: white.iter().map(|s| s.to_string()).collect(),
    }
}

fn post(room: &str, name: &str, actor: Actor, user: &str, category: i64) -> Command {
    Command::Post {
        namespace: "ns".into(),
        room: room.into(),
        name: name.into(),
        actor,
        user_id: user.into(),
        category,
        metadata: Some(format!("msg {name}")),
        checked_room_revision: None,
    }
}

#[test]
fn namespaces_create_update_delete() {
    let mut f = Fixture::new();
    f.ok(ns("ns", Some(3), true));
    assert!(matches!(
        f.rejected(ns("ns", None, true)),
        ChatError::AlreadyExists { .. }
    ));
    let o = f.ok(Command::UpdateNamespace {
        name: "ns".into(),
        settings: NamespaceSettings {
            description: Some("d".into()),
            ..Default::default()
        },
    });
    let Outcome::Namespace(n) = o else { panic!() };
    assert_eq!(n.revision, 1);
    assert_eq!(n.settings.description.as_deref(), Some("d"));
    f.ok(room("r", Actor::Backend(None), None, &[]));
    f.ok(post("r", "m1", Actor::Backend(Some("u".into())), "u", 0));
    f.ok(Command::DeleteNamespace {
        name: "ns".into(),
        chunked: false,
    });
    let v = f.view();
    assert!(v.namespace("ns").unwrap().is_none());
    assert!(v.room("ns", "r").unwrap().is_none());
    assert!(v.message("ns", "r", "m1").unwrap().is_none());
    assert!(matches!(
        f.rejected(Command::DeleteNamespace {
            name: "ns".into(),
            chunked: false
        }),
        ChatError::NotFound { .. }
    ));
}

#[test]
fn rooms_owner_white_list_and_allow_create() {
    let mut f = Fixture::new();
    f.ok(ns("ns", None, false));
    assert_eq!(
        f.rejected(room("r", Actor::Player("a".into()), None, &[])),
        ChatError::RoomCreationDisabled
    );
    f.ok(room("r", Actor::Backend(Some("a".into())), None, &[]));
    let upd = |actor: Actor| Command::UpdateRoom {
        namespace: "ns".into(),
        name: "r".into(),
        actor,
        metadata: Some("new".into()),
        password: PasswordChange::Set("hash".into()),
        white_list_user_ids: vec!["a".into()],
    };
    assert_eq!(
        f.rejected(upd(Actor::Player("b".into()))),
        ChatError::NotOwner
    );
    let Outcome::Room(r) = f.ok(upd(Actor::Player("a".into()))) else {
        panic!()
    };
    assert_eq!(r.password_hash.as_deref(), Some("hash"));
    assert_eq!(r.revision, 1);
    let del = |actor: Actor| Command::DeleteRoom {
        namespace: "ns".into(),
        name: "r".into(),
        actor,
        chunked: false,
    };
    assert_eq!(
        f.rejected(del(Actor::Player("c".into()))),
        ChatError::NotInWhiteList
    );
    f.ok(del(Actor::Player("a".into())));
    assert!(f.view().room("ns", "r").unwrap().is_none());
}

#[test]
fn posts_check_password_revision_white_list_and_category_rules() {
    let mut f = Fixture::new();
    f.ok(ns("ns", None, true));
    f.ok(room("locked", Actor::Backend(None), Some("h"), &[]));
    f.ok(room("vip", Actor::Backend(None), None, &["v"]));
    f.ok(room("open", Actor::Backend(None), None, &[]));
    assert_eq!(
        f.rejected(post("locked", "m", Actor::Player("u".into()), "u", 0)),
        ChatError::PasswordRequired
    );
    let mut checked = post("locked", "m", Actor::Player("u".into()), "u", 0);
    if let Command::Post {
        checked_room_revision,
        ..
    } = &mut checked
    {
        *checked_room_revision = Some(7);
    }
    assert_eq!(f.rejected(checked.clone()), ChatError::PasswordInvalid);
    if let Command::Post {
        checked_room_revision,
        ..
    } = &mut checked
    {
        *checked_room_revision = Some(0);
    }
    f.ok(checked);
    assert_eq!(
        f.rejected(post("vip", "m2", Actor::Player("u".into()), "u", 0)),
        ChatError::NotInWhiteList
    );
    f.ok(post("vip", "m3", Actor::Player("v".into()), "v", 0));
    f.ok(Command::UpdateCurrentMaster {
        namespace: "ns".into(),
        settings: "{}".into(),
        models: vec![ActiveCategoryModel {
            category: 9,
            reject_access_token_post: true,
        }],
    });
    assert_eq!(
        f.rejected(post("open", "m4", Actor::Player("u".into()), "u", 9)),
        ChatError::PostRejected { category: 9 }
    );
    f.ok(post("open", "m5", Actor::Backend(Some("u".into())), "u", 9));
    assert!(matches!(
        f.rejected(post("nope", "m6", Actor::Player("u".into()), "u", 0)),
        ChatError::NotFound { .. }
    ));
    // Delete a message.
    f.ok(Command::DeleteMessage {
        namespace: "ns".into(),
        room: "open".into(),
        name: "m5".into(),
    });
    assert!(f.view().message("ns", "open", "m5").unwrap().is_none());
}

#[test]
fn subscriptions_lifecycle_and_room_cascade() {
    let mut f = Fixture::new();
    f.ok(ns("ns", None, true));
    f.ok(room("r", Actor::Backend(None), None, &[]));
    let types = vec![NotificationType {
        category: Some(1),
        enable_transfer_mobile_push_notification: Some(true),
    }];
    f.ok(Command::Subscribe {
        namespace: "ns".into(),
        room: "r".into(),
        user_id: "u".into(),
        notification_types: types.clone(),
    });
    let Outcome::Subscribe(s) = f.ok(Command::UpdateNotificationType {
        namespace: "ns".into(),
        room: "r".into(),
        user_id: "u".into(),
        notification_types: vec![],
    }) else {
        panic!()
    };
    assert_eq!(s.revision, 1);
    let (by_user, _) = f
        .view()
        .subscribes_by_user("ns", "u", None, None, 10)
        .unwrap();
    assert_eq!(by_user.len(), 1);
    f.ok(Command::Unsubscribe {
        namespace: "ns".into(),
        room: "r".into(),
        user_id: "u".into(),
    });
    assert!(f.view().subscribe("ns", "r", "u").unwrap().is_none());
    f.ok(Command::Subscribe {
        namespace: "ns".into(),
        room: "r".into(),
        user_id: "u".into(),
        notification_types: types,
    });
    f.ok(post("r", "m", Actor::Backend(Some("u".into())), "u", 0));
    f.ok(Command::DeleteRoom {
        namespace: "ns".into(),
        name: "r".into(),
        actor: Actor::Backend(None),
        chunked: false,
    });
    let v = f.view();
    assert!(v.subscribe("ns", "r", "u").unwrap().is_none());
    assert!(v.message("ns", "r", "m").unwrap().is_none());
    assert!(v
        .subscribes_by_user("ns", "u", None, None, 10)
        .unwrap()
        .0
        .is_empty());
    assert!(!v.user_has_data("u").unwrap());
}

#[test]
fn category_masters_and_current_master() {
    let mut f = Fixture::new();
    f.ok(ns("ns", None, true));
    let create = Command::CreateCategoryMaster {
        namespace: "ns".into(),
        category: 3,
        description: Some("d".into()),
        reject_access_token_post: Some("Enabled".into()),
    };
    f.ok(create.clone());
    assert!(matches!(
        f.rejected(create),
        ChatError::AlreadyExists { .. }
    ));
    f.ok(Command::UpdateCategoryMaster {
        namespace: "ns".into(),
        category: 3,
        description: None,
        reject_access_token_post: Some("Disabled".into()),
    });
    let m = f.view().category_master("ns", 3).unwrap().unwrap();
    assert_eq!(m.reject_access_token_post.as_deref(), Some("Disabled"));
    f.ok(Command::DeleteCategoryMaster {
        namespace: "ns".into(),
        category: 3,
    });
    assert!(f.view().category_master("ns", 3).unwrap().is_none());
    f.ok(Command::UpdateCurrentMaster {
        namespace: "ns".into(),
        settings: "{\"categoryModels\":[]}".into(),
        models: vec![],
    });
    assert!(f.view().current_master("ns").unwrap().is_some());
}

#[test]
fn user_data_dump_clean_import() {
    let mut f = Fixture::new();
    f.ok(ns("ns", None, true));
    f.ok(room("mine", Actor::Backend(Some("u".into())), None, &[]));
    f.ok(room("other", Actor::Backend(Some("x".into())), None, &[]));
    f.ok(post(
        "other",
        "m1",
        Actor::Backend(Some("u".into())),
        "u",
        0,
    ));
    f.ok(post(
        "other",
        "m2",
        Actor::Backend(Some("x".into())),
        "x",
        0,
    ));
    f.ok(Command::Subscribe {
        namespace: "ns".into(),
        room: "other".into(),
        user_id: "u".into(),
        notification_types: vec![],
    });
    f.ok(Command::DumpUser {
        user_id: "u".into(),
    });
    let doc = f.view().dump("u").unwrap().unwrap();
    let dump: UserDump = serde_json::from_str(&doc).unwrap();
    assert_eq!(dump.rooms.len(), 1);
    assert_eq!(dump.messages.len(), 1);
    assert_eq!(dump.subscribes.len(), 1);
    f.ok(Command::CleanUser {
        user_id: "u".into(),
        chunked: false,
    });
    let v = f.view();
    assert!(v.room("ns", "mine").unwrap().is_none());
    assert!(v.message("ns", "other", "m1").unwrap().is_none());
    assert!(
        v.message("ns", "other", "m2").unwrap().is_some(),
        "others' data stays"
    );
    assert!(v.subscribe("ns", "other", "u").unwrap().is_none());
    f.ok(Command::StoreUpload {
        token: "t".into(),
        body: doc,
    });
    f.ok(Command::ImportUser {
        user_id: "u".into(),
        upload_token: "t".into(),
    });
    let v = f.view();
    assert!(v.room("ns", "mine").unwrap().is_some());
    assert!(v.message("ns", "other", "m1").unwrap().is_some());
    assert!(v.subscribe("ns", "other", "u").unwrap().is_some());
    assert!(matches!(
        f.rejected(Command::ImportUser {
            user_id: "u".into(),
            upload_token: "t".into(),
        }),
        ChatError::NotFound { .. }
    ));
}

#[test]
fn sweep_deletes_expired_messages_and_old_dedup_records() {
    let mut f = Fixture::new();
    f.ok(ns("ns", Some(1), true));
    f.ok(room("r", Actor::Backend(None), None, &[]));
    f.ok(post("r", "old", Actor::Backend(Some("u".into())), "u", 0));
    let first = f.run_with(ns("dup", None, true), Some("p:key"));
    f.now += 86_400_000 + 10;
    f.ok(post("r", "new", Actor::Backend(Some("u".into())), "u", 0));
    let v = f.view();
    let cutoff = v.namespace("ns").unwrap().unwrap().expiry_cutoff(f.now);
    assert_eq!(
        v.messages_from("ns", "r", 0, None, cutoff, 10)
            .unwrap()
            .len(),
        1,
        "expired messages are hidden from reads before the sweep"
    );
    assert_eq!(
        v.messages_from("ns", "r", 0, None, None, 10).unwrap().len(),
        2
    );
    // A retry with the same key returns the first reply, even though the namespace exists.
    assert_eq!(f.run_with(ns("dup", None, true), Some("p:key")), first);
    let now = f.now;
    f.ok(Command::Sweep {
        dedup_before_ms: now - DEDUP_TTL_MS + 1,
        limit: None,
    });
    let v = f.view();
    let left = v.messages_from("ns", "r", 0, None, None, 10).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].name, "new");
    assert!(v.message("ns", "r", "old").unwrap().is_none());
    // The dedup record is gone: the same key now runs the command again.
    assert!(matches!(
        f.run_with(ns("dup", None, true), Some("p:key")),
        Reply::Rejected(ChatError::AlreadyExists { .. })
    ));
}

#[test]
fn latest_messages_page_newest_first_exactly_once() {
    let mut f = Fixture::new();
    f.ok(ns("ns", None, true));
    f.ok(room("r", Actor::Backend(None), None, &[]));
    for i in 0..25 {
        f.ok(post(
            "r",
            &format!("m{i:02}"),
            Actor::Backend(Some("u".into())),
            "u",
            i % 2,
        ));
    }
    let v = f.view();
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let (page, next) = v
            .latest_messages("ns", "r", None, None, token.as_deref(), 10)
            .unwrap();
        seen.extend(page.into_iter().map(|m| m.name));
        match next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let expected: Vec<String> = (0..25).rev().map(|i| format!("m{i:02}")).collect();
    assert_eq!(seen, expected);
    let odd = v.messages_from("ns", "r", 0, Some(1), None, 100).unwrap();
    assert_eq!(odd.len(), 12);
    assert!(v
        .latest_messages("ns", "r", None, None, Some("zz"), 10)
        .is_err());
}

#[test]
fn a_batch_entry_applies_each_write_with_its_own_reply_and_events() {
    let mut f = Fixture::new();
    f.ok(ns("ns", None, true));
    f.ok(room("r", Actor::Backend(None), None, &[]));
    let part = |name: &str, dedup: Option<&str>| proto::command::EntryV1 {
        meta: EntryMeta {
            now_ms: 5,
            dedup: dedup.map(String::from),
        },
        cmd: post("r", name, Actor::Backend(Some("u".into())), "u", 0),
    };
    let batch = LogEntry::Batch(vec![
        part("b1", Some("p:k1")),
        part("b2", None),
        part("b1", Some("p:k1")), // a retry inside the same batch: the first reply again
        part("b3", None),
    ]);
    let mut txn = Txn::new(&f.store, 0);
    let reply = apply_entry(&mut txn, 77, &batch).unwrap();
    f.store.db.write(txn.into_batch()).unwrap();
    let Reply::Many(replies) = reply else {
        panic!("a batch answers Many")
    };
    assert_eq!(replies.len(), 4);
    assert_eq!(
        replies[0], replies[2],
        "same duplication avoider, same reply"
    );
    let v = f.view();
    assert_eq!(
        v.messages_from("ns", "r", 0, None, None, 10).unwrap().len(),
        3
    );
    let outbox = v.outbox_after(None, 100).unwrap();
    let seqs: Vec<(u64, u32)> = outbox
        .iter()
        .filter(|(i, _, _)| *i == 77)
        .map(|(i, s, _)| (*i, *s))
        .collect();
    assert_eq!(
        seqs,
        vec![(77, 0), (77, 1), (77, 2)],
        "one event per new post, distinct seqs"
    );
}

#[test]
fn a_page_by_start_at_never_ends_inside_a_run_of_equal_created_at() {
    let mut f = Fixture::new();
    f.ok(ns("ns", None, true));
    f.ok(room("r", Actor::Backend(None), None, &[]));
    let part = |name: &str| proto::command::EntryV1 {
        meta: EntryMeta {
            now_ms: 5_000,
            dedup: None,
        },
        cmd: post("r", name, Actor::Backend(Some("u".into())), "u", 0),
    };
    let batch = LogEntry::Batch((0..5).map(|i| part(&format!("same{i}"))).collect());
    let mut txn = Txn::new(&f.store, 0);
    apply_entry(&mut txn, 90, &batch).unwrap();
    f.store.db.write(txn.into_batch()).unwrap();
    f.ok(post("r", "later", Actor::Backend(Some("u".into())), "u", 0));
    let v = f.view();
    let page = v.messages_from("ns", "r", 0, None, None, 2).unwrap();
    assert_eq!(
        page.len(),
        5,
        "the page extends to the end of the createdAt run"
    );
    let next = v
        .messages_from("ns", "r", page[4].created_at + 1, None, None, 2)
        .unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].name, "later");
}

#[test]
fn trim_outbox_drops_rows_up_to_its_index_even_within_its_own_batch() {
    let mut f = Fixture::new();
    f.ok(ns("ns", None, true));
    f.ok(room("r", Actor::Backend(None), None, &[]));
    let write = |cmd: Command| proto::command::EntryV1 {
        meta: EntryMeta {
            now_ms: 9_000,
            dedup: None,
        },
        cmd,
    };
    let poster = || Actor::Backend(Some("u".into()));
    // Entry 100 posts twice; entry 101 posts, trims through 100, posts again.
    let mut txn = Txn::new(&f.store, 0);
    let first = LogEntry::Batch(vec![
        write(post("r", "a", poster(), "u", 0)),
        write(post("r", "b", poster(), "u", 0)),
    ]);
    apply_entry(&mut txn, 100, &first).unwrap();
    f.store.db.write(txn.into_batch()).unwrap();
    let mut txn = Txn::new(&f.store, 0);
    let second = LogEntry::Batch(vec![
        write(post("r", "c", poster(), "u", 0)),
        write(Command::TrimOutbox {
            upto_index: 100,
            from_index: 0,
        }),
        write(post("r", "d", poster(), "u", 0)),
    ]);
    apply_entry(&mut txn, 101, &second).unwrap();
    // Inside the batch, reads already see the trim.
    assert!(txn
        .scan(
            crate::storage::cf::OUTBOX,
            &crate::storage::keys::group_prefix(0)
        )
        .unwrap()
        .iter()
        .all(|(k, _)| k > &crate::storage::keys::outbox(0, 100, u32::MAX)));
    f.store.db.write(txn.into_batch()).unwrap();
    let left: Vec<(u64, u32)> = f
        .view()
        .outbox_after(None, 100)
        .unwrap()
        .into_iter()
        .map(|(i, s, _)| (i, s))
        .filter(|(i, _)| *i < 1_000) // the fixture's own entries use the clock as index
        .collect();
    assert_eq!(
        left,
        vec![(101, 0), (101, 1)],
        "rows of entry 100 and earlier are gone; both posts of entry 101 stay"
    );
}

#[test]
fn a_post_requests_a_mobile_push_only_where_its_namespace_forwards_posts_to_mobiles() {
    use proto::event::{Envelope, Event};
    use proto::gs2::models::NotificationSetting;
    let mut f = Fixture::new();
    f.ok(ns("ns", None, true));
    f.ok(room("r", Actor::Backend(None), None, &[]));
    let kinds_at = |f: &Fixture, index: u64| -> Vec<&'static str> {
        f.view()
            .outbox_after(None, 1000)
            .unwrap()
            .into_iter()
            .filter(|(i, _, _)| *i == index)
            .map(|(_, _, json)| {
                let env: Envelope = serde_json::from_slice(&json).unwrap();
                env.event.kind()
            })
            .collect()
    };
    f.ok(post("r", "m1", Actor::Backend(Some("u".into())), "u", 0));
    assert_eq!(kinds_at(&f, f.now as u64), vec!["messagePosted"]);

    let forward = |on: bool, enable: Option<&str>| Command::UpdateNamespace {
        name: "ns".into(),
        settings: NamespaceSettings {
            allow_create_room: true,
            post_notification: Some(NotificationSetting {
                enable_transfer_mobile_notification: Some(on),
                enable: enable.map(String::from),
                ..Default::default()
            }),
            ..Default::default()
        },
    };
    f.ok(forward(true, None));
    f.ok(post("r", "m2", Actor::Backend(Some("u".into())), "u", 3));
    let index = f.now as u64;
    assert_eq!(
        kinds_at(&f, index),
        vec!["messagePosted", "mobilePushRequested"]
    );
    let rows = f.view().outbox_after(None, 1000).unwrap();
    let (_, _, json) = rows
        .iter()
        .find(|(i, s, _)| *i == index && *s == 1)
        .unwrap();
    let env: Envelope = serde_json::from_slice(json).unwrap();
    assert_eq!(
        env.event,
        Event::MobilePushRequested {
            message_name: "m2".into(),
            user_id: "u".into(),
            category: 3,
            created_at: f.now,
        }
    );

    f.ok(forward(true, Some("Disabled")));
    f.ok(post("r", "m3", Actor::Backend(Some("u".into())), "u", 0));
    assert_eq!(kinds_at(&f, f.now as u64), vec!["messagePosted"]);
    f.ok(forward(false, None));
    f.ok(post("r", "m4", Actor::Backend(Some("u".into())), "u", 0));
    assert_eq!(kinds_at(&f, f.now as u64), vec!["messagePosted"]);
}

/// Five expired messages, swept two at a time: each entry deletes its chunk and says whether
/// more remain, and the replies and the rows left are the same whether the entries are applied
/// one batch each or all in one (leader and followers batch entries differently).
#[test]
fn bounded_sweeps_take_chunks_and_agree_however_entries_are_batched() {
    let setup = || {
        let mut f = Fixture::new();
        f.ok(ns("ns", Some(1), true));
        f.ok(room("r", Actor::Backend(None), None, &[]));
        for i in 0..5 {
            f.ok(post(
                "r",
                &format!("m{i}"),
                Actor::Backend(Some("u".into())),
                "u",
                0,
            ));
        }
        f.now += 2 * 86_400_000;
        f
    };
    let sweep = || Command::Sweep {
        dedup_before_ms: 0,
        limit: Some(2),
    };
    let left = |f: &Fixture| {
        f.view()
            .messages_from("ns", "r", 0, None, None, 10)
            .unwrap()
            .len()
    };

    let mut one_by_one = setup();
    let mut replies = Vec::new();
    let mut remaining = Vec::new();
    for _ in 0..3 {
        replies.push(one_by_one.run(sweep()));
        remaining.push(left(&one_by_one));
    }
    assert_eq!(remaining, [3, 1, 0]);
    let more = |r: &Reply| matches!(r, Reply::Ok(Outcome::Swept { more: true }));
    assert_eq!(
        replies.iter().map(more).collect::<Vec<_>>(),
        [true, true, false]
    );

    let mut batched = setup();
    let mut txn = Txn::new(&batched.store, 0);
    let mut batch_replies = Vec::new();
    for _ in 0..3 {
        batched.now += 1;
        let entry = LogEntry::new(
            EntryMeta {
                now_ms: batched.now,
                dedup: None,
            },
            sweep(),
        );
        batch_replies.push(apply_entry(&mut txn, batched.now as u64, &entry).unwrap());
    }
    batched.store.db.write(txn.into_batch()).unwrap();
    assert_eq!(batch_replies, replies);
    assert_eq!(left(&batched), 0);
}

/// Rows of a column family under `prefix` (every row of group 0 by default).
fn rows_under(f: &Fixture, cf: &'static str, prefix: &[u8]) -> usize {
    f.store.scan(cf, prefix, None, usize::MAX).unwrap().len()
}

/// Rows left of deleted rooms and namespaces: messages with their indexes, subscriptions with
/// theirs, rooms, category masters, and the task rows themselves.
fn cascade_rows(f: &Fixture) -> Vec<usize> {
    let all = keys::group_prefix(0);
    let mut counts: Vec<usize> = [
        cf::ROOMS,
        cf::MESSAGES,
        cf::MESSAGE_NAMES,
        cf::MESSAGES_BY_USER,
        cf::SUBS_BY_ROOM,
        cf::SUBS_BY_USER,
        cf::CATEGORY_MASTERS,
    ]
    .iter()
    .map(|c| rows_under(f, c, &all))
    .collect();
    counts.push(rows_under(f, cf::SM_META, &keys::tasks(0)));
    counts
}

fn subscribe(room: &str, user: &str) -> Command {
    Command::Subscribe {
        namespace: "ns".into(),
        room: room.into(),
        user_id: user.into(),
        notification_types: vec![],
    }
}

fn bounded_sweep(limit: u32) -> Command {
    Command::Sweep {
        dedup_before_ms: 0,
        limit: Some(limit),
    }
}

/// A namespace with rooms `a` and `b`, three messages by `u` in each, `u` and `v` subscribed
/// to both, and two category masters: 14 records (2 rooms, 6 messages, 4 subscriptions, 2
/// masters) to cascade.
fn populated() -> Fixture {
    let mut f = Fixture::new();
    f.ok(ns("ns", None, true));
    for r in ["a", "b"] {
        f.ok(room(r, Actor::Backend(None), None, &[]));
        for i in 0..3 {
            f.ok(post(
                r,
                &format!("{r}{i}"),
                Actor::Backend(Some("u".into())),
                "u",
                0,
            ));
        }
        f.ok(subscribe(r, "u"));
        f.ok(subscribe(r, "v"));
    }
    for category in [1, 2] {
        f.ok(Command::CreateCategoryMaster {
            namespace: "ns".into(),
            category,
            description: None,
            reject_access_token_post: None,
        });
    }
    f
}

/// Runs bounded sweeps until one says nothing is left; their `more` flags.
fn sweep_to_the_end(f: &mut Fixture, limit: u32) -> Vec<bool> {
    let mut flags = Vec::new();
    loop {
        let more = match f.run(bounded_sweep(limit)) {
            Reply::Ok(Outcome::Swept { more }) => more,
            other => panic!("unexpected reply {other:?}"),
        };
        flags.push(more);
        if !more {
            return flags;
        }
        assert!(flags.len() < 100, "the cascade never ends");
    }
}

#[test]
fn a_deleted_room_is_gone_at_once_and_its_rows_go_in_bounded_chunks() {
    let mut f = populated();
    f.ok(Command::delete_room(
        "ns".into(),
        "a".into(),
        Actor::Backend(None),
    ));
    // Gone for every read and write at once, though its rows wait for the sweep.
    let v = f.view();
    assert!(v.room("ns", "a").unwrap().is_none());
    assert!(v.live_subscribe("ns", "a", "u").unwrap().is_none());
    let (subs, _) = v.subscribes_by_user("ns", "u", None, None, 10).unwrap();
    assert_eq!(
        subs.iter().map(|s| s.room.as_str()).collect::<Vec<_>>(),
        ["b"]
    );
    let dump = collect_user(&Txn::new(&f.store, 0), "u").unwrap();
    assert_eq!(
        dump.messages.len(),
        3,
        "the dump holds room b's messages only"
    );
    assert_eq!(dump.subscribes.len(), 1);
    assert!(matches!(
        f.rejected(post("a", "late", Actor::Backend(Some("u".into())), "u", 0)),
        ChatError::NotFound { .. }
    ));
    assert!(matches!(
        f.rejected(subscribe("a", "w")),
        ChatError::NotFound { .. }
    ));
    assert!(matches!(
        f.rejected(Command::Unsubscribe {
            namespace: "ns".into(),
            room: "a".into(),
            user_id: "u".into(),
        }),
        ChatError::NotFound { .. }
    ));
    assert!(matches!(
        f.rejected(Command::DeleteMessage {
            namespace: "ns".into(),
            room: "a".into(),
            name: "a0".into(),
        }),
        ChatError::NotFound { .. }
    ));
    // Room a: 3 messages (3 rows each) and 2 subscriptions (2 rows each) wait, with the task.
    assert_eq!(cascade_rows(&f), [1, 6, 6, 6, 4, 4, 2, 1]);
    // 5 records at 2 a chunk: 3 chunks, the last one finding the end.
    assert_eq!(sweep_to_the_end(&mut f, 2), [true, true, false]);
    assert_eq!(cascade_rows(&f), [1, 3, 3, 3, 2, 2, 2, 0]);
    assert_eq!(
        f.view()
            .messages_from("ns", "b", 0, None, None, 10)
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn a_deleted_namespace_cascades_in_chunks_the_same_however_entries_are_batched() {
    let mut one_by_one = populated();
    one_by_one.ok(Command::delete_namespace("ns".into()));
    let v = one_by_one.view();
    assert!(v.namespace("ns").unwrap().is_none());
    assert!(v.room("ns", "a").unwrap().is_none());
    assert!(!v.user_has_data("u").unwrap());
    assert_eq!(cascade_rows(&one_by_one), [2, 6, 6, 6, 4, 4, 2, 1]);
    // 14 records at 4 a chunk: 4 chunks, the fourth deleting the last 2 and the task row.
    assert_eq!(
        sweep_to_the_end(&mut one_by_one, 4),
        [true, true, true, false]
    );
    assert_eq!(cascade_rows(&one_by_one), [0; 8]);

    let mut batched = populated();
    batched.ok(Command::delete_namespace("ns".into()));
    let mut txn = Txn::new(&batched.store, 0);
    let mut flags = Vec::new();
    for _ in 0..4 {
        batched.now += 1;
        let meta = EntryMeta {
            now_ms: batched.now,
            dedup: None,
        };
        let entry = LogEntry::new(meta, bounded_sweep(4));
        match apply_entry(&mut txn, batched.now as u64, &entry).unwrap() {
            Reply::Ok(Outcome::Swept { more }) => flags.push(more),
            other => panic!("unexpected reply {other:?}"),
        }
    }
    batched.store.db.write(txn.into_batch()).unwrap();
    assert_eq!(flags, [true, true, true, false]);
    assert_eq!(cascade_rows(&batched), [0; 8]);
}

#[test]
fn creating_a_room_or_namespace_again_finishes_its_pending_cascade_first() {
    let mut f = populated();
    f.ok(Command::delete_room(
        "ns".into(),
        "a".into(),
        Actor::Backend(None),
    ));
    f.ok(room("a", Actor::Backend(None), None, &[]));
    let v = f.view();
    assert!(v
        .messages_from("ns", "a", 0, None, None, 10)
        .unwrap()
        .is_empty());
    assert!(v
        .subscribes_by_room("ns", "a", None, 10)
        .unwrap()
        .0
        .is_empty());
    assert_eq!(cascade_rows(&f)[7], 0, "the task is done");

    f.ok(Command::delete_namespace("ns".into()));
    f.ok(ns("ns", None, true));
    let v = f.view();
    assert!(v.rooms("ns", None, None, 10).unwrap().0.is_empty());
    assert!(v.category_masters("ns", None, 10).unwrap().0.is_empty());
    assert_eq!(cascade_rows(&f), [0; 8]);
}

#[test]
fn clean_user_leaves_the_rooms_they_own_to_a_cascade() {
    let mut f = populated();
    f.ok(room("mine", Actor::Backend(Some("u".into())), None, &[]));
    f.ok(post("mine", "x", Actor::Backend(Some("w".into())), "w", 0));
    f.ok(Command::clean_user("u".into()));
    let v = f.view();
    assert!(v.room("ns", "mine").unwrap().is_none());
    assert!(!v.user_has_data("u").unwrap());
    assert!(v
        .subscribes_by_user("ns", "u", None, None, 10)
        .unwrap()
        .0
        .is_empty());
    // w's message in u's room waits for the room's task.
    assert_eq!(rows_under(&f, cf::SM_META, &keys::tasks(0)), 1);
    sweep_to_the_end(&mut f, 1000);
    assert!(!v.user_has_data("w").unwrap());
    assert_eq!(
        rows_under(
            &f,
            cf::MESSAGES_BY_USER,
            &keys::messages_by_user_prefix(0, "w")
        ),
        0
    );
    assert_eq!(rows_under(&f, cf::SM_META, &keys::tasks(0)), 0);
}

#[test]
fn accounts_upsert_and_patch_all_or_none() {
    use proto::account::{AccountInput, AccountPatch};
    let mut f = Fixture::new();
    let input = |id: &str| AccountInput {
        id: id.into(),
        name: Some(id.to_uppercase()),
        ..Default::default()
    };
    let Outcome::Accounts(made) = f.ok(Command::UpsertAccounts {
        accounts: vec![input("alice"), input("bob")],
    }) else {
        panic!()
    };
    assert_eq!(made.len(), 2);
    assert_eq!(made[0].created_at, f.now * 1_000_000);
    let set = |id: &str, k: &str, v: serde_json::Value| AccountPatch {
        id: id.into(),
        set: [(k.to_string(), v)].into(),
        unset: vec![],
    };
    // bob is fine, carol does not exist: nothing changes.
    assert!(matches!(
        f.rejected(Command::PatchAccounts {
            patches: vec![
                set("bob", "role", "admin".into()),
                set("carol", "x", 1.into())
            ],
        }),
        ChatError::NotFound { .. }
    ));
    assert_eq!(f.view().account("bob").unwrap().unwrap().role, "user");
    let Outcome::Accounts(patched) = f.ok(Command::PatchAccounts {
        patches: vec![
            set("bob", "role", "admin".into()),
            set("bob", "level", 3.into()),
        ],
    }) else {
        panic!()
    };
    assert_eq!(patched.last().unwrap().custom["level"], 3);
    let bob = f.view().account("bob").unwrap().unwrap();
    assert_eq!(
        (bob.role.as_str(), bob.custom["level"].as_i64()),
        ("admin", Some(3))
    );
    let v = f.view();
    let ids = |list: Vec<proto::account::AccountRecord>| {
        list.into_iter().map(|a| a.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(v.accounts_in_order(None, 10).unwrap()),
        ["alice", "bob"]
    );
    assert_eq!(
        ids(v.accounts_in_order(Some("alice"), 10).unwrap()),
        ["bob"]
    );
    assert_eq!(
        ids(v
            .accounts_by_id(&["bob".into(), "zed".into(), "bob".into()])
            .unwrap()),
        ["bob"]
    );
}

#[test]
fn channels_are_created_once_and_take_messages_from_members_with_unique_ids() {
    use proto::account::AccountInput;
    use proto::channel::MessageInput;
    let mut f = Fixture::new();
    let users = ["alice", "bob", "carol"]
        .iter()
        .map(|id| AccountInput {
            id: id.to_string(),
            ..Default::default()
        })
        .collect();
    f.ok(Command::UpsertAccounts { accounts: users });
    let create = |members: &[&str]| Command::GetOrCreateChannel {
        ctype: "messaging".into(),
        id: "general".into(),
        created_by: Some("alice".into()),
        custom: [("name".to_string(), serde_json::json!("General"))].into(),
        members: members.iter().map(|m| m.to_string()).collect(),
    };
    assert!(matches!(
        f.rejected(create(&["alice", "zed"])),
        ChatError::Invalid { .. }
    ));
    let Outcome::Channel { channel, created } = f.ok(create(&["alice", "bob", "alice"])) else {
        panic!()
    };
    assert!(created);
    assert_eq!(channel.member_count, 2);
    let Outcome::Channel { created, .. } = f.ok(create(&["carol"])) else {
        panic!()
    };
    assert!(!created, "an existing channel is returned as it is");
    let v = f.view();
    let members = v.members("messaging", "general", 10).unwrap();
    let roles: Vec<(&str, &str)> = members
        .iter()
        .map(|m| (m.user_id.as_str(), m.channel_role.as_str()))
        .collect();
    assert_eq!(roles, [("alice", "owner"), ("bob", "channel_member")]);
    assert_eq!(
        v.channels_of_member("bob", 10).unwrap(),
        [("messaging".to_string(), "general".to_string())]
    );
    let send = |id: &str, user: &str| Command::SendChannelMessage {
        ctype: "messaging".into(),
        id: "general".into(),
        message: MessageInput {
            id: id.into(),
            user_id: user.into(),
            text: format!("{id} by {user}"),
            ..Default::default()
        },
        require_member: true,
    };
    f.ok(send("m1", "alice"));
    f.ok(send("m2", "bob"));
    assert!(matches!(
        f.rejected(send("m1", "bob")),
        ChatError::Invalid { .. }
    ));
    assert!(matches!(
        f.rejected(send("m3", "carol")),
        ChatError::Unauthorized { .. }
    ));
    let v = f.view();
    let texts: Vec<String> = v
        .latest_channel_messages("messaging", "general", 10)
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["m1 by alice", "m2 by bob"]);
    assert_eq!(
        v.latest_channel_messages("messaging", "general", 1)
            .unwrap()[0]
            .id,
        "m2"
    );
    assert_eq!(v.channel_message("m1").unwrap().unwrap().user_id, "alice");
    let ch = v.channel("messaging", "general").unwrap().unwrap();
    assert_eq!(ch.last_message_at, Some(f.now * 1_000_000 - 2_000_000));
}

#[test]
fn reactions_replace_per_user_and_type_and_reads_are_kept_per_member() {
    use proto::account::AccountInput;
    use proto::channel::{MessageInput, ReactionRecord};
    let mut f = Fixture::new();
    let users = ["alice", "bob"]
        .iter()
        .map(|id| AccountInput {
            id: id.to_string(),
            ..Default::default()
        })
        .collect();
    f.ok(Command::UpsertAccounts { accounts: users });
    f.ok(Command::GetOrCreateChannel {
        ctype: "messaging".into(),
        id: "g".into(),
        created_by: Some("alice".into()),
        custom: Default::default(),
        members: vec!["alice".into(), "bob".into()],
    });
    f.ok(Command::SendChannelMessage {
        ctype: "messaging".into(),
        id: "g".into(),
        message: MessageInput {
            id: "m1".into(),
            user_id: "alice".into(),
            text: "hi".into(),
            ..Default::default()
        },
        require_member: true,
    });
    let react = |kind: &str, unique: bool| Command::SendReaction {
        reaction: ReactionRecord {
            message_id: "m1".into(),
            user_id: "bob".into(),
            kind: kind.into(),
            score: 1,
            ..Default::default()
        },
        enforce_unique: unique,
        require_member: true,
    };
    f.ok(react("like", false));
    f.ok(react("love", false));
    let kinds = |f: &Fixture| -> Vec<String> {
        f.view()
            .reactions("m1", None, 10)
            .unwrap()
            .into_iter()
            .map(|r| r.kind)
            .collect()
    };
    assert_eq!(kinds(&f), ["like", "love"]);
    f.ok(react("wow", true));
    assert_eq!(
        kinds(&f),
        ["wow"],
        "enforce_unique keeps one reaction per user"
    );
    assert!(matches!(
        f.rejected(Command::DeleteReaction {
            message_id: "m1".into(),
            user_id: "bob".into(),
            kind: "like".into(),
        }),
        ChatError::NotFound { .. }
    ));
    f.ok(Command::DeleteReaction {
        message_id: "m1".into(),
        user_id: "bob".into(),
        kind: "wow".into(),
    });
    assert!(kinds(&f).is_empty());
    let v = f.view();
    assert_eq!(v.unread_count("messaging", "g", "bob", 0, 10).unwrap(), 1);
    assert_eq!(v.unread_count("messaging", "g", "alice", 0, 10).unwrap(), 0);
    let Outcome::Read(r) = f.ok(Command::MarkRead {
        ctype: "messaging".into(),
        id: "g".into(),
        user_id: "bob".into(),
        message_id: Some("m1".into()),
    }) else {
        panic!()
    };
    let v = f.view();
    assert_eq!(
        v.read_state("messaging", "g", "bob").unwrap(),
        Some(r.clone())
    );
    assert_eq!(
        v.unread_count("messaging", "g", "bob", r.last_read, 10)
            .unwrap(),
        0
    );
}

#[test]
fn channel_updates_change_members_and_a_delete_cascades_in_chunks() {
    use proto::account::AccountInput;
    use proto::channel::{MessageInput, ReactionRecord};
    let mut f = Fixture::new();
    let users = ["alice", "bob", "carol"]
        .iter()
        .map(|id| AccountInput {
            id: id.to_string(),
            ..Default::default()
        })
        .collect();
    f.ok(Command::UpsertAccounts { accounts: users });
    f.ok(Command::GetOrCreateChannel {
        ctype: "messaging".into(),
        id: "t".into(),
        created_by: Some("alice".into()),
        custom: [("name".to_string(), serde_json::json!("Team"))].into(),
        members: vec!["alice".into(), "bob".into()],
    });
    let update = |add: &[&str], remove: &[&str]| Command::UpdateChannel {
        ctype: "messaging".into(),
        id: "t".into(),
        custom: None,
        set: [("topic".to_string(), serde_json::json!("x"))].into(),
        unset: vec!["name".into()],
        frozen: None,
        add_members: add.iter().map(|s| s.to_string()).collect(),
        remove_members: remove.iter().map(|s| s.to_string()).collect(),
        cooldown: None,
    };
    assert!(matches!(
        f.rejected(update(&["zed"], &[])),
        ChatError::Invalid { .. }
    ));
    let Outcome::Channel { channel, .. } = f.ok(update(&["carol"], &["bob"])) else {
        panic!()
    };
    assert_eq!(channel.member_count, 2);
    assert_eq!(
        channel.custom,
        [("topic".to_string(), serde_json::json!("x"))].into()
    );
    let v = f.view();
    let ids: Vec<String> = v
        .members("messaging", "t", 10)
        .unwrap()
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    assert_eq!(ids, ["alice", "carol"]);
    assert!(v.channels_of_member("bob", 10).unwrap().is_empty());
    for i in 0..3 {
        f.ok(Command::SendChannelMessage {
            ctype: "messaging".into(),
            id: "t".into(),
            message: MessageInput {
                id: format!("m{i}"),
                user_id: "alice".into(),
                text: "x".into(),
                ..Default::default()
            },
            require_member: true,
        });
    }
    f.ok(Command::SendReaction {
        reaction: ReactionRecord {
            message_id: "m0".into(),
            user_id: "carol".into(),
            kind: "like".into(),
            score: 1,
            ..Default::default()
        },
        enforce_unique: false,
        require_member: true,
    });
    f.ok(Command::DeleteChannel {
        ctype: "messaging".into(),
        id: "t".into(),
    });
    let rows = |f: &Fixture| -> Vec<usize> {
        let all = keys::group_prefix(0);
        [
            cf::CHANNEL_MESSAGES,
            cf::MESSAGE_IDS,
            cf::REACTIONS,
            cf::MEMBERS,
            cf::MEMBERS_BY_USER,
        ]
        .iter()
        .map(|c| rows_under(f, c, &all))
        .collect()
    };
    assert!(f.view().channel("messaging", "t").unwrap().is_none());
    assert_eq!(rows(&f), [3, 3, 1, 2, 2], "the rows wait for the sweep");
    // 3 messages + 1 reaction + 2 members at 2 a chunk: 3 chunks, the last one finds the end.
    assert_eq!(sweep_to_the_end(&mut f, 2), [true, true, true, false]);
    assert_eq!(rows(&f), [0, 0, 0, 0, 0]);
    assert_eq!(rows_under(&f, cf::SM_META, &keys::tasks(0)), 0);
}

#[test]
fn edits_by_the_author_deletes_soft_and_hard_and_replies_counted_on_the_parent() {
    use crate::storage::view::ReplyPage;
    use proto::account::AccountInput;
    use proto::channel::{MessageEdit, MessageInput, ReactionRecord};
    let mut f = Fixture::new();
    let users = ["alice", "bob"]
        .iter()
        .map(|id| AccountInput {
            id: id.to_string(),
            ..Default::default()
        })
        .collect();
    f.ok(Command::UpsertAccounts { accounts: users });
    for id in ["g", "other"] {
        f.ok(Command::GetOrCreateChannel {
            ctype: "messaging".into(),
            id: id.into(),
            created_by: Some("alice".into()),
            custom: Default::default(),
            members: vec!["alice".into(), "bob".into()],
        });
    }
    let send = |ch: &str, id: &str, user: &str, parent: Option<&str>| Command::SendChannelMessage {
        ctype: "messaging".into(),
        id: ch.into(),
        message: MessageInput {
            id: id.into(),
            user_id: user.into(),
            text: format!("{id} by {user}"),
            parent_id: parent.map(str::to_string),
            ..Default::default()
        },
        require_member: true,
    };
    f.ok(send("g", "m1", "alice", None));
    let edit = |editor: Option<&str>, text: &str| Command::UpdateChannelMessage {
        message_id: "m1".into(),
        editor: editor.map(str::to_string),
        edit: MessageEdit {
            text: Some(text.into()),
            set_custom: [("color".to_string(), serde_json::json!("red"))].into(),
            ..Default::default()
        },
    };
    assert!(matches!(
        f.rejected(edit(Some("bob"), "mine now")),
        ChatError::Unauthorized { .. }
    ));
    let Outcome::ChannelMessage(m) = f.ok(edit(Some("alice"), "edited")) else {
        panic!()
    };
    assert_eq!((m.text.as_str(), m.user_id.as_str()), ("edited", "alice"));
    assert!(m.updated_at > m.created_at && m.message_text_updated_at == Some(m.updated_at));
    assert_eq!(m.custom["color"], "red");
    f.ok(edit(None, "by the server"));
    assert_eq!(
        f.view().channel_message("m1").unwrap().unwrap().text,
        "by the server"
    );

    // Replies: the parent must be a live top-level message of the same channel.
    f.ok(send("other", "o1", "alice", None));
    for (id, parent) in [("r0", "zz"), ("r0", "o1")] {
        assert!(matches!(
            f.rejected(send("g", id, "bob", Some(parent))),
            ChatError::Invalid { .. }
        ));
    }
    f.ok(send("g", "r1", "bob", Some("m1")));
    f.ok(send("g", "r2", "alice", Some("m1")));
    f.ok(send("g", "r3", "bob", Some("m1")));
    assert!(matches!(
        f.rejected(send("g", "r4", "bob", Some("r1"))),
        ChatError::Invalid { .. }
    ));
    let v = f.view();
    assert_eq!(v.channel_message("m1").unwrap().unwrap().reply_count, 3);
    let ids = |ms: Vec<proto::channel::ChannelMessageRecord>| -> Vec<String> {
        ms.into_iter().map(|m| m.id).collect()
    };
    assert_eq!(
        ids(v.latest_channel_messages("messaging", "g", 10).unwrap()),
        ["m1"],
        "replies stay out of the channel's messages"
    );
    assert_eq!(
        ids(v.replies("m1", &ReplyPage::Latest, 10).unwrap()),
        ["r1", "r2", "r3"]
    );
    assert_eq!(
        ids(v.replies("m1", &ReplyPage::Latest, 2).unwrap()),
        ["r2", "r3"]
    );
    let before = |id: &str, inclusive| ReplyPage::Before {
        id: id.into(),
        inclusive,
    };
    let after = |id: &str, inclusive| ReplyPage::After {
        id: id.into(),
        inclusive,
    };
    assert_eq!(
        ids(v.replies("m1", &before("r3", false), 10).unwrap()),
        ["r1", "r2"]
    );
    assert_eq!(
        ids(v.replies("m1", &before("r2", true), 1).unwrap()),
        ["r2"]
    );
    assert_eq!(
        ids(v.replies("m1", &after("r1", false), 10).unwrap()),
        ["r2", "r3"]
    );
    assert_eq!(
        ids(v.replies("m1", &after("r2", true), 10).unwrap()),
        ["r2", "r3"]
    );

    // Soft delete: kept as `deleted`, refused for edits and reactions; a reply leaves the count.
    let delete = |id: &str, by: Option<&str>, hard| Command::DeleteChannelMessage {
        message_id: id.into(),
        deleter: by.map(str::to_string),
        hard,
    };
    assert!(matches!(
        f.rejected(delete("r1", Some("alice"), false)),
        ChatError::Unauthorized { .. }
    ));
    f.ok(delete("r1", Some("bob"), false));
    let v = f.view();
    let r1 = v.channel_message("r1").unwrap().unwrap();
    assert_eq!(
        (r1.kind.as_str(), r1.text.as_str()),
        ("deleted", "r1 by bob")
    );
    assert!(r1.deleted_at.is_some());
    assert_eq!(v.channel_message("m1").unwrap().unwrap().reply_count, 2);
    f.ok(delete("r1", Some("bob"), false));
    assert_eq!(
        f.view().channel_message("m1").unwrap().unwrap().reply_count,
        2,
        "a second soft delete changes nothing"
    );
    assert!(matches!(
        f.rejected(Command::UpdateChannelMessage {
            message_id: "r1".into(),
            editor: None,
            edit: MessageEdit::default(),
        }),
        ChatError::Invalid { .. }
    ));
    let react = |msg: &str| Command::SendReaction {
        reaction: ReactionRecord {
            message_id: msg.into(),
            user_id: "alice".into(),
            kind: "like".into(),
            score: 1,
            ..Default::default()
        },
        enforce_unique: false,
        require_member: true,
    };
    assert!(matches!(f.rejected(react("r1")), ChatError::Invalid { .. }));
    f.ok(Command::UndeleteChannelMessage {
        message_id: "r1".into(),
    });
    let v = f.view();
    assert_eq!(v.channel_message("r1").unwrap().unwrap().kind, "reply");
    assert_eq!(v.channel_message("m1").unwrap().unwrap().reply_count, 3);

    // Hard delete: the row, its id, its reactions and its index row are gone.
    f.ok(react("r2"));
    f.ok(delete("r2", None, true));
    let v = f.view();
    assert!(v.channel_message("r2").unwrap().is_none());
    assert!(v.reactions("r2", None, 10).unwrap().is_empty());
    assert_eq!(
        ids(v.replies("m1", &ReplyPage::Latest, 10).unwrap()),
        ["r1", "r3"]
    );
    assert_eq!(v.channel_message("m1").unwrap().unwrap().reply_count, 2);
    assert!(matches!(
        f.rejected(delete("r2", None, true)),
        ChatError::NotFound { .. }
    ));
    f.ok(delete("m1", Some("alice"), false));
    assert_eq!(
        f.view()
            .unread_count("messaging", "g", "bob", 0, 10)
            .unwrap(),
        0,
        "a deleted message is not unread"
    );
    f.ok(delete("m1", Some("alice"), true));
    let v = f.view();
    assert!(v
        .latest_channel_messages("messaging", "g", 10)
        .unwrap()
        .is_empty());
    assert!(v.replies("m1", &ReplyPage::Latest, 10).unwrap().is_empty());
}

#[test]
fn accounts_deactivate_reactivate_delete_and_create_guests() {
    use proto::account::{AccountChange, AccountInput};
    let mut f = Fixture::new();
    let input = |id: &str| AccountInput {
        id: id.into(),
        ..Default::default()
    };
    f.ok(Command::UpsertAccounts {
        accounts: vec![input("dave"), input("erin")],
    });
    let change = |ids: &[&str], change| Command::ChangeAccounts {
        ids: ids.iter().map(|i| i.to_string()).collect(),
        change,
    };
    // All or none: an unknown id leaves dave active.
    assert!(matches!(
        f.rejected(change(&["dave", "nobody"], AccountChange::Deactivate)),
        ChatError::NotFound { .. }
    ));
    assert!(f.view().account("dave").unwrap().unwrap().is_usable());
    // Deactivation takes the entry's time, in ns; again keeps the first time.
    f.ok(change(&["dave"], AccountChange::Deactivate));
    let at = f.now * 1_000_000;
    f.ok(change(&["dave"], AccountChange::Deactivate));
    let dave = f.view().account("dave").unwrap().unwrap();
    assert_eq!((dave.deactivated_at, dave.updated_at), (Some(at), at));
    assert!(!dave.is_usable());
    // An upsert keeps the deactivation; reactivating clears it, and only once.
    f.ok(Command::UpsertAccounts {
        accounts: vec![input("dave")],
    });
    assert_eq!(
        f.view().account("dave").unwrap().unwrap().deactivated_at,
        Some(at)
    );
    f.ok(change(&["dave"], AccountChange::Reactivate));
    assert!(f.view().account("dave").unwrap().unwrap().is_usable());
    assert!(matches!(
        f.rejected(change(&["dave"], AccountChange::Reactivate)),
        ChatError::Invalid { .. }
    ));
    // Soft delete: the row stays with deleted_at; it can no longer be (de)activated.
    f.ok(change(&["erin"], AccountChange::SoftDelete));
    let erin = f.view().account("erin").unwrap().unwrap();
    assert_eq!(erin.deleted_at, Some(f.now * 1_000_000));
    assert!(!erin.is_usable());
    assert!(matches!(
        f.rejected(change(&["erin"], AccountChange::Deactivate)),
        ChatError::Invalid { .. }
    ));
    // Hard delete: the row is gone; the outcome is the account as deleted.
    let Outcome::Accounts(gone) = f.ok(change(&["erin", "dave"], AccountChange::HardDelete)) else {
        panic!()
    };
    assert_eq!(gone.len(), 2);
    assert!(gone.iter().all(|a| a.deleted_at == Some(f.now * 1_000_000)));
    assert!(f.view().account("erin").unwrap().is_none());
    assert!(f.view().account("dave").unwrap().is_none());
    // Guests: a free id is created with the role given; a taken one is refused.
    let guest = AccountInput {
        role: Some("guest".into()),
        ..input("guest-1")
    };
    let Outcome::Accounts(made) = f.ok(Command::CreateAccount {
        account: guest.clone(),
    }) else {
        panic!()
    };
    assert_eq!(made[0].role, "guest");
    assert!(matches!(
        f.rejected(Command::CreateAccount { account: guest }),
        ChatError::AlreadyExists { .. }
    ));
}
