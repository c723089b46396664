//! A channel as the SDKs read it: `ChannelResponse` (with its type's config and the caller's
//! `own_capabilities`), members, messages oldest first, read state, watchers
//! (`ChannelStateResponse`, `stream-protocol.md` §4.5), and messages (`MessageResponse`).

use std::collections::HashMap;

use proto::account::AccountRecord;
use proto::channel::{ChannelRecord, MemberRecord, ROLE_MODERATOR, ROLE_OWNER};
use proto::stream::time::{render as t, Family};
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::{render, Stream};

/// The built-in channel types (Stream's defaults).
pub const TYPES: &[&str] = &["messaging", "livestream", "team", "gaming", "commerce"];

/// Most messages a channel state carries.
pub const MESSAGES_MAX: usize = 300;
/// Most reactions read per message.
pub const REACTIONS_MAX: usize = 1000;
pub use super::message_json::{message, message_full, reaction};

/// Unread counts stop counting here.
const UNREAD_MAX: usize = 1000;

/// What a channel member may do (Stream's default grants of `channel_member` in the built-in
/// types), as `own_capabilities`. The JS client skips `markRead` and typing without
/// `read-events` and `typing-events`.
const MEMBER_CAPABILITIES: &[&str] = &[
    "connect-events",
    "delete-own-message",
    "flag-message",
    "mute-channel",
    "pin-message",
    "quote-message",
    "read-events",
    "search-messages",
    "send-custom-events",
    "send-links",
    "send-message",
    "send-reaction",
    "send-reply",
    "send-typing-events",
    "typing-events",
    "update-own-message",
    "upload-file",
];

/// The config of a channel type (`ChannelConfigWithInfo`), Stream's defaults.
pub fn config(ctype: &str, family: Family) -> Value {
    let livestream = ctype == "livestream";
    json!({
        "name": ctype,
        "typing_events": !livestream,
        "read_events": !livestream,
        "connect_events": true,
        "delivery_events": false,
        "search": true,
        "reactions": true,
        "replies": true,
        "quotes": true,
        "mutes": true,
        "uploads": true,
        "url_enrichment": false,
        "custom_events": true,
        "push_notifications": true,
        "reminders": false,
        "polls": false,
        "shared_locations": false,
        "count_messages": false,
        "mark_messages_pending": false,
        "user_message_reminders": false,
        "skip_last_msg_update_for_system_msgs": false,
        "message_retention": "infinite",
        "max_message_length": super::messages::MAX_LENGTH,
        "automod": "disabled",
        "automod_behavior": "flag",
        "commands": [],
        "created_at": t(0, family),
        "updated_at": t(0, family),
    })
}

/// What an owner or a moderator may do beyond a member (Stream's default grants), so the UI
/// kit shows them the channel's management actions.
const MODERATOR_CAPABILITIES: &[&str] = &[
    "delete-any-message",
    "freeze-channel",
    "set-channel-cooldown",
    "skip-slow-mode",
    "update-any-message",
    "update-channel",
    "update-channel-members",
];

/// The capabilities of a channel role: a member's, plus the management ones for owners and
/// moderators (and the server, which may do everything).
pub fn capabilities_of(role: Option<&str>) -> Value {
    let mut caps: Vec<&str> = MEMBER_CAPABILITIES.to_vec();
    if matches!(role, None | Some(ROLE_OWNER) | Some(ROLE_MODERATOR)) {
        caps.extend(MODERATOR_CAPABILITIES);
        if role == Some(ROLE_OWNER) || role.is_none() {
            caps.push("delete-channel");
        }
        caps.sort_unstable();
    }
    json!(caps)
}

/// The capabilities of a caller in a channel: a member's, or nothing for others.
pub fn own_capabilities(is_member: bool) -> Value {
    match is_member {
        true => json!(MEMBER_CAPABILITIES),
        false => json!([]),
    }
}

pub fn channel(
    ch: &ChannelRecord,
    family: Family,
    caps: Value,
    users: &HashMap<String, AccountRecord>,
) -> Value {
    let mut m = Map::new();
    m.insert("cid".into(), json!(ch.cid()));
    m.insert("id".into(), json!(ch.id));
    m.insert("type".into(), json!(ch.ctype));
    m.insert("created_at".into(), t(ch.created_at, family));
    m.insert("updated_at".into(), t(ch.updated_at, family));
    m.insert("disabled".into(), json!(ch.disabled));
    m.insert("frozen".into(), json!(ch.frozen));
    m.insert("member_count".into(), json!(ch.member_count));
    m.insert("config".into(), config(&ch.ctype, family));
    m.insert("own_capabilities".into(), caps);
    m.insert("hidden".into(), json!(false));
    if let Some(by) = &ch.created_by {
        m.insert("created_by".into(), render::user_or_id(users, by, family));
    }
    if let Some(at) = ch.last_message_at {
        m.insert("last_message_at".into(), t(at, family));
    }
    if ch.cooldown > 0 {
        m.insert("cooldown".into(), json!(ch.cooldown));
    }
    if let Some(at) = ch.truncated_at {
        m.insert("truncated_at".into(), t(at, family));
    }
    if let Some(team) = &ch.team {
        m.insert("team".into(), json!(team));
    }
    render::custom_into(&mut m, &ch.custom, family);
    Value::Object(m)
}

pub fn member(mb: &MemberRecord, family: Family, users: &HashMap<String, AccountRecord>) -> Value {
    let mut m = Map::new();
    m.insert("user_id".into(), json!(mb.user_id));
    m.insert(
        "user".into(),
        render::user_or_id(users, &mb.user_id, family),
    );
    m.insert("channel_role".into(), json!(mb.channel_role));
    m.insert(
        "role".into(),
        json!(match mb.channel_role.as_str() {
            proto::channel::ROLE_OWNER => "owner",
            proto::channel::ROLE_MODERATOR => "moderator",
            _ => "member",
        }),
    );
    m.insert("created_at".into(), t(mb.created_at, family));
    m.insert("updated_at".into(), t(mb.updated_at, family));
    m.insert("banned".into(), json!(false));
    m.insert("shadow_banned".into(), json!(false));
    m.insert("notifications_muted".into(), json!(false));
    render::custom_into(&mut m, &mb.custom, family);
    Value::Object(m)
}

/// The accounts of these ids, by id.
pub fn accounts<'a>(
    s: &Stream,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<String, AccountRecord>, ApiError> {
    accounts_of(&s.view, ids)
}

pub fn accounts_of<'a>(
    view: &crate::storage::View,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<String, AccountRecord>, ApiError> {
    let ids: Vec<String> = ids.into_iter().map(str::to_string).collect();
    Ok(view
        .accounts_by_id(&ids)?
        .into_iter()
        .map(|a| (a.id.clone(), a))
        .collect())
}

/// A channel's whole state for `caller` (a user id, or `None` for the server).
pub fn channel_state(
    s: &Stream,
    ch: &ChannelRecord,
    family: Family,
    caller: Option<&str>,
    message_limit: usize,
    watcher_count: usize,
) -> Result<Value, ApiError> {
    let members = s.view.members(&ch.ctype, &ch.id, 1000)?;
    // The caller's own cleared history (hide with clear_history) hides more than a truncation.
    let cleared = caller
        .and_then(|c| members.iter().find(|m| m.user_id == c))
        .and_then(|m| m.hide_messages_before);
    let after = ch.truncated_at.max(cleared);
    let messages = s.view.latest_channel_messages_after(
        &ch.ctype,
        &ch.id,
        message_limit.min(MESSAGES_MAX),
        after,
    )?;
    let mut reactions = Vec::with_capacity(messages.len());
    for m in &messages {
        reactions.push(s.view.reactions(&m.id, None, REACTIONS_MAX)?);
    }
    let mut ids: Vec<&str> = members.iter().map(|m| m.user_id.as_str()).collect();
    ids.extend(messages.iter().map(|m| m.user_id.as_str()));
    ids.extend(reactions.iter().flatten().map(|r| r.user_id.as_str()));
    ids.extend(
        messages
            .iter()
            .flat_map(|m| m.mentioned_users.iter().map(String::as_str)),
    );
    ids.extend(ch.created_by.as_deref());
    let users = accounts(s, ids)?;
    let me = caller.and_then(|c| members.iter().find(|m| m.user_id == c));
    let caps = match (caller, me) {
        (None, _) => capabilities_of(None),
        (Some(_), Some(m)) => capabilities_of(Some(m.channel_role.as_str())),
        (Some(_), None) => own_capabilities(false),
    };
    let mut read: Vec<Value> = Vec::with_capacity(members.len());
    for m in &members {
        let state = s.view.read_state(&ch.ctype, &ch.id, &m.user_id)?;
        let last_read = state.as_ref().map_or(m.created_at, |r| r.last_read);
        let counted_from = last_read.max(ch.truncated_at.unwrap_or(0));
        let unread =
            s.view
                .unread_count(&ch.ctype, &ch.id, &m.user_id, counted_from, UNREAD_MAX)?;
        let mut entry = json!({
            "user": render::user_or_id(&users, &m.user_id, family),
            "last_read": t(last_read, family),
            "unread_messages": unread,
        });
        if let Some(id) = state.and_then(|r| r.last_read_message_id) {
            entry["last_read_message_id"] = json!(id);
        }
        read.push(entry);
    }
    let mut state = json!({
        "channel": channel(ch, family, caps, &users),
        "members": members.iter().map(|m| member(m, family, &users)).collect::<Vec<_>>(),
        "messages": messages
            .iter()
            .zip(&reactions)
            .map(|(m, r)| message_full(m, family, &users, r, caller))
            .collect::<Vec<_>>(),
        "pinned_messages": [],
        "threads": [],
        "read": read,
        "watchers": [],
        "watcher_count": watcher_count,
    });
    if let Some(me) = me {
        state["membership"] = member(me, family, &users);
        let hidden = me.hides(ch.last_message_at);
        state["hidden"] = json!(hidden);
        state["channel"]["hidden"] = json!(hidden);
    }
    Ok(state)
}

#[cfg(test)]
mod capability_tests {
    use super::*;

    #[test]
    fn owners_and_moderators_get_the_management_capabilities() {
        let has = |role: Option<&str>, cap: &str| {
            capabilities_of(role)
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == cap)
        };
        assert!(has(Some("channel_member"), "read-events"));
        assert!(!has(Some("channel_member"), "update-channel-members"));
        assert!(has(Some(ROLE_MODERATOR), "update-channel-members"));
        assert!(!has(Some(ROLE_MODERATOR), "delete-channel"));
        assert!(has(Some(ROLE_OWNER), "delete-channel"));
        assert!(has(None, "skip-slow-mode"));
    }
}
