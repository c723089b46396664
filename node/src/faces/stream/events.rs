//! The engine's channel events as Stream WebSocket frames, on every node for its own sockets
//! (`stream-protocol.md` §5.7–5.8): each node gets each event once from the bus, reads the
//! message back from its replica once it has applied the entry, and writes one frame to each
//! local connection of a member and to each local watcher. One bus message per node per
//! event, never one per recipient.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::future::BoxFuture;
use proto::event::{Envelope, Event, CHANNELS_NAMESPACE};
use proto::stream::time::{self, Family};
use serde_json::json;

use super::error::ApiError;
use super::ws::REGISTRY_NAMESPACE;
use super::{state, StreamState};
use crate::gateway::fanout::EventSink;

/// How long a node waits for its replica to apply an event's entry before reading it.
const APPLY_WAIT: Duration = Duration::from_secs(5);

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

impl StreamState {
    async fn deliver_channel_event(&self, env: &Envelope) -> Result<(), ApiError> {
        let Event::ChannelMessageNew { message_id, .. } = &env.event else {
            return Ok(());
        };
        let Some(cid) = env.room_name.as_deref() else {
            return Ok(());
        };
        let registry = &self.gateway.registry;
        let watchers = self.watches.watchers(cid, |c| registry.has(c));
        let Some((ctype, id)) = cid.split_once(':') else {
            return Ok(());
        };
        let members = match registry.no_bound_users() && watchers.is_empty() {
            true => return Ok(()),
            false => {
                let _ = self
                    .cluster
                    .raft()
                    .wait(Some(APPLY_WAIT))
                    .applied_index_at_least(Some(env.index), "stream fan-out")
                    .await;
                self.view.members(ctype, id, 100_000)?
            }
        };
        let Some(m) = self.view.channel_message(message_id)? else {
            return Ok(());
        };
        let mut ids = vec![m.user_id.as_str()];
        ids.extend(m.mentioned_users.iter().map(String::as_str));
        let users = state::accounts_of(&self.view, ids)?;
        let message = state::message(&m, Family::V1, &users);
        let frame = json!({
            "type": "message.new",
            "cid": cid,
            "channel_id": id,
            "channel_type": ctype,
            "message": message,
            "user": message["user"],
            "message_id": m.id,
            "watcher_count": watchers.len(),
            "channel_member_count": members.len(),
            "created_at": time::rfc3339(m.created_at),
        })
        .to_string();
        let mut sent: BTreeSet<String> = BTreeSet::new();
        for member in &members {
            if registry.has_user(REGISTRY_NAMESPACE, &member.user_id) {
                for conn in registry
                    .send_to_user(REGISTRY_NAMESPACE, &member.user_id, &frame)
                    .await
                {
                    sent.insert(conn);
                }
            }
        }
        for conn in watchers {
            if !sent.contains(&conn) {
                registry.send_to_conn(&conn, frame.clone());
            }
        }
        Ok(())
    }
}
