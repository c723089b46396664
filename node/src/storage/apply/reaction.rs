//! Apply of what members do to a channel besides posting: reactions to its messages, marking it
//! read, and client events (typing, custom) relayed in log order. Times are the entry's, in ns.

use proto::channel::{cid, ReactionRecord, ReadRecord};
use proto::command::Outcome;
use proto::event::{Event, CHANNELS_NAMESPACE};
use proto::gs2::ChatError;

use super::{ok, rejected, Applied};
use crate::storage::cf;
use crate::storage::db::{decode, StoreError};
use crate::storage::keys;
use crate::storage::txn::Txn;

fn nanos(now_ms: i64) -> i64 {
    now_ms.saturating_mul(1_000_000)
}

/// The channel (type, id) of a message, if the message exists.
fn channel_of(txn: &Txn, msg: &str) -> Result<Option<(String, String)>, StoreError> {
    Ok(txn
        .get::<(String, String, i64)>(cf::MESSAGE_IDS, &keys::message_id(txn.group, msg))?
        .map(|(t, i, _)| (t, i)))
}

fn is_member(txn: &Txn, ctype: &str, id: &str, user: &str) -> Result<bool, StoreError> {
    Ok(txn
        .get_raw(cf::MEMBERS, &keys::member(txn.group, ctype, id, user))?
        .is_some())
}

pub(super) fn send(
    txn: &mut Txn,
    now_ms: i64,
    r: &ReactionRecord,
    enforce_unique: bool,
    require_member: bool,
) -> Applied {
    let g = txn.group;
    let Some((_, m)) = super::edit::load(txn, &r.message_id)? else {
        return rejected(ChatError::not_found("message", "id"));
    };
    if m.is_deleted() {
        return rejected(super::edit::deleted(&r.message_id));
    }
    let (ctype, id) = (m.ctype, m.channel_id);
    if txn
        .get_raw(cf::CHANNELS, &keys::channel(g, &ctype, &id))?
        .is_none()
    {
        return rejected(ChatError::not_found("message", "id"));
    }
    if require_member && !is_member(txn, &ctype, &id, &r.user_id)? {
        return rejected(ChatError::unauthorized(format!(
            "user {} is not a member of channel {}",
            r.user_id,
            cid(&ctype, &id)
        )));
    }
    if txn
        .get_raw(cf::ACCOUNTS, &keys::account(g, &r.user_id))?
        .is_none()
    {
        return rejected(ChatError::invalid(
            "reaction",
            format!("user {} does not exist", r.user_id),
        ));
    }
    let mut replaced = false;
    if enforce_unique {
        let prefix = keys::reactions_of(g, &r.message_id, Some(&r.user_id));
        for (k, v) in txn.scan(cf::REACTIONS, &prefix)? {
            let other: ReactionRecord = decode(cf::REACTIONS, &v)?;
            if other.kind != r.kind {
                txn.delete(cf::REACTIONS, k);
                replaced = true;
            }
        }
    }
    let k = keys::reaction(g, &r.message_id, &r.user_id, &r.kind);
    let now = nanos(now_ms);
    let old: Option<ReactionRecord> = txn.get(cf::REACTIONS, &k)?;
    let rec = ReactionRecord {
        created_at: old.as_ref().map_or(now, |o| o.created_at),
        updated_at: now,
        ..r.clone()
    };
    txn.put(cf::REACTIONS, k, &rec);
    let action = match replaced || old.is_some() {
        true => "updated",
        false => "new",
    };
    emit(txn, &ctype, &id, &rec, action);
    ok(Outcome::Reaction(Box::new(rec)))
}

pub(super) fn delete(txn: &mut Txn, msg: &str, user: &str, kind: &str) -> Applied {
    let Some((ctype, id)) = channel_of(txn, msg)? else {
        return rejected(ChatError::not_found("message", "id"));
    };
    let k = keys::reaction(txn.group, msg, user, kind);
    let Some(rec) = txn.get::<ReactionRecord>(cf::REACTIONS, &k)? else {
        return rejected(ChatError::not_found("reaction", "type"));
    };
    txn.delete(cf::REACTIONS, k);
    emit(txn, &ctype, &id, &rec, "deleted");
    ok(Outcome::Reaction(Box::new(rec)))
}

fn emit(txn: &mut Txn, ctype: &str, id: &str, r: &ReactionRecord, action: &str) {
    txn.emit(
        CHANNELS_NAMESPACE,
        Some(&cid(ctype, id)),
        Event::ChannelReaction {
            message_id: r.message_id.clone(),
            user_id: r.user_id.clone(),
            kind: r.kind.clone(),
            action: action.to_string(),
        },
    );
}

pub(super) fn mark_read(
    txn: &mut Txn,
    now_ms: i64,
    ctype: &str,
    id: &str,
    user: &str,
    message_id: &Option<String>,
) -> Applied {
    let g = txn.group;
    if txn
        .get_raw(cf::CHANNELS, &keys::channel(g, ctype, id))?
        .is_none()
    {
        return rejected(ChatError::not_found("channel", "id"));
    }
    if !is_member(txn, ctype, id, user)? {
        return rejected(ChatError::unauthorized(format!(
            "user {user} is not a member of channel {}",
            cid(ctype, id)
        )));
    }
    let rec = ReadRecord {
        last_read: nanos(now_ms),
        last_read_message_id: message_id.clone(),
    };
    txn.put(cf::READS, keys::read_state(g, ctype, id, user), &rec);
    txn.emit(
        CHANNELS_NAMESPACE,
        Some(&cid(ctype, id)),
        Event::ChannelRead {
            user_id: user.to_string(),
            last_read: rec.last_read,
            last_read_message_id: rec.last_read_message_id.clone(),
        },
    );
    ok(Outcome::Read(rec))
}

pub(super) fn client_event(
    txn: &mut Txn,
    ctype: &str,
    id: &str,
    user: &str,
    event: &str,
) -> Applied {
    if txn
        .get_raw(cf::CHANNELS, &keys::channel(txn.group, ctype, id))?
        .is_none()
    {
        return rejected(ChatError::not_found("channel", "id"));
    }
    txn.emit(
        CHANNELS_NAMESPACE,
        Some(&cid(ctype, id)),
        Event::ChannelClientEvent {
            user_id: user.to_string(),
            event: event.to_string(),
        },
    );
    ok(Outcome::Done)
}
