//! Apply of the subscription commands: subscribe, update the notification types,
//! unsubscribe, and the writing and deleting of a subscription with its by-user index row.

use proto::command::Outcome;
use proto::event::Event;
use proto::gs2::models::NotificationType;
use proto::gs2::records::SubscribeRecord;
use proto::gs2::ChatError;

use super::{ok, rejected, room_live, Applied};
use crate::storage::cf;
use crate::storage::keys;
use crate::storage::txn::Txn;

pub(super) fn subscribe(
    txn: &mut Txn,
    now: i64,
    namespace: &str,
    room: &str,
    user_id: &str,
    notification_types: &[NotificationType],
) -> Applied {
    let g = txn.group;
    if !room_live(txn, namespace, room)? {
        return rejected(ChatError::not_found("room", "room"));
    }
    let k = keys::sub_by_room(g, namespace, room, user_id);
    if txn.get_raw(cf::SUBS_BY_ROOM, &k)?.is_some() {
        return rejected(ChatError::already_exists("subscribe"));
    }
    let rec = SubscribeRecord {
        namespace: namespace.to_string(),
        user_id: user_id.to_string(),
        room: room.to_string(),
        notification_types: notification_types.to_vec(),
        created_at: now,
        revision: 0,
    };
    put_subscribe(txn, &rec);
    txn.emit(
        namespace,
        Some(room),
        Event::Subscribed {
            user_id: user_id.to_string(),
            notification_types: notification_types.to_vec(),
        },
    );
    ok(Outcome::Subscribe(rec))
}

pub(super) fn update_notification_type(
    txn: &mut Txn,
    namespace: &str,
    room: &str,
    user_id: &str,
    notification_types: &[NotificationType],
) -> Applied {
    if !room_live(txn, namespace, room)? {
        return rejected(ChatError::not_found("subscribe", "subscribe"));
    }
    let k = keys::sub_by_room(txn.group, namespace, room, user_id);
    let mut rec = load_subscribe!(txn, k);
    rec.notification_types = notification_types.to_vec();
    rec.revision += 1;
    put_subscribe(txn, &rec);
    txn.emit(
        namespace,
        Some(room),
        Event::SubscriptionUpdated {
            user_id: user_id.to_string(),
            notification_types: notification_types.to_vec(),
        },
    );
    ok(Outcome::Subscribe(rec))
}

pub(super) fn unsubscribe(txn: &mut Txn, namespace: &str, room: &str, user_id: &str) -> Applied {
    if !room_live(txn, namespace, room)? {
        return rejected(ChatError::not_found("subscribe", "subscribe"));
    }
    let k = keys::sub_by_room(txn.group, namespace, room, user_id);
    let rec = load_subscribe!(txn, k);
    delete_subscribe(txn, &rec);
    txn.emit(
        namespace,
        Some(room),
        Event::Unsubscribed {
            user_id: user_id.to_string(),
        },
    );
    ok(Outcome::Subscribe(rec))
}

/// Writes a subscription with its by-user index row.
pub(super) fn put_subscribe(txn: &mut Txn, s: &SubscribeRecord) {
    let g = txn.group;
    txn.put(
        cf::SUBS_BY_ROOM,
        keys::sub_by_room(g, &s.namespace, &s.room, &s.user_id),
        s,
    );
    txn.put_raw(
        cf::SUBS_BY_USER,
        keys::sub_by_user(g, &s.namespace, &s.user_id, &s.room),
        Vec::new(),
    );
}

/// Deletes a subscription with its by-user index row; the counterpart of [`put_subscribe`].
pub(super) fn delete_subscribe(txn: &mut Txn, s: &SubscribeRecord) {
    let g = txn.group;
    txn.delete(
        cf::SUBS_BY_ROOM,
        keys::sub_by_room(g, &s.namespace, &s.room, &s.user_id),
    );
    txn.delete(
        cf::SUBS_BY_USER,
        keys::sub_by_user(g, &s.namespace, &s.user_id, &s.room),
    );
}
