//! Apply of the message commands: post (with the room's password, white-list and category
//! rules) and delete, and the writing and deleting of a message with its index rows.

use proto::command::{Actor, Outcome};
use proto::event::Event;
use proto::gs2::records::{CurrentMasterRecord, MessageRecord};
use proto::gs2::ChatError;

use super::{ok, rejected, room_live, Applied};
use crate::storage::cf;
use crate::storage::db::StoreError;
use crate::storage::keys::{self, GroupId};
use crate::storage::txn::Txn;

/// A post command's fields.
pub(super) struct PostFields<'a> {
    pub namespace: &'a str,
    pub room: &'a str,
    pub name: &'a str,
    pub actor: &'a Actor,
    pub user_id: &'a str,
    pub category: i64,
    pub metadata: &'a Option<String>,
    pub checked_room_revision: Option<i64>,
}

pub(super) fn post(txn: &mut Txn, now: i64, f: PostFields<'_>) -> Applied {
    let g = txn.group;
    let PostFields {
        namespace,
        room,
        name,
        actor,
        user_id,
        category,
        metadata,
        checked_room_revision,
    } = f;
    let ns = load_namespace!(txn, keys::namespace(g, namespace));
    let r = load_room!(txn, namespace, room);
    if r.password_hash.is_some() {
        match checked_room_revision {
            None => return rejected(ChatError::PasswordRequired),
            // The password was checked against an older room: it may have changed.
            Some(rev) if rev != r.revision => return rejected(ChatError::PasswordInvalid),
            Some(_) => {}
        }
    }
    if !r.white_list_user_ids.is_empty() && !r.white_list_user_ids.iter().any(|u| u == user_id) {
        return rejected(ChatError::NotInWhiteList);
    }
    if matches!(actor, Actor::Player(_)) {
        let current: Option<CurrentMasterRecord> =
            txn.get(cf::CURRENT_MASTERS, &keys::namespace(g, namespace))?;
        if current.is_some_and(|c| c.rejects_player_post(category)) {
            return rejected(ChatError::PostRejected { category });
        }
    }
    if txn
        .get_raw(
            cf::MESSAGE_NAMES,
            &keys::message_name(g, namespace, room, name),
        )?
        .is_some()
    {
        return rejected(ChatError::already_exists("message"));
    }
    let rec = MessageRecord {
        namespace: namespace.to_string(),
        room: room.to_string(),
        name: name.to_string(),
        user_id: user_id.to_string(),
        category,
        metadata: metadata.clone(),
        created_at: now,
        revision: 0,
    };
    put_message(txn, &rec);
    txn.emit(
        namespace,
        Some(room),
        Event::MessagePosted {
            message_name: rec.name.clone(),
            user_id: rec.user_id.clone(),
            category: rec.category,
            metadata: rec.metadata.clone(),
            created_at: rec.created_at,
        },
    );
    let mobile = ns.settings.post_notification.as_ref().is_some_and(|n| {
        n.enable_transfer_mobile_notification == Some(true)
            && n.enable.as_deref() != Some("Disabled")
    });
    if mobile {
        txn.emit(
            namespace,
            Some(room),
            Event::MobilePushRequested {
                message_name: rec.name.clone(),
                user_id: rec.user_id.clone(),
                category: rec.category,
                created_at: rec.created_at,
            },
        );
    }
    ok(Outcome::Message(rec))
}

pub(super) fn delete(txn: &mut Txn, namespace: &str, room: &str, name: &str) -> Applied {
    let found = match room_live(txn, namespace, room)? {
        true => find_message(txn, namespace, room, name)?,
        false => None,
    };
    let Some(rec) = found else {
        return rejected(ChatError::not_found("message", "message"));
    };
    delete_message(txn, &rec);
    txn.emit(
        namespace,
        Some(room),
        Event::MessageDeleted {
            message_name: name.to_string(),
        },
    );
    ok(Outcome::Message(rec))
}

/// The keys of every row one message occupies: the record and its index rows. Writing and
/// deleting go through [`put_message`] and [`delete_message`], which both take their keys
/// from here, so the two cannot drift apart.
struct MessageRows {
    record: Vec<u8>,
    by_name: Vec<u8>,
    by_user: Vec<u8>,
}

impl MessageRows {
    fn of(g: GroupId, m: &MessageRecord) -> Self {
        MessageRows {
            record: keys::message(g, &m.namespace, &m.room, m.created_at, &m.name),
            by_name: keys::message_name(g, &m.namespace, &m.room, &m.name),
            by_user: keys::message_by_user(
                g,
                &m.user_id,
                &m.namespace,
                &m.room,
                m.created_at,
                &m.name,
            ),
        }
    }
}

/// A message by its name, through the by-name index row (which holds its `created_at`).
fn find_message(
    txn: &Txn,
    namespace: &str,
    room: &str,
    name: &str,
) -> Result<Option<MessageRecord>, StoreError> {
    let g = txn.group;
    let nk = keys::message_name(g, namespace, room, name);
    let Some(created) = txn.get::<i64>(cf::MESSAGE_NAMES, &nk)? else {
        return Ok(None);
    };
    txn.get::<MessageRecord>(
        cf::MESSAGES,
        &keys::message(g, namespace, room, created, name),
    )
}

/// Writes a message with its index rows (by name, by user).
pub(super) fn put_message(txn: &mut Txn, m: &MessageRecord) {
    let rows = MessageRows::of(txn.group, m);
    txn.put(cf::MESSAGES, rows.record, m);
    txn.put(cf::MESSAGE_NAMES, rows.by_name, &m.created_at);
    txn.put_raw(cf::MESSAGES_BY_USER, rows.by_user, Vec::new());
}

/// Deletes a message with its index rows; the counterpart of [`put_message`].
pub(super) fn delete_message(txn: &mut Txn, m: &MessageRecord) {
    let rows = MessageRows::of(txn.group, m);
    txn.delete(cf::MESSAGES, rows.record);
    txn.delete(cf::MESSAGE_NAMES, rows.by_name);
    txn.delete(cf::MESSAGES_BY_USER, rows.by_user);
}
