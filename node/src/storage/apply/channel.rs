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

/// The component of the rejection of a post refused by slow mode (faces map it to their
/// cooldown error).
pub const COOLDOWN: &str = "cooldown";

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
    super::cascade::finish_channel(txn, ctype, id)?;
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
            ..Default::default()
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
    let member_key = keys::member(g, ctype, id, &input.user_id);
    let mut member: Option<MemberRecord> = txn.get(cf::MEMBERS, &member_key)?;
    if require_member && member.is_none() {
        return rejected(ChatError::unauthorized(format!(
            "user {} is not a member of channel {}",
            input.user_id,
            ch.cid()
        )));
    }
    let now = nanos(now_ms);
    // Slow mode binds plain members on user calls (owners, moderators and the server skip it).
    if let Some(m) = member
        .as_mut()
        .filter(|_| require_member && ch.cooldown > 0)
    {
        let skips = [ROLE_OWNER, proto::channel::ROLE_MODERATOR].contains(&m.channel_role.as_str());
        let wait_until = m
            .last_sent_at
            .map(|t| t.saturating_add(i64::from(ch.cooldown) * 1_000_000_000));
        if !skips && wait_until.is_some_and(|w| now < w) {
            return rejected(ChatError::invalid(
                COOLDOWN,
                format!(
                    "slow mode: one message per {} s in {}",
                    ch.cooldown,
                    ch.cid()
                ),
            ));
        }
        m.last_sent_at = Some(now);
        txn.put(cf::MEMBERS, member_key, &*m);
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

/// Adds a member row (and its by-user index) unless the user is one already; true if added.
fn add_member(
    txn: &mut Txn,
    ctype: &str,
    id: &str,
    user: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let g = txn.group;
    let k = keys::member(g, ctype, id, user);
    if txn.get_raw(cf::MEMBERS, &k)?.is_some() {
        return Ok(false);
    }
    let m = MemberRecord {
        ctype: ctype.to_string(),
        channel_id: id.to_string(),
        user_id: user.to_string(),
        channel_role: ROLE_MEMBER.to_string(),
        custom: Custom::new(),
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    txn.put(cf::MEMBERS, k, &m);
    txn.put_raw(
        cf::MEMBERS_BY_USER,
        keys::member_by_user(g, user, ctype, id),
        Vec::new(),
    );
    Ok(true)
}

/// Removes a member row (with its by-user index and read state); true if it was one.
fn remove_member(txn: &mut Txn, ctype: &str, id: &str, user: &str) -> Result<bool, StoreError> {
    let g = txn.group;
    let k = keys::member(g, ctype, id, user);
    if txn.get_raw(cf::MEMBERS, &k)?.is_none() {
        return Ok(false);
    }
    txn.delete(cf::MEMBERS, k);
    txn.delete(
        cf::MEMBERS_BY_USER,
        keys::member_by_user(g, user, ctype, id),
    );
    txn.delete(cf::READS, keys::read_state(g, ctype, id, user));
    Ok(true)
}

/// The fields an update command carries.
pub(super) struct ChannelUpdate<'a> {
    pub custom: &'a Option<Custom>,
    pub set: &'a Custom,
    pub unset: &'a [String],
    pub frozen: Option<bool>,
    pub add_members: &'a [String],
    pub remove_members: &'a [String],
    pub cooldown: Option<u32>,
}

pub(super) fn update(
    txn: &mut Txn,
    now_ms: i64,
    ctype: &str,
    id: &str,
    u: ChannelUpdate<'_>,
) -> Applied {
    let g = txn.group;
    let k = keys::channel(g, ctype, id);
    let Some(mut ch) = txn.get::<ChannelRecord>(cf::CHANNELS, &k)? else {
        return rejected(ChatError::not_found("channel", "id"));
    };
    let adding: Vec<&str> = u.add_members.iter().map(String::as_str).collect();
    let missing = missing_accounts(txn, &adding)?;
    if !missing.is_empty() {
        return rejected(ChatError::invalid(
            "channel",
            format!(
                "the following users are involved in the channel update operation, but don't exist: [{}]",
                missing.join(", ")
            ),
        ));
    }
    let now = nanos(now_ms);
    let cid = cid(ctype, id);
    let data_changed = u.custom.is_some()
        || !u.set.is_empty()
        || !u.unset.is_empty()
        || u.frozen.is_some()
        || u.cooldown.is_some();
    if let Some(c) = u.cooldown {
        ch.cooldown = c;
    }
    if let Some(c) = u.custom {
        ch.custom = c.clone();
    }
    for name in u.unset {
        ch.custom.remove(name);
    }
    for (k, v) in u.set {
        ch.custom.insert(k.clone(), v.clone());
    }
    if let Some(f) = u.frozen {
        ch.frozen = f;
    }
    let mut events = Vec::new();
    for user in u.add_members {
        if add_member(txn, ctype, id, user, now)? {
            ch.member_count += 1;
            events.push((user.clone(), true));
        }
    }
    for user in u.remove_members {
        if remove_member(txn, ctype, id, user)? {
            ch.member_count = ch.member_count.saturating_sub(1);
            events.push((user.clone(), false));
        }
    }
    ch.updated_at = now;
    txn.put(cf::CHANNELS, k, &ch);
    if data_changed {
        txn.emit(CHANNELS_NAMESPACE, Some(&cid), Event::ChannelUpdated {});
    }
    for (user_id, added) in events {
        txn.emit(
            CHANNELS_NAMESPACE,
            Some(&cid),
            Event::ChannelMember { user_id, added },
        );
    }
    ok(Outcome::Channel {
        channel: Box::new(ch),
        created: false,
    })
}

pub(super) fn delete(txn: &mut Txn, ctype: &str, id: &str) -> Applied {
    let k = keys::channel(txn.group, ctype, id);
    let Some(ch) = txn.get::<ChannelRecord>(cf::CHANNELS, &k)? else {
        return rejected(ChatError::not_found("channel", "id"));
    };
    super::cascade::defer_channel(txn, ctype, id);
    txn.emit(
        CHANNELS_NAMESPACE,
        Some(&cid(ctype, id)),
        Event::ChannelDeleted {},
    );
    ok(Outcome::Channel {
        channel: Box::new(ch),
        created: false,
    })
}

pub(super) fn truncate(txn: &mut Txn, now_ms: i64, ctype: &str, id: &str) -> Applied {
    let k = keys::channel(txn.group, ctype, id);
    let Some(mut ch) = txn.get::<ChannelRecord>(cf::CHANNELS, &k)? else {
        return rejected(ChatError::not_found("channel", "id"));
    };
    let now = nanos(now_ms);
    ch.truncated_at = Some(now);
    ch.updated_at = now;
    txn.put(cf::CHANNELS, k, &ch);
    txn.emit(
        CHANNELS_NAMESPACE,
        Some(&cid(ctype, id)),
        Event::ChannelTruncated {},
    );
    ok(Outcome::Channel {
        channel: Box::new(ch),
        created: false,
    })
}

/// Hides the channel for one member (until a newer message), or shows it again.
pub(super) fn set_hidden(
    txn: &mut Txn,
    now_ms: i64,
    ctype: &str,
    id: &str,
    user: &str,
    hidden: bool,
    clear_history: bool,
) -> Applied {
    let k = keys::member(txn.group, ctype, id, user);
    let Some(mut m) = txn.get::<MemberRecord>(cf::MEMBERS, &k)? else {
        return rejected(ChatError::unauthorized(format!(
            "user {user} is not a member of channel {}",
            cid(ctype, id)
        )));
    };
    let now = nanos(now_ms);
    m.hidden_at = hidden.then_some(now);
    if hidden && clear_history {
        m.hide_messages_before = Some(now);
    }
    m.updated_at = now;
    txn.put(cf::MEMBERS, k, &m);
    txn.emit(
        CHANNELS_NAMESPACE,
        Some(&cid(ctype, id)),
        Event::ChannelHidden {
            user_id: user.to_string(),
            hidden,
            clear_history: hidden && clear_history,
        },
    );
    ok(Outcome::Done)
}
