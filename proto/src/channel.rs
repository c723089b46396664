//! Channels: conversations with members and messages, as the Stream face knows them (and the
//! chatroom face may). Face-neutral log and record types kept by the engine; each face renders
//! them in its own shape. Times are nanoseconds since the epoch, set by apply from the entry.

use serde::{Deserialize, Serialize};

use crate::account::Custom;

/// A channel role of a member.
pub const ROLE_MEMBER: &str = "channel_member";
pub const ROLE_OWNER: &str = "owner";
pub const ROLE_MODERATOR: &str = "channel_moderator";

/// A channel, by type and id (`cid` = `type:id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ChannelRecord {
    pub ctype: String,
    pub id: String,
    pub created_by: Option<String>,
    pub custom: Custom,
    pub frozen: bool,
    pub disabled: bool,
    pub team: Option<String>,
    pub member_count: u32,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_message_at: Option<i64>,
    pub deleted_at: Option<i64>,
    pub truncated_at: Option<i64>,
    /// Slow mode: a plain member may post once per this many seconds (0: off).
    #[serde(default)]
    pub cooldown: u32,
}

impl ChannelRecord {
    pub fn cid(&self) -> String {
        cid(&self.ctype, &self.id)
    }
}

/// `type:id`.
pub fn cid(ctype: &str, id: &str) -> String {
    format!("{ctype}:{id}")
}

/// A member of a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MemberRecord {
    pub ctype: String,
    pub channel_id: String,
    pub user_id: String,
    pub channel_role: String,
    pub custom: Custom,
    pub created_at: i64,
    pub updated_at: i64,
    /// When the member hid the channel: hidden until a message newer than this arrives.
    #[serde(default)]
    pub hidden_at: Option<i64>,
    /// The member cleared the history up to here (hide with `clear_history`).
    #[serde(default)]
    pub hide_messages_before: Option<i64>,
    /// When the member last posted (slow mode).
    #[serde(default)]
    pub last_sent_at: Option<i64>,
}

impl MemberRecord {
    /// Whether the channel is hidden for this member, given its last message time.
    pub fn hides(&self, last_message_at: Option<i64>) -> bool {
        self.hidden_at
            .is_some_and(|h| last_message_at.is_none_or(|m| m <= h))
    }
}

/// A message of a channel. `seq` orders the messages of one entry that share a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ChannelMessageRecord {
    pub ctype: String,
    pub channel_id: String,
    pub id: String,
    pub user_id: String,
    pub text: String,
    /// `regular`, `reply`, `system`, `deleted`.
    pub kind: String,
    /// Attachments as the client sent them (kept as data, not interpreted).
    pub attachments: Vec<serde_json::Value>,
    pub mentioned_users: Vec<String>,
    pub parent_id: Option<String>,
    pub show_in_channel: bool,
    pub quoted_message_id: Option<String>,
    pub silent: bool,
    pub custom: Custom,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    /// Replies to this message that are not deleted (kept by apply on each reply's send and
    /// delete). Absent in rows written before threads: 0.
    #[serde(default)]
    pub reply_count: u32,
    /// When the text last changed by an edit.
    #[serde(default)]
    pub message_text_updated_at: Option<i64>,
}

/// The `kind` of a soft-deleted message (its text is kept for an undelete).
pub const KIND_DELETED: &str = "deleted";

/// An edit of a message, decided by the proposer: each `Some` replaces that field; `custom`
/// (a full update) replaces every custom field, then `set_custom` are set and `unset_custom`
/// removed (a partial update).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MessageEdit {
    pub text: Option<String>,
    pub attachments: Option<Vec<serde_json::Value>>,
    pub mentioned_users: Option<Vec<String>>,
    pub quoted_message_id: Option<Option<String>>,
    pub silent: Option<bool>,
    pub show_in_channel: Option<bool>,
    pub custom: Option<Custom>,
    pub set_custom: Custom,
    pub unset_custom: Vec<String>,
}

/// A message as a send command carries it: the proposer has chosen the id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MessageInput {
    pub id: String,
    pub user_id: String,
    pub text: String,
    pub attachments: Vec<serde_json::Value>,
    pub mentioned_users: Vec<String>,
    pub parent_id: Option<String>,
    pub show_in_channel: bool,
    pub quoted_message_id: Option<String>,
    pub silent: bool,
    pub custom: Custom,
}

impl ChannelMessageRecord {
    /// The stored message of a send applied at `now` (ns).
    pub fn sent(ctype: &str, channel_id: &str, m: &MessageInput, now: i64) -> Self {
        ChannelMessageRecord {
            ctype: ctype.to_string(),
            channel_id: channel_id.to_string(),
            id: m.id.clone(),
            user_id: m.user_id.clone(),
            text: m.text.clone(),
            kind: match m.parent_id {
                Some(_) => "reply".into(),
                None => "regular".into(),
            },
            attachments: m.attachments.clone(),
            mentioned_users: m.mentioned_users.clone(),
            parent_id: m.parent_id.clone(),
            show_in_channel: m.show_in_channel,
            quoted_message_id: m.quoted_message_id.clone(),
            silent: m.silent,
            custom: m.custom.clone(),
            created_at: now,
            updated_at: now,
            deleted_at: None,
            reply_count: 0,
            message_text_updated_at: None,
        }
    }

    /// The kind of a live message: a reply when it has a parent (an undelete restores it).
    pub fn live_kind(&self) -> &'static str {
        match self.parent_id {
            Some(_) => "reply",
            None => "regular",
        }
    }

    pub fn is_deleted(&self) -> bool {
        self.kind == KIND_DELETED
    }

    /// Applies an edit at `now` (ns): `updated_at` moves, and `message_text_updated_at` when
    /// the text changes.
    pub fn edit(&mut self, e: &MessageEdit, now: i64) {
        if let Some(t) = &e.text {
            if *t != self.text {
                self.message_text_updated_at = Some(now);
            }
            self.text = t.clone();
        }
        if let Some(a) = &e.attachments {
            self.attachments = a.clone();
        }
        if let Some(m) = &e.mentioned_users {
            self.mentioned_users = m.clone();
        }
        if let Some(q) = &e.quoted_message_id {
            self.quoted_message_id = q.clone();
        }
        if let Some(s) = e.silent {
            self.silent = s;
        }
        if let Some(s) = e.show_in_channel {
            self.show_in_channel = s && self.parent_id.is_some();
        }
        if let Some(c) = &e.custom {
            self.custom = c.clone();
        }
        for (k, v) in &e.set_custom {
            self.custom.insert(k.clone(), v.clone());
        }
        for k in &e.unset_custom {
            self.custom.remove(k);
        }
        self.updated_at = now;
    }

    pub fn cid(&self) -> String {
        cid(&self.ctype, &self.channel_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows written before threads and edits (no `reply_count`, no `message_text_updated_at`)
    /// still decode; an edit moves `updated_at`, and `message_text_updated_at` on a new text.
    #[test]
    fn rows_without_the_thread_fields_decode_and_edits_apply() {
        let mut old = serde_json::to_value(ChannelMessageRecord {
            text: "hi".into(),
            ..Default::default()
        })
        .unwrap();
        let obj = old.as_object_mut().unwrap();
        obj.remove("reply_count");
        obj.remove("message_text_updated_at");
        let bytes = rmp_serde::to_vec_named(&old).unwrap();
        let mut m: ChannelMessageRecord = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!((m.reply_count, m.message_text_updated_at), (0, None));
        m.edit(
            &MessageEdit {
                text: Some("hi".into()),
                set_custom: [("a".to_string(), serde_json::json!(1))].into(),
                ..Default::default()
            },
            5,
        );
        assert_eq!((m.updated_at, m.message_text_updated_at), (5, None));
        m.edit(
            &MessageEdit {
                text: Some("ho".into()),
                custom: Some(Custom::new()),
                ..Default::default()
            },
            6,
        );
        assert_eq!(m.message_text_updated_at, Some(6));
        assert!(m.custom.is_empty());
    }

    #[test]
    fn a_sent_message_is_a_reply_when_it_has_a_parent_and_round_trips() {
        let mut input = MessageInput {
            id: "m1".into(),
            user_id: "alice".into(),
            text: "hi".into(),
            attachments: vec![serde_json::json!({"type": "image", "asset_url": "x"})],
            ..Default::default()
        };
        let m = ChannelMessageRecord::sent("messaging", "general", &input, 7);
        assert_eq!(
            (m.kind.as_str(), m.cid().as_str()),
            ("regular", "messaging:general")
        );
        input.parent_id = Some("m0".into());
        let r = ChannelMessageRecord::sent("messaging", "general", &input, 8);
        assert_eq!(r.kind, "reply");
        let bytes = rmp_serde::to_vec_named(&r).unwrap();
        assert_eq!(
            rmp_serde::from_slice::<ChannelMessageRecord>(&bytes).unwrap(),
            r
        );
    }
}

/// A reaction of a user to a channel message (one per user and type).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ReactionRecord {
    pub message_id: String,
    pub user_id: String,
    pub kind: String,
    pub score: i64,
    pub custom: Custom,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Where a member has read a channel up to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ReadRecord {
    pub last_read: i64,
    pub last_read_message_id: Option<String>,
}
