//! Apply of the channel commands (the Stream face's channels): get-or-create with the first
//! members, and posting a message (a reply counts on its parent and goes to the `replies`
//! index). Times are the entry's, in nanoseconds.

use proto::account::Custom;
use proto::channel::{
    cid, ChannelMessageRecord, ChannelRecord, MemberRecord, MessageInput, ROLE_MEMBER, ROLE_OWNER,
};
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

/// The ids among `users` that have no account (in order).
fn missing_accounts(txn: &Txn, users: &[&str]) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for u in users {
        if txn
            .get_raw(cf::ACCOUNTS, &keys::account(txn.group, u))?
            .is_none()
        {
            out.push(u.to_string());
        }
    }
    Ok(out)
}

pub(super) fn get_or_create(
    txn: &mut Txn,
    now_ms: i64,
    ctype: &str,
    id: &str,
    created_by: &Option<String>,
    custom: &Custom,
    members: &[String],
) -> Applied {
    let g = txn.group;
    let k = keys::channel(g, ctype, id);
    if let Some(ch) = txn.get::<ChannelRecord>(cf::CHANNELS, &k)? {
        return ok(Outcome::Channel {
            channel: Box::new(ch),
            created: false,
        });
    }
    let mut unique: Vec<&str> = Vec::with_capacity(members.len());
    for m in members {
        if !unique.contains(&m.as_str()) {
            unique.push(m);
        }
    }
    let mut involved = unique.clone();
    if let Some(c) = created_by.as_deref() {
        involved.push(c);
    }
    let missing = missing_accounts(txn, &involved)?;
    if !missing.is_empty() {
        return rejected(ChatError::invalid(
            "channel",
            format!(
                "the following users are involved in the channel create operation, but don't exist: [{}]",
                missing.join(", ")
            ),
        ));
    }
    let now = nanos(now_ms);
    for user in &unique {
        let role = match created_by.as_deref() == Some(user) {
            true => ROLE_OWNER,
            false => ROLE_MEMBER,
        };
        let m = MemberRecord {
            ctype: ctype.to_string(),
            channel_id: id.to_string(),
            user_id: user.to_string(),
            channel_role: role.to_string(),
            custom: Custom::new(),
            created_at: now,
            updated_at: now,
        };
        txn.put(cf::MEMBERS, keys::member(g, ctype, id, user), &m);
        txn.put_raw(
            cf::MEMBERS_BY_USER,
            keys::member_by_user(g, user, ctype, id),
            Vec::new(),
        );
    }
    let ch = ChannelRecord {
        ctype: ctype.to_string(),
        id: id.to_string(),
        created_by: created_by.clone(),
        custom: custom.clone(),
        member_count: unique.len() as u32,
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    txn.put(cf::CHANNELS, k, &ch);
    ok(Outcome::Channel {
        channel: Box::new(ch),
        created: true,
    })
}

pub(super) fn send_message(
    txn: &mut Txn,
    now_ms: i64,
    ctype: &str,
    id: &str,
    input: &MessageInput,
    require_member: bool,
) -> Applied {
    let g = txn.group;
    let k = keys::channel(g, ctype, id);
    let Some(mut ch) = txn.get::<ChannelRecord>(cf::CHANNELS, &k)? else {
        return rejected(ChatError::not_found("channel", "id"));
    };
    if ch.frozen {
        return rejected(ChatError::unauthorized(format!(
            "channel {} is frozen",
            ch.cid()
        )));
    }
    if !missing_accounts(txn, &[&input.user_id])?.is_empty() {
        return rejected(ChatError::invalid(
            "message",
            format!("user {} does not exist", input.user_id),
        ));
    }
    let member = keys::member(g, ctype, id, &input.user_id);
    if require_member && txn.get_raw(cf::MEMBERS, &member)?.is_none() {
        return rejected(ChatError::unauthorized(format!(
            "user {} is not a member of channel {}",
            input.user_id,
            ch.cid()
        )));
    }
    let idk = keys::message_id(g, &input.id);
    if txn.get_raw(cf::MESSAGE_IDS, &idk)?.is_some() {
        return rejected(ChatError::invalid(
            "message",
            format!("a message with id {} already exists", input.id),
        ));
    }
    // A reply's parent: a live message of this channel that is not itself a reply.
    let parent = match &input.parent_id {
        None => None,
        Some(p) => match super::edit::load(txn, p)? {
            Some((pk, pm))
                if pm.ctype == ctype
                    && pm.channel_id == id
                    && pm.parent_id.is_none()
                    && !pm.is_deleted() =>
            {
                Some((pk, pm))
            }
            _ => {
                return rejected(ChatError::invalid(
                    "message",
                    format!("parent message {p} does not exist in channel {}", ch.cid()),
                ))
            }
        },
    };
    let now = nanos(now_ms);
    let rec = ChannelMessageRecord::sent(ctype, id, input, now);
    if let Some((pk, mut pm)) = parent {
        pm.reply_count = pm.reply_count.saturating_add(1);
        txn.put(cf::CHANNEL_MESSAGES, pk, &pm);
        txn.put_raw(
            cf::REPLIES,
            keys::reply(g, &pm.id, now, &input.id),
            Vec::new(),
        );
    }
    txn.put(
        cf::CHANNEL_MESSAGES,
        keys::channel_message(g, ctype, id, now, &input.id),
        &rec,
    );
    txn.put(
        cf::MESSAGE_IDS,
        idk,
        &(ctype.to_string(), id.to_string(), now),
    );
    ch.last_message_at = Some(now);
    txn.put(cf::CHANNELS, k, &ch);
    txn.emit(
        CHANNELS_NAMESPACE,
        Some(&cid(ctype, id)),
        Event::ChannelMessageNew {
            message_id: rec.id.clone(),
            user_id: rec.user_id.clone(),
        },
    );
    ok(Outcome::ChannelMessage(Box::new(rec)))
}
