//! Apply of what happens to a channel message after its send: edits (full or partial, by its
//! author or the server), soft and hard deletes, and undeletes. Replies keep their parent's
//! `reply_count` (replies not deleted) and the `replies` index. Times are the entry's, in ns.

use proto::channel::{cid, ChannelMessageRecord, MessageEdit, KIND_DELETED};
use proto::command::Outcome;
use proto::event::{Event, CHANNELS_NAMESPACE};
use proto::gs2::ChatError;

use super::{ok, rejected, Applied};
use crate::storage::cf;
use crate::storage::db::StoreError;
use crate::storage::keys;
use crate::storage::txn::Txn;

fn nanos(now_ms: i64) -> i64 {
    now_ms.saturating_mul(1_000_000)
}

/// A channel message by id, with the key of its row.
pub(super) fn load(
    txn: &Txn,
    msg: &str,
) -> Result<Option<(Vec<u8>, ChannelMessageRecord)>, StoreError> {
    let g = txn.group;
    let Some((ctype, id, at)) =
        txn.get::<(String, String, i64)>(cf::MESSAGE_IDS, &keys::message_id(g, msg))?
    else {
        return Ok(None);
    };
    let k = keys::channel_message(g, &ctype, &id, at, msg);
    Ok(txn
        .get::<ChannelMessageRecord>(cf::CHANNEL_MESSAGES, &k)?
        .map(|m| (k, m)))
}

/// The rejection of a change to a message that is deleted.
pub(super) fn deleted(msg: &str) -> ChatError {
    ChatError::invalid("message", format!("message {msg} is deleted"))
}

/// Refuses a user other than the author (`None`: the server, who may).
fn check_author(m: &ChannelMessageRecord, actor: &Option<String>, what: &str) -> Option<ChatError> {
    match actor {
        Some(u) if *u != m.user_id => Some(ChatError::unauthorized(format!(
            "user {u} may not {what} message {} of user {}",
            m.id, m.user_id
        ))),
        _ => None,
    }
}

/// Moves the `reply_count` of a reply's parent by `delta` (a parent gone is left alone).
fn count_reply(txn: &mut Txn, reply: &ChannelMessageRecord, delta: i64) -> Result<(), StoreError> {
    let Some(parent) = &reply.parent_id else {
        return Ok(());
    };
    if let Some((k, mut p)) = load(txn, parent)? {
        p.reply_count = (i64::from(p.reply_count) + delta).clamp(0, i64::from(u32::MAX)) as u32;
        txn.put(cf::CHANNEL_MESSAGES, k, &p);
    }
    Ok(())
}

fn emit_updated(txn: &mut Txn, m: &ChannelMessageRecord, action: &str) {
    txn.emit(
        CHANNELS_NAMESPACE,
        Some(&m.cid()),
        Event::ChannelMessageUpdated {
            message_id: m.id.clone(),
            user_id: m.user_id.clone(),
            action: action.to_string(),
        },
    );
}

pub(super) fn update(
    txn: &mut Txn,
    now_ms: i64,
    msg: &str,
    editor: &Option<String>,
    edit: &MessageEdit,
) -> Applied {
    let Some((k, mut m)) = load(txn, msg)? else {
        return rejected(ChatError::not_found("message", "id"));
    };
    if let Some(e) = check_author(&m, editor, "edit") {
        return rejected(e);
    }
    if m.is_deleted() {
        return rejected(deleted(msg));
    }
    m.edit(edit, nanos(now_ms));
    if m.text.is_empty() && m.attachments.is_empty() {
        return rejected(ChatError::invalid(
            "message",
            "a message needs a text or attachments",
        ));
    }
    txn.put(cf::CHANNEL_MESSAGES, k, &m);
    emit_updated(txn, &m, "updated");
    ok(Outcome::ChannelMessage(Box::new(m)))
}

pub(super) fn delete(
    txn: &mut Txn,
    now_ms: i64,
    msg: &str,
    deleter: &Option<String>,
    hard: bool,
) -> Applied {
    let g = txn.group;
    let Some((k, mut m)) = load(txn, msg)? else {
        return rejected(ChatError::not_found("message", "id"));
    };
    if let Some(e) = check_author(&m, deleter, "delete") {
        return rejected(e);
    }
    let now = nanos(now_ms);
    let was_deleted = m.is_deleted();
    if !hard && was_deleted {
        // Deleting again answers the message as it is, with no event.
        return ok(Outcome::ChannelMessage(Box::new(m)));
    }
    if !was_deleted {
        count_reply(txn, &m, -1)?;
    }
    if hard {
        txn.delete(cf::CHANNEL_MESSAGES, k);
        txn.delete(cf::MESSAGE_IDS, keys::message_id(g, msg));
        for (rk, _) in txn.scan(cf::REACTIONS, &keys::reactions_of(g, msg, None))? {
            txn.delete(cf::REACTIONS, rk);
        }
        if let Some(p) = &m.parent_id {
            txn.delete(cf::REPLIES, keys::reply(g, p, m.created_at, msg));
        }
        // Its own replies stay stored (reachable by id), out of any listing.
        for (rk, _) in txn.scan(cf::REPLIES, &keys::replies_of(g, msg))? {
            txn.delete(cf::REPLIES, rk);
        }
    } else {
        m.kind = KIND_DELETED.to_string();
        m.deleted_at = Some(now);
        m.updated_at = now;
        txn.put(cf::CHANNEL_MESSAGES, k, &m);
    }
    if hard {
        m.kind = KIND_DELETED.to_string();
        m.deleted_at = Some(now);
    }
    txn.emit(
        CHANNELS_NAMESPACE,
        Some(&cid(&m.ctype, &m.channel_id)),
        Event::ChannelMessageDeleted {
            message_id: m.id.clone(),
            user_id: m.user_id.clone(),
            hard,
            parent_id: m.parent_id.clone(),
            created_at: m.created_at,
        },
    );
    ok(Outcome::ChannelMessage(Box::new(m)))
}

pub(super) fn undelete(txn: &mut Txn, now_ms: i64, msg: &str) -> Applied {
    let Some((k, mut m)) = load(txn, msg)? else {
        return rejected(ChatError::not_found("message", "id"));
    };
    if !m.is_deleted() {
        return rejected(ChatError::invalid(
            "message",
            format!("message {msg} is not deleted"),
        ));
    }
    m.kind = m.live_kind().to_string();
    m.deleted_at = None;
    m.updated_at = nanos(now_ms);
    count_reply(txn, &m, 1)?;
    txn.put(cf::CHANNEL_MESSAGES, k, &m);
    emit_updated(txn, &m, "undeleted");
    ok(Outcome::ChannelMessage(Box::new(m)))
}
