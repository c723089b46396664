//! Apply of the room commands: create, update and delete a room, with the owner and
//! white-list rules, and the deletion of a room together with its messages and subscriptions.

use proto::command::{Actor, Outcome, PasswordChange};
use proto::gs2::records::{MessageRecord, RoomRecord, SubscribeRecord};
use proto::gs2::ChatError;

use super::cascade;
use super::message::delete_message;
use super::subscription::delete_subscribe;
use super::{ok, rejected, Applied};
use crate::storage::cf;
use crate::storage::db::{decode, StoreError};
use crate::storage::keys;
use crate::storage::txn::Txn;
use proto::event::Event;

/// A room's fields as a create or update command carries them.
pub(super) struct RoomFields<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub actor: &'a Actor,
    pub metadata: &'a Option<String>,
    pub white_list_user_ids: &'a [String],
}

pub(super) fn create(
    txn: &mut Txn,
    now: i64,
    f: RoomFields<'_>,
    password_hash: &Option<String>,
) -> Applied {
    let g = txn.group;
    let ns = load_namespace!(txn, keys::namespace(g, f.namespace));
    if matches!(f.actor, Actor::Player(_)) && !ns.settings.allow_create_room {
        return rejected(ChatError::RoomCreationDisabled);
    }
    let k = keys::room(g, f.namespace, f.name);
    if txn.get_raw(cf::ROOMS, &k)?.is_some() {
        return rejected(ChatError::already_exists("room"));
    }
    cascade::finish_room(txn, f.namespace, f.name)?;
    let rec = RoomRecord {
        namespace: f.namespace.to_string(),
        name: f.name.to_string(),
        user_id: f.actor.user_id().map(str::to_string),
        metadata: f.metadata.clone(),
        password_hash: password_hash.clone(),
        white_list_user_ids: f.white_list_user_ids.to_vec(),
        created_at: now,
        updated_at: now,
        revision: 0,
    };
    txn.put(cf::ROOMS, k, &rec);
    ok(Outcome::Room(rec))
}

pub(super) fn update(
    txn: &mut Txn,
    now: i64,
    f: RoomFields<'_>,
    password: &PasswordChange,
) -> Applied {
    let k = keys::room(txn.group, f.namespace, f.name);
    let mut rec = load_room!(txn, f.namespace, f.name);
    if let Err(e) = check_room_admin(&rec, f.actor) {
        return rejected(e);
    }
    rec.metadata = f.metadata.clone();
    match password {
        PasswordChange::Keep => {}
        PasswordChange::Clear => rec.password_hash = None,
        PasswordChange::Set(h) => rec.password_hash = Some(h.clone()),
    }
    rec.white_list_user_ids = f.white_list_user_ids.to_vec();
    rec.updated_at = now;
    rec.revision += 1;
    txn.put(cf::ROOMS, k, &rec);
    ok(Outcome::Room(rec))
}

pub(super) fn delete(
    txn: &mut Txn,
    namespace: &str,
    name: &str,
    actor: &Actor,
    chunked: bool,
) -> Applied {
    let rec = load_room!(txn, namespace, name);
    if let Err(e) = check_room_admin(&rec, actor) {
        return rejected(e);
    }
    if chunked {
        cascade::defer_room(txn, namespace, name);
    } else {
        delete_room_data(txn, namespace, name)?;
    }
    txn.emit(namespace, Some(name), Event::RoomDeleted {});
    ok(Outcome::Room(rec))
}

/// Owner and white-list rules for updating or deleting a room.
fn check_room_admin(room: &RoomRecord, actor: &Actor) -> Result<(), ChatError> {
    let Some(user) = actor.user_id() else {
        return Ok(());
    };
    if matches!(actor, Actor::Player(_))
        && !room.white_list_user_ids.is_empty()
        && !room.white_list_user_ids.iter().any(|u| u == user)
    {
        return Err(ChatError::NotInWhiteList);
    }
    match &room.user_id {
        Some(owner) if owner != user => Err(ChatError::NotOwner),
        _ => Ok(()),
    }
}

/// Deletes a room with its messages and subscriptions in one apply: entries written before
/// cascade tasks existed.
pub(super) fn delete_room_data(txn: &mut Txn, ns: &str, room: &str) -> Result<(), StoreError> {
    let g = txn.group;
    for (_, v) in txn.scan(cf::MESSAGES, &keys::message_room_prefix(g, ns, room))? {
        let m: MessageRecord = decode(cf::MESSAGES, &v)?;
        delete_message(txn, &m);
    }
    for (_, v) in txn.scan(cf::SUBS_BY_ROOM, &keys::subs_by_room_prefix(g, ns, room))? {
        let s: SubscribeRecord = decode(cf::SUBS_BY_ROOM, &v)?;
        delete_subscribe(txn, &s);
    }
    txn.delete(cf::ROOMS, keys::room(g, ns, room));
    Ok(())
}
