use super::*;

#[test]
fn message_key_round_trips_and_sorts_by_time() {
    let k = message(7, "ns", "room-1", 1234, "abc-def");
    let want = MessageKey {
        ns: "ns".into(),
        room: "room-1".into(),
        created_at: 1234,
        name: "abc-def".into(),
    };
    assert_eq!(decode_message(&k), Some(want));
    assert!(message(7, "ns", "r", 9, "z") < message(7, "ns", "r", 10, "a"));
    assert!(k.starts_with(&message_room_prefix(7, "ns", "room-1")));
    assert!(!k.starts_with(&message_room_prefix(7, "ns", "room")));
    // Seek bounds: a message at `ts` is at or after `messages_at(ts)`, before `messages_at(ts + 1)`.
    assert!(messages_at(7, "ns", "room-1", 1234) <= k);
    assert!(k < messages_at(7, "ns", "room-1", 1235));
    assert!(k.starts_with(&messages_at(7, "ns", "room-1", 1234)));
}

#[test]
fn room_key_round_trips() {
    let k = room(3, "ns", "room-1");
    let want = RoomKey {
        ns: "ns".into(),
        room: "room-1".into(),
    };
    assert_eq!(decode_room(&k), Some(want));
    assert!(k.starts_with(&rooms_of(3, "ns")));
    assert!(k.starts_with(&room_name_prefix(3, "ns", "room")));
    assert!(!k.starts_with(&room_name_prefix(3, "ns", "room-2")));
    assert!(!k.starts_with(&rooms_of(3, "n")));
}

#[test]
fn message_by_user_key_round_trips() {
    let k = message_by_user(0, "user 1", "ns", "r", 5, "m");
    let want = MessageByUserKey {
        user: "user 1".into(),
        ns: "ns".into(),
        room: "r".into(),
        created_at: 5,
        name: "m".into(),
    };
    assert_eq!(decode_message_by_user(&k), Some(want));
    assert!(k.starts_with(&messages_by_user_prefix(0, "user 1")));
    assert!(!k.starts_with(&messages_by_user_prefix(0, "user")));
}

#[test]
fn sub_by_user_key_round_trips() {
    let k = sub_by_user(0, "ns", "u", "room");
    let want = SubByUserKey {
        ns: "ns".into(),
        user: "u".into(),
        room: "room".into(),
    };
    assert_eq!(decode_sub_by_user(&k), Some(want));
    assert!(k.starts_with(&subs_by_user_prefix(0, "ns", "u", "")));
    assert!(k.starts_with(&subs_by_user_prefix(0, "ns", "u", "ro")));
    assert!(!k.starts_with(&subs_by_user_prefix(0, "ns", "u", "x")));
    assert!(sub_by_room(0, "ns", "room", "u").starts_with(&subs_by_room_prefix(0, "ns", "room")));
}

#[test]
fn outbox_key_round_trips_and_sorts_in_log_order() {
    let k = outbox(1, 9, 3);
    assert_eq!(decode_outbox(&k), Some(OutboxKey { index: 9, seq: 3 }));
    let max = outbox(1, u64::MAX, u32::MAX);
    let want = OutboxKey {
        index: u64::MAX,
        seq: u32::MAX,
    };
    assert_eq!(decode_outbox(&max), Some(want));
    assert!(outbox(1, 9, u32::MAX) < outbox(1, 10, 0));
    assert!(k.starts_with(&group_prefix(1)));
}

#[test]
fn decoders_refuse_other_shapes_and_truncated_keys() {
    let room_k = room(0, "ns", "r");
    let message_k = message(0, "ns", "r", 0x4142, "m");
    let by_user_k = message_by_user(0, "u", "ns", "r", 0x4142, "m");
    let sub_k = sub_by_user(0, "ns", "u", "r");
    let outbox_k = outbox(0, 9, 3);
    // Another shape.
    assert_eq!(decode_room(&namespace(0, "ns")), None);
    assert_eq!(decode_room(&sub_k), None);
    assert_eq!(decode_room(&message_k), None);
    assert_eq!(decode_message(&room_k), None);
    assert_eq!(decode_message(&log(0, 1)), None);
    assert_eq!(decode_message_by_user(&room_k), None);
    assert_eq!(decode_message_by_user(&sub_k), None);
    assert_eq!(decode_sub_by_user(&room_k), None);
    assert_eq!(decode_sub_by_user(&by_user_k), None);
    assert_eq!(decode_outbox(&log(0, 9)), None);
    assert_eq!(decode_outbox(&room_k), None);
    // A sequence number above u32 is no outbox key.
    let mut wide = log(0, 9);
    wide.extend_from_slice(&u64::MAX.to_be_bytes());
    assert_eq!(decode_outbox(&wide), None);
    // Shapes of the same structure are not told apart (hence one decoder per column family).
    assert!(decode_sub_by_user(&message_name(0, "ns", "r", "m")).is_some());
    // Every truncation, down to an empty slice and into the group id. A message key's name is
    // its unterminated tail, so cutting only into the name gives another (valid) name.
    type Decodes = fn(&[u8]) -> bool;
    let checks: [(&[u8], Decodes, usize); 5] = [
        (&room_k, |k| decode_room(k).is_some(), 0),
        (&message_k, |k| decode_message(k).is_some(), 1),
        (&by_user_k, |k| decode_message_by_user(k).is_some(), 1),
        (&sub_k, |k| decode_sub_by_user(k).is_some(), 0),
        (&outbox_k, |k| decode_outbox(k).is_some(), 0),
    ];
    for (full, decodes, name_len) in checks {
        assert!(decodes(full), "{full:02x?}");
        for len in 0..full.len() - name_len {
            assert!(!decodes(&full[..len]), "{:02x?}", &full[..len]);
        }
    }
    // Not UTF-8.
    let mut bad = room_k.clone();
    bad[4] = 0xff;
    assert_eq!(decode_room(&bad), None);
}

#[test]
fn internal_dedup_keys_fall_inside_their_sweep_bounds() {
    let name = internal_dedup(0x1234, "abc");
    assert_eq!(name, "~0000000000001234abc");
    let k = dedup(0, &name);
    assert!(k.starts_with(&dedup_scope_prefix(0, INTERNAL_DEDUP_SCOPE)));
    assert!(k >= internal_dedup_before(0, 0x1234));
    assert!(k < internal_dedup_before(0, 0x1235));
    assert!(!dedup(0, "p:k").starts_with(&dedup_scope_prefix(0, INTERNAL_DEDUP_SCOPE)));
    assert!(dedup(0, "p:k").starts_with(&dedup_scope_prefix(0, "p:")));
}

#[test]
fn category_and_log_keys() {
    let k = category_master(1, "ns", 42);
    assert!(k.starts_with(&category_masters_of(1, "ns")));
    assert_eq!(&log(3, 9)[..GROUP_LEN], &3u32.to_be_bytes());
    assert!(namespace(0, "name").starts_with(&namespace_name_prefix(0, "na")));
}

#[test]
fn member_by_user_keys_round_trip() {
    let k = member_by_user(1, "alice", "messaging", "general");
    assert!(k.starts_with(&channels_of_member(1, "alice")));
    assert_eq!(
        decode_member_by_user(&k),
        Some(MemberByUserKey {
            user: "alice".into(),
            ctype: "messaging".into(),
            id: "general".into()
        })
    );
    assert_eq!(decode_member_by_user(&k[..k.len() - 1]), None);
}

#[test]
fn task_keys_round_trip_and_sit_under_the_task_prefix() {
    let ns = namespace_task(2, "ns");
    let room = room_task(2, "ns", "r1");
    for k in [&ns, &room] {
        assert!(k.starts_with(&tasks(2)));
    }
    assert_eq!(
        decode_task(&ns),
        Some(TaskKey::Namespace { ns: "ns".into() })
    );
    assert_eq!(
        decode_task(&room),
        Some(TaskKey::Room {
            ns: "ns".into(),
            room: "r1".into()
        })
    );
    assert_eq!(
        decode_task(&channel_task(2, "messaging", "g")),
        Some(TaskKey::Channel {
            ctype: "messaging".into(),
            id: "g".into()
        })
    );
    assert_eq!(decode_task(&meta(2, "task")), None);
    assert_eq!(decode_task(&meta(2, "last_applied")), None);
    assert_eq!(decode_task(&room[..room.len() - 1]), None);
}

fn hex(key: &[u8]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

/// The on-disk format: existing databases and snapshots hold these bytes, so a change here
/// is a migration, not a refactor. Expected values computed independently of this code.
#[test]
fn key_bytes_are_pinned() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (log(7, 0x0102_0304_0506_0708), "000000070102030405060708"),
        (meta(7, "m"), "000000076d00"),
        (namespace(7, "ns"), "000000076e7300"),
        (room(7, "ns", "r1"), "000000076e7300723100"),
        (
            message(7, "ns", "r1", 1234, "m1"),
            "000000076e730072310000000000000004d26d31",
        ),
        (
            message(7, "ns", "r1", -5, "m1"),
            "000000076e730072310000000000000000006d31",
        ),
        (
            message_name(7, "ns", "r1", "m1"),
            "000000076e73007231006d3100",
        ),
        (
            message_by_user(7, "u1", "ns", "r1", 1234, "m1"),
            "000000077531006e730072310000000000000004d26d31",
        ),
        (
            sub_by_room(7, "ns", "r1", "u1"),
            "000000076e7300723100753100",
        ),
        (
            sub_by_user(7, "ns", "u1", "r1"),
            "000000076e7300753100723100",
        ),
        (
            category_master(7, "ns", 42),
            "000000076e7300000000000000002a",
        ),
        (outbox(7, 9, 3), "0000000700000000000000090000000000000003"),
        (firebase_token(7, "gw", "u1"), "00000007677700753100"),
        (token(7, "tok"), "00000007746f6b00"),
        (token(7, "p:k"), "00000007703a6b00"),
        (message_room_prefix(7, "ns", "r1"), "000000076e7300723100"),
        (group_prefix(7), "00000007"),
        (namespace_name_prefix(7, "n"), "000000076e"),
        (room_name_prefix(7, "ns", "r"), "000000076e730072"),
        (
            messages_at(7, "ns", "r1", 1234),
            "000000076e730072310000000000000004d2",
        ),
        (
            subs_by_user_prefix(7, "ns", "u1", "r"),
            "000000076e730075310072",
        ),
        (messages_by_user_prefix(7, "u1"), "00000007753100"),
        (dedup_scope_prefix(7, INTERNAL_DEDUP_SCOPE), "000000077e"),
        (
            internal_dedup_before(7, 0x1234),
            "000000077e30303030303030303030303031323334",
        ),
        (dedup_scope_prefix(7, "p:"), "00000007703a"),
        // Bounds sharing the bytes of a key above.
        (rooms_of(7, "ns"), "000000076e7300"),
        (category_masters_of(7, "ns"), "000000076e7300"),
        (subs_by_room_prefix(7, "ns", "r1"), "000000076e7300723100"),
        (
            subs_by_user_prefix(7, "ns", "u1", ""),
            "000000076e7300753100",
        ),
        (dedup(7, "p:k"), "00000007703a6b00"),
        (tasks(7), "000000077461736b00"),
        (account(7, "al"), "00000007616c00"),
        (channel(7, "m", "g"), "000000076d006700"),
        (member(7, "m", "g", "al"), "000000076d006700616c00"),
        (member_by_user(7, "al", "m", "g"), "00000007616c006d006700"),
        (
            channel_message(7, "m", "g", 1234, "x"),
            "000000076d00670000000000000004d278",
        ),
        (message_id(7, "x"), "000000077800"),
        (
            reaction(7, "x", "al", "like"),
            "000000077800616c006c696b6500",
        ),
        (reactions_of(7, "x", Some("al")), "000000077800616c00"),
        (reply(7, "p", 1234, "x"), "00000007700000000000000004d278"),
        (replies_of(7, "p"), "000000077000"),
        (
            namespace_task(7, "ns"),
            "000000077461736b006e616d657370616365006e7300",
        ),
        (
            room_task(7, "ns", "r1"),
            "000000077461736b00726f6f6d006e7300723100",
        ),
        (
            internal_dedup_before(7, -5),
            "000000077e30303030303030303030303030303030",
        ),
    ];
    for (i, (key, want)) in cases.iter().enumerate() {
        assert_eq!(hex(key), *want, "case {i}");
    }
}

#[test]
fn prefix_end_bounds_prefix() {
    let p = namespace(0, "ns");
    let end = prefix_end(&p);
    assert!(room(0, "ns", "zzz") < end);
    assert!(p < end);
    assert_eq!(prefix_end(&[1, 0xff]), vec![2]);
}
