//! The engine's channel events as Stream WebSocket frames, on every node for its own sockets
//! (`stream-protocol.md` §5.7–5.8). Each node gets each event once from the bus, waits until
//! its replica has applied the entry, reads what it needs back and writes one frame per local
//! connection: one bus message per node per event, never one per recipient.
//!
//! - `message.new` to the channel's watchers; members connected without watching the channel
//!   get `notification.message_new` (with the channel) instead;
//! - `reaction.new` / `.updated` / `.deleted` (the message with its aggregates),
//!   `message.updated` / `.undeleted` / `.deleted` (with `hard_delete`), `message.read` and
//!   client events (`typing.start`, custom) to the watchers.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::future::BoxFuture;
use proto::event::{Envelope, Event, CHANNELS_NAMESPACE};
use proto::stream::time::{self, Family};
use serde_json::{json, Value};

use super::error::ApiError;
use super::ws::REGISTRY_NAMESPACE;
use super::{state, StreamState};
use crate::gateway::fanout::EventSink;

/// How long a node waits for its replica to apply an event's entry before reading it.
const APPLY_WAIT: Duration = Duration::from_secs(5);
/// Most members read for one event.
const MEMBERS_MAX: usize = 100_000;

impl EventSink for StreamState {
    fn deliver<'a>(&'a self, env: &'a Envelope) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if env.namespace_name != CHANNELS_NAMESPACE {
                return;
            }
            if let Err(e) = self.deliver_channel_event(env).await {
                tracing::warn!(event = %env.id, error = %e.0, "stream event delivery failed");
            }
        })
    }
}

/// The fields every channel event carries.
fn base(kind: &str, cid: &str, ctype: &str, id: &str, at: i64) -> Value {
    json!({
        "type": kind,
        "cid": cid,
        "channel_id": id,
        "channel_type": ctype,
        "created_at": time::rfc3339(at),
    })
}

impl StreamState {
    /// A frame about one message: the message with its reactions, and its author as `user`.
    fn message_frame(
        &self,
        kind: &str,
        cid: &str,
        m: &proto::channel::ChannelMessageRecord,
        at: i64,
    ) -> Result<Value, ApiError> {
        let reactions = self.view.reactions(&m.id, None, state::REACTIONS_MAX)?;
        let mut ids = vec![m.user_id.as_str()];
        ids.extend(m.mentioned_users.iter().map(String::as_str));
        ids.extend(reactions.iter().map(|r| r.user_id.as_str()));
        let users = state::accounts_of(&self.view, ids)?;
        let mut frame = base(kind, cid, &m.ctype, &m.channel_id, at);
        frame["message"] = state::message_full(m, Family::V1, &users, &reactions, None);
        frame["message_id"] = json!(m.id);
        frame["user"] = frame["message"]["user"].clone();
        Ok(frame)
    }

    /// `user.presence.changed` to this node's watchers of the channels the user is in.
    async fn deliver_presence(
        &self,
        env: &Envelope,
        user_id: &str,
        online: bool,
    ) -> Result<(), ApiError> {
        let registry = &self.gateway.registry;
        let watched = self.watches.all(|c| registry.has(c));
        if watched.is_empty() {
            return Ok(());
        }
        let _ = self
            .cluster
            .raft()
            .wait(Some(APPLY_WAIT))
            .applied_index_at_least(Some(env.index), "stream presence")
            .await;
        let users = state::accounts_of(&self.view, [user_id])?;
        let Some(account) = users.get(user_id) else {
            return Ok(());
        };
        if account.invisible {
            return Ok(());
        }
        let mut user = super::render::user(account, Family::V1, online);
        user["online"] = json!(online);
        let frame = json!({
            "type": "user.presence.changed",
            "user": user,
            "created_at": time::rfc3339(time::from_millis(env.at)),
        })
        .to_string();
        let mut sent: BTreeSet<String> = BTreeSet::new();
        for (cid, conns) in watched {
            let Some((ctype, id)) = cid.split_once(':') else {
                continue;
            };
            if self.view.member(ctype, id, user_id)?.is_none() {
                continue;
            }
            for c in conns {
                if sent.insert(c.clone()) {
                    registry.send_to_conn(&c, frame.clone());
                }
            }
        }
        Ok(())
    }

    async fn deliver_channel_event(&self, env: &Envelope) -> Result<(), ApiError> {
        if let Event::UserPresence { user_id, online } = &env.event {
            return self.deliver_presence(env, user_id, *online).await;
        }
        let Some(cid) = env.room_name.as_deref() else {
            return Ok(());
        };
        let Some((ctype, id)) = cid.split_once(':') else {
            return Ok(());
        };
        let registry = &self.gateway.registry;
        let watchers = self.watches.watchers(cid, |c| registry.has(c));
        if watchers.is_empty() && registry.no_bound_users() {
            return Ok(());
        }
        let _ = self
            .cluster
            .raft()
            .wait(Some(APPLY_WAIT))
            .applied_index_at_least(Some(env.index), "stream fan-out")
            .await;
        let at = time::from_millis(env.at);
        let send = |conns: &[String], frame: &str| {
            for c in conns {
                registry.send_to_conn(c, frame.to_string());
            }
        };
        match &env.event {
            Event::ChannelMessageNew { message_id, .. } => {
                let Some(m) = self.view.channel_message(message_id)? else {
                    return Ok(());
                };
                let members = self.view.members(ctype, id, MEMBERS_MAX)?;
                let mut ids = vec![m.user_id.as_str()];
                ids.extend(m.mentioned_users.iter().map(String::as_str));
                let users = state::accounts_of(&self.view, ids)?;
                let message = state::message_full(&m, Family::V1, &users, &[], None);
                let mut frame = base("message.new", cid, ctype, id, m.created_at);
                frame["message"] = message.clone();
                frame["message_id"] = json!(m.id);
                frame["user"] = message["user"].clone();
                frame["watcher_count"] = json!(watchers.len());
                frame["channel_member_count"] = json!(members.len());
                send(&watchers, &frame.to_string());
                // Members connected here who do not watch the channel: the notification form.
                let watching: BTreeSet<&String> = watchers.iter().collect();
                let mut others = Vec::new();
                for member in &members {
                    for session in registry.sessions(REGISTRY_NAMESPACE, Some(&member.user_id)) {
                        if !watching.contains(&session.connection_id) {
                            others.push(session.connection_id);
                        }
                    }
                }
                if !others.is_empty() {
                    if let Some(ch) = self.view.channel(ctype, id)? {
                        let mut note = frame.clone();
                        note["type"] = json!("notification.message_new");
                        note["channel"] =
                            state::channel(&ch, Family::V1, state::own_capabilities(true), &users);
                        send(&others, &note.to_string());
                    }
                }
            }
            Event::ChannelReaction {
                message_id,
                user_id,
                kind,
                action,
            } => {
                if watchers.is_empty() {
                    return Ok(());
                }
                let Some(m) = self.view.channel_message(message_id)? else {
                    return Ok(());
                };
                let reactions = self
                    .view
                    .reactions(message_id, None, state::REACTIONS_MAX)?;
                let mut ids = vec![m.user_id.as_str(), user_id.as_str()];
                ids.extend(reactions.iter().map(|r| r.user_id.as_str()));
                let users = state::accounts_of(&self.view, ids)?;
                let reaction = match reactions
                    .iter()
                    .find(|r| r.user_id == *user_id && r.kind == *kind)
                {
                    Some(r) => state::reaction(r, Family::V1, &users),
                    None => {
                        let gone = proto::channel::ReactionRecord {
                            message_id: message_id.clone(),
                            user_id: user_id.clone(),
                            kind: kind.clone(),
                            score: 1,
                            created_at: at,
                            updated_at: at,
                            ..Default::default()
                        };
                        state::reaction(&gone, Family::V1, &users)
                    }
                };
                let mut frame = base(&format!("reaction.{action}"), cid, ctype, id, at);
                frame["message"] = state::message_full(&m, Family::V1, &users, &reactions, None);
                frame["user"] = reaction["user"].clone();
                frame["reaction"] = reaction;
                send(&watchers, &frame.to_string());
            }
            Event::ChannelMessageUpdated {
                message_id, action, ..
            } => {
                if watchers.is_empty() {
                    return Ok(());
                }
                let Some(m) = self.view.channel_message(message_id)? else {
                    return Ok(());
                };
                let frame = self.message_frame(&format!("message.{action}"), cid, &m, at)?;
                send(&watchers, &frame.to_string());
            }
            Event::ChannelMessageDeleted {
                message_id,
                user_id,
                hard,
                parent_id,
                created_at,
            } => {
                if watchers.is_empty() {
                    return Ok(());
                }
                // A hard-deleted message is gone: the frame carries what the event says.
                let m = match hard {
                    false => self.view.channel_message(message_id)?,
                    true => None,
                };
                let m = m.unwrap_or_else(|| proto::channel::ChannelMessageRecord {
                    ctype: ctype.to_string(),
                    channel_id: id.to_string(),
                    id: message_id.clone(),
                    user_id: user_id.clone(),
                    kind: proto::channel::KIND_DELETED.to_string(),
                    parent_id: parent_id.clone(),
                    created_at: *created_at,
                    updated_at: at,
                    deleted_at: Some(at),
                    ..Default::default()
                });
                let mut frame = self.message_frame("message.deleted", cid, &m, at)?;
                frame["hard_delete"] = json!(hard);
                send(&watchers, &frame.to_string());
            }
            Event::ChannelRead {
                user_id,
                last_read,
                last_read_message_id,
            } => {
                if watchers.is_empty() {
                    return Ok(());
                }
                let users = state::accounts_of(&self.view, [user_id.as_str()])?;
                let mut frame = base("message.read", cid, ctype, id, *last_read);
                frame["user"] = super::render::user_or_id(&users, user_id, Family::V1);
                if let Some(m) = last_read_message_id {
                    frame["last_read_message_id"] = json!(m);
                }
                send(&watchers, &frame.to_string());
            }
            Event::ChannelClientEvent { user_id, event } => {
                if watchers.is_empty() {
                    return Ok(());
                }
                let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(event) else {
                    return Ok(());
                };
                let kind = fields
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("custom");
                let mut frame = base(kind, cid, ctype, id, at);
                for (k, v) in fields.iter() {
                    if frame.get(k).is_none() {
                        frame[k] = v.clone();
                    }
                }
                let users = state::accounts_of(&self.view, [user_id.as_str()])?;
                frame["user"] = super::render::user_or_id(&users, user_id, Family::V1);
                send(&watchers, &frame.to_string());
            }
            Event::ChannelUpdated {} => {
                let Some(ch) = self.view.channel(ctype, id)? else {
                    return Ok(());
                };
                let users = state::accounts_of(&self.view, ch.created_by.as_deref())?;
                let mut frame = base("channel.updated", cid, ctype, id, at);
                frame["channel"] =
                    state::channel(&ch, Family::V1, state::own_capabilities(true), &users);
                send(&watchers, &frame.to_string());
            }
            Event::ChannelMember { user_id, added } => {
                let users = state::accounts_of(&self.view, [user_id.as_str()])?;
                let user = super::render::user_or_id(&users, user_id, Family::V1);
                let member = match self.view.member(ctype, id, user_id)? {
                    Some(m) => state::member(&m, Family::V1, &users),
                    None => json!({ "user_id": user_id, "user": user }),
                };
                let kind = if *added {
                    "member.added"
                } else {
                    "member.removed"
                };
                let mut frame = base(kind, cid, ctype, id, at);
                frame["member"] = member;
                frame["user"] = user;
                send(&watchers, &frame.to_string());
                // The user added or removed, wherever it is connected here.
                let own: Vec<String> = registry
                    .sessions(REGISTRY_NAMESPACE, Some(user_id))
                    .into_iter()
                    .map(|s| s.connection_id)
                    .collect();
                if !own.is_empty() {
                    let mut note = frame.clone();
                    note["type"] = json!(if *added {
                        "notification.added_to_channel"
                    } else {
                        "notification.removed_from_channel"
                    });
                    if let Some(ch) = self.view.channel(ctype, id)? {
                        note["channel"] = state::channel(
                            &ch,
                            Family::V1,
                            state::own_capabilities(*added),
                            &users,
                        );
                    }
                    send(&own, &note.to_string());
                }
            }
            Event::ChannelHidden {
                user_id,
                hidden,
                clear_history,
            } => {
                // To the member's own sockets on this node.
                let own: Vec<String> = registry
                    .sessions(REGISTRY_NAMESPACE, Some(user_id))
                    .into_iter()
                    .map(|s| s.connection_id)
                    .collect();
                if own.is_empty() {
                    return Ok(());
                }
                let Some(ch) = self.view.channel(ctype, id)? else {
                    return Ok(());
                };
                let users = state::accounts_of(&self.view, [user_id.as_str()])?;
                let kind = if *hidden {
                    "channel.hidden"
                } else {
                    "channel.visible"
                };
                let mut frame = base(kind, cid, ctype, id, at);
                frame["channel"] =
                    state::channel(&ch, Family::V1, state::own_capabilities(true), &users);
                frame["user"] = super::render::user_or_id(&users, user_id, Family::V1);
                frame["clear_history"] = json!(clear_history);
                send(&own, &frame.to_string());
            }
            Event::ChannelTruncated {} => {
                let Some(ch) = self.view.channel(ctype, id)? else {
                    return Ok(());
                };
                let users = state::accounts_of(&self.view, ch.created_by.as_deref())?;
                let mut frame = base("channel.truncated", cid, ctype, id, at);
                frame["channel"] =
                    state::channel(&ch, Family::V1, state::own_capabilities(true), &users);
                send(&watchers, &frame.to_string());
            }
            Event::ChannelDeleted {} => {
                let mut frame = base("channel.deleted", cid, ctype, id, at);
                frame["channel"] = json!({ "cid": cid, "id": id, "type": ctype });
                send(&watchers, &frame.to_string());
                let watching: BTreeSet<&String> = watchers.iter().collect();
                let mut others = Vec::new();
                for member in self.view.members(ctype, id, MEMBERS_MAX)? {
                    for session in registry.sessions(REGISTRY_NAMESPACE, Some(&member.user_id)) {
                        if !watching.contains(&session.connection_id) {
                            others.push(session.connection_id);
                        }
                    }
                }
                frame["type"] = json!("notification.channel_deleted");
                send(&others, &frame.to_string());
            }
            _ => {}
        }
        Ok(())
    }
}
