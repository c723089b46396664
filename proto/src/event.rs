//! Chat events: what apply records in the outbox and the leader relays to the bus (NATS
//! JetStream or the in-process bus). The envelope and the subjects are a public interface,
//! documented in the README; change them only compatibly.

use serde::{Deserialize, Serialize};

use crate::gs2::models::NotificationType;

pub const ENVELOPE_VERSION: u32 = 1;

/// One event, as published (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub version: u32,
    /// `<group>-<index>-<seq>`: the `Nats-Msg-Id`, unique and stable across re-publication.
    pub id: String,
    /// Raft log index of the entry that produced the event.
    pub index: u64,
    /// Position of the event among those of its entry.
    pub seq: u32,
    /// Time of the entry (ms).
    pub at: i64,
    pub namespace_name: String,
    pub room_name: Option<String>,
    #[serde(flatten)]
    pub event: Event,
}

/// The envelope namespace of channel events (not a valid GS2 namespace name, so never shared).
pub const CHANNELS_NAMESPACE: &str = "~channels";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "camelCase")]
pub enum Event {
    #[serde(rename_all = "camelCase")]
    MessagePosted {
        message_name: String,
        user_id: String,
        category: i64,
        metadata: Option<String>,
        created_at: i64,
    },
    #[serde(rename_all = "camelCase")]
    MessageDeleted {
        message_name: String,
    },
    RoomDeleted {},
    #[serde(rename_all = "camelCase")]
    Subscribed {
        user_id: String,
        notification_types: Vec<NotificationType>,
    },
    #[serde(rename_all = "camelCase")]
    SubscriptionUpdated {
        user_id: String,
        notification_types: Vec<NotificationType>,
    },
    #[serde(rename_all = "camelCase")]
    Unsubscribed {
        user_id: String,
    },
    NamespaceUpdated {},
    NamespaceDeleted {},
    /// A post whose namespace had `postNotification.enableTransferMobileNotification` on when
    /// it was applied: the only input of the mobile-push workers. Published beside
    /// `messagePosted`, so namespaces without mobile push cost the push path nothing.
    /// A message posted to a channel (`namespace_name` [`CHANNELS_NAMESPACE`], `room_name` the
    /// cid); subscribers read it back from their replica by id.
    #[serde(rename_all = "camelCase")]
    ChannelMessageNew {
        message_id: String,
        user_id: String,
    },
    /// A reaction added, replaced (`updated`) or removed (`deleted`) on a channel message.
    #[serde(rename_all = "camelCase")]
    ChannelReaction {
        message_id: String,
        user_id: String,
        kind: String,
        /// `new`, `updated` or `deleted`.
        action: String,
    },
    /// A channel message edited (`action` `updated`) or restored (`undeleted`); read back by id.
    #[serde(rename_all = "camelCase")]
    ChannelMessageUpdated {
        message_id: String,
        user_id: String,
        action: String,
    },
    /// A channel message deleted. A soft-deleted one is read back by id; a `hard`-deleted one
    /// is gone, so the event carries what a frame needs (author, parent, creation time in ns).
    #[serde(rename_all = "camelCase")]
    ChannelMessageDeleted {
        message_id: String,
        user_id: String,
        hard: bool,
        parent_id: Option<String>,
        created_at: i64,
    },
    /// A member read the channel.
    #[serde(rename_all = "camelCase")]
    ChannelRead {
        user_id: String,
        last_read: i64,
        last_read_message_id: Option<String>,
    },
    /// A channel's data changed (custom fields, frozen).
    ChannelUpdated {},
    /// A member joined or left the channel.
    #[serde(rename_all = "camelCase")]
    ChannelMember {
        user_id: String,
        added: bool,
    },
    /// The channel was deleted.
    ChannelDeleted {},
    /// The channel's messages up to now were hidden.
    ChannelTruncated {},
    /// A member hid the channel or showed it again.
    #[serde(rename_all = "camelCase")]
    ChannelHidden {
        user_id: String,
        hidden: bool,
        clear_history: bool,
    },
    /// A user came online or went offline (`room_name` none).
    #[serde(rename_all = "camelCase")]
    UserPresence {
        user_id: String,
        online: bool,
    },
    /// A client's event to a channel (typing, custom), its JSON object as sent.
    #[serde(rename_all = "camelCase")]
    ChannelClientEvent {
        user_id: String,
        event: String,
    },
    #[serde(rename_all = "camelCase")]
    MobilePushRequested {
        message_name: String,
        user_id: String,
        category: i64,
        created_at: i64,
    },
}

/// The fields of a post that a notification carries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PostFields<'a> {
    pub user_id: &'a str,
    pub category: i64,
    pub created_at: i64,
}

impl Event {
    pub fn kind(&self) -> &'static str {
        match self {
            Event::MessagePosted { .. } => "messagePosted",
            Event::MessageDeleted { .. } => "messageDeleted",
            Event::RoomDeleted {} => "roomDeleted",
            Event::Subscribed { .. } => "subscribed",
            Event::SubscriptionUpdated { .. } => "subscriptionUpdated",
            Event::Unsubscribed { .. } => "unsubscribed",
            Event::NamespaceUpdated {} => "namespaceUpdated",
            Event::NamespaceDeleted {} => "namespaceDeleted",
            Event::ChannelMessageNew { .. } => "channelMessageNew",
            Event::ChannelReaction { .. } => "channelReaction",
            Event::ChannelMessageUpdated { .. } => "channelMessageUpdated",
            Event::ChannelMessageDeleted { .. } => "channelMessageDeleted",
            Event::ChannelRead { .. } => "channelRead",
            Event::ChannelClientEvent { .. } => "channelClientEvent",
            Event::ChannelUpdated {} => "channelUpdated",
            Event::ChannelMember { .. } => "channelMember",
            Event::ChannelDeleted {} => "channelDeleted",
            Event::ChannelTruncated {} => "channelTruncated",
            Event::ChannelHidden { .. } => "channelHidden",
            Event::UserPresence { .. } => "userPresence",
            Event::MobilePushRequested { .. } => "mobilePushRequested",
        }
    }

    /// The post behind a `messagePosted` or `mobilePushRequested` event.
    pub fn post(&self) -> Option<PostFields<'_>> {
        match self {
            Event::MessagePosted {
                user_id,
                category,
                created_at,
                ..
            }
            | Event::MobilePushRequested {
                user_id,
                category,
                created_at,
                ..
            } => Some(PostFields {
                user_id,
                category: *category,
                created_at: *created_at,
            }),
            _ => None,
        }
    }
}

/// Encodes a name as one NATS subject token: `.`, `*`, `>`, `%`, whitespace and control
/// characters become `%XX`.
pub fn subject_token(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '.' | '*' | '>' | '%' => out.push_str(&format!("%{:02X}", c as u32)),
            c if c.is_whitespace() || c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            c => out.push(c),
        }
    }
    if out.is_empty() {
        out.push_str("%00");
    }
    out
}

impl Envelope {
    /// `chat.ns.<ns>.room.<room>.<type>` or `chat.ns.<ns>.<type>`.
    pub fn subject(&self) -> String {
        match &self.room_name {
            Some(room) => format!(
                "chat.ns.{}.room.{}.{}",
                subject_token(&self.namespace_name),
                subject_token(room),
                self.event.kind()
            ),
            None => format!(
                "chat.ns.{}.{}",
                subject_token(&self.namespace_name),
                self.event.kind()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_encode_separators() {
        assert_eq!(subject_token("a.b*c>d%e f"), "a%2Eb%2Ac%3Ed%25e%20f");
        let e = Envelope {
            version: 1,
            id: "0-5-0".into(),
            index: 5,
            seq: 0,
            at: 1,
            namespace_name: "ns.1".into(),
            room_name: Some("r".into()),
            event: Event::RoomDeleted {},
        };
        assert_eq!(e.subject(), "chat.ns.ns%2E1.room.r.roomDeleted");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["type"], "roomDeleted");
        let back: Envelope = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
    }
}
