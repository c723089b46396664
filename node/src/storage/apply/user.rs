//! Apply of the user data commands: store an upload, dump, clean and import everything held
//! about one user (rooms they own, messages they posted, subscriptions, firebase tokens).

use proto::command::Outcome;
use proto::gs2::records::{
    FirebaseTokenRecord, GatewayNamespaceRecord, MessageRecord, NamespaceRecord, RoomRecord,
    SubscribeRecord, UserDump,
};
use proto::gs2::ChatError;

use super::cascade;
use super::message::{delete_message, put_message};
use super::room::delete_room_data;
use super::subscription::{delete_subscribe, put_subscribe};
use super::{ok, rejected, room_live, Applied};
use crate::storage::cf;
use crate::storage::db::{decode, StoreError};
use crate::storage::keys;
use crate::storage::txn::Txn;

pub(super) fn store_upload(txn: &mut Txn, now: i64, token: &str, body: &str) -> Applied {
    txn.put(
        cf::UPLOADS,
        keys::token(txn.group, token),
        &(now, body.to_string()),
    );
    ok(Outcome::Done)
}

pub(super) fn dump(txn: &mut Txn, user_id: &str) -> Applied {
    let dump = collect_user(txn, user_id)?;
    let json = serde_json::to_string(&dump).expect("dumps always encode");
    txn.put(cf::DUMPS, keys::token(txn.group, user_id), &json);
    ok(Outcome::Done)
}

/// Deletes everything held about the user; the rooms they own go by cascade tasks (`chunked`)
/// or, for entries written before tasks existed, at once.
pub(super) fn clean(txn: &mut Txn, user_id: &str, chunked: bool) -> Applied {
    let g = txn.group;
    let dump = collect_user(txn, user_id)?;
    for room in &dump.rooms {
        match chunked {
            true => cascade::defer_room(txn, &room.namespace, &room.name),
            false => delete_room_data(txn, &room.namespace, &room.name)?,
        }
    }
    for m in &dump.messages {
        delete_message(txn, m);
    }
    for s in &dump.subscribes {
        delete_subscribe(txn, s);
    }
    for t in &dump.firebase_tokens {
        txn.delete(
            cf::FIREBASE_TOKENS,
            keys::firebase_token(g, &t.namespace, &t.user_id),
        );
    }
    ok(Outcome::Done)
}

pub(super) fn import(txn: &mut Txn, user_id: &str, upload_token: &str) -> Applied {
    let g = txn.group;
    let Some((_, body)) = txn.get::<(i64, String)>(cf::UPLOADS, &keys::token(g, upload_token))?
    else {
        return rejected(ChatError::not_found("upload", "uploadToken"));
    };
    let dump: UserDump = match serde_json::from_str(&body) {
        Ok(d) => d,
        Err(_) => {
            return rejected(ChatError::invalid(
                "uploadToken",
                "chat.user.dump.error.invalid",
            ))
        }
    };
    if dump.user_id != user_id {
        return rejected(ChatError::invalid(
            "userId",
            "chat.user.userId.error.mismatch",
        ));
    }
    import_user(txn, &dump)?;
    txn.delete(cf::UPLOADS, keys::token(g, upload_token));
    ok(Outcome::Done)
}

/// Everything held about a user: rooms they own, messages they posted, their subscriptions.
/// Rows of deleted rooms and namespaces waiting for their cascade are left out.
pub fn collect_user(txn: &Txn, user: &str) -> Result<UserDump, StoreError> {
    let g = txn.group;
    let mut dump = UserDump {
        user_id: user.to_string(),
        ..Default::default()
    };
    let namespaces = txn.scan(cf::NAMESPACES, &keys::group_prefix(g))?;
    for (_, v) in &namespaces {
        let ns: NamespaceRecord = decode(cf::NAMESPACES, v)?;
        for (_, v) in txn.scan(cf::ROOMS, &keys::rooms_of(g, &ns.name))? {
            let r: RoomRecord = decode(cf::ROOMS, &v)?;
            if r.user_id.as_deref() == Some(user) {
                dump.rooms.push(r);
            }
        }
        for (k, _) in txn.scan(
            cf::SUBS_BY_USER,
            &keys::subs_by_user_prefix(g, &ns.name, user, ""),
        )? {
            if let Some(k) = keys::decode_sub_by_user(&k) {
                if txn
                    .get_raw(cf::ROOMS, &keys::room(g, &ns.name, &k.room))?
                    .is_none()
                {
                    continue;
                }
                let sk = keys::sub_by_room(g, &ns.name, &k.room, user);
                if let Some(s) = txn.get::<SubscribeRecord>(cf::SUBS_BY_ROOM, &sk)? {
                    dump.subscribes.push(s);
                }
            }
        }
    }
    for (_, v) in txn.scan(cf::GATEWAY_NAMESPACES, &keys::group_prefix(g))? {
        let ns: GatewayNamespaceRecord = decode(cf::GATEWAY_NAMESPACES, &v)?;
        let k = keys::firebase_token(g, &ns.name, user);
        if let Some(t) = txn.get::<FirebaseTokenRecord>(cf::FIREBASE_TOKENS, &k)? {
            dump.firebase_tokens.push(t);
        }
    }
    for (k, _) in txn.scan(
        cf::MESSAGES_BY_USER,
        &keys::messages_by_user_prefix(g, user),
    )? {
        if let Some(k) = keys::decode_message_by_user(&k) {
            if !room_live(txn, &k.ns, &k.room)? {
                continue;
            }
            let mk = keys::message(g, &k.ns, &k.room, k.created_at, &k.name);
            if let Some(m) = txn.get::<MessageRecord>(cf::MESSAGES, &mk)? {
                dump.messages.push(m);
            }
        }
    }
    Ok(dump)
}

/// Restores a dump; records whose namespace or room no longer exists are skipped.
fn import_user(txn: &mut Txn, dump: &UserDump) -> Result<(), StoreError> {
    let g = txn.group;
    for r in &dump.rooms {
        if txn
            .get_raw(cf::NAMESPACES, &keys::namespace(g, &r.namespace))?
            .is_some()
        {
            cascade::finish_room(txn, &r.namespace, &r.name)?;
            txn.put(cf::ROOMS, keys::room(g, &r.namespace, &r.name), r);
        }
    }
    for m in &dump.messages {
        if m.user_id == dump.user_id && room_live(txn, &m.namespace, &m.room)? {
            put_message(txn, m);
        }
    }
    for t in &dump.firebase_tokens {
        if t.user_id == dump.user_id
            && txn
                .get_raw(cf::GATEWAY_NAMESPACES, &keys::namespace(g, &t.namespace))?
                .is_some()
        {
            txn.put(
                cf::FIREBASE_TOKENS,
                keys::firebase_token(g, &t.namespace, &t.user_id),
                t,
            );
        }
    }
    for s in &dump.subscribes {
        if s.user_id == dump.user_id && room_live(txn, &s.namespace, &s.room)? {
            put_subscribe(txn, s);
        }
    }
    Ok(())
}
