//! Presence: a user is online while it has a `/connect` socket on any node. `online` in the
//! users of an answer is read from every node's registry (one gateway broadcast per answer;
//! a node that does not answer holds no live socket), and a user's first socket on a node and
//! its last one closing propose a presence change through the log, which every node turns into
//! `user.presence.changed` for its watchers of the user's channels (events.rs).

use std::collections::HashSet;

use proto::command::Command;
use serde_json::Value;

use super::ws::REGISTRY_NAMESPACE;
use super::{write, Stream};

/// The users among `ids` with a live socket anywhere in the cluster.
pub async fn online(s: &Stream, ids: Vec<String>) -> HashSet<String> {
    if ids.is_empty() {
        return HashSet::new();
    }
    s.gateway.online(REGISTRY_NAMESPACE, ids).await
}

/// The ids of the users embedded in a channel state (members, read state, membership,
/// messages' authors).
fn user_slots(state: &mut Value) -> Vec<&mut Value> {
    let mut out = Vec::new();
    let Some(obj) = state.as_object_mut() else {
        return out;
    };
    for (key, v) in obj.iter_mut() {
        match key.as_str() {
            "members" | "read" | "messages" => {
                if let Some(list) = v.as_array_mut() {
                    out.extend(list.iter_mut().filter_map(|x| x.get_mut("user")));
                }
            }
            "membership" => out.extend(v.get_mut("user")),
            _ => {}
        }
    }
    out
}

/// Sets `online` on every user of a channel state from one cluster-wide lookup.
pub async fn mark_state(s: &Stream, state: &mut Value) {
    let ids: Vec<String> = user_slots(state)
        .into_iter()
        .filter_map(|u| u.get("id").and_then(Value::as_str).map(str::to_string))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let on = online(s, ids).await;
    mark(user_slots(state), &on);
}

/// Sets `online` on each user object given (a hidden user stays offline).
pub fn mark<'a>(users: impl IntoIterator<Item = &'a mut Value>, online: &HashSet<String>) {
    for u in users {
        let id = u.get("id").and_then(Value::as_str).unwrap_or_default();
        let visible = u.get("invisible").and_then(Value::as_bool) != Some(true);
        let is_on = visible && online.contains(id);
        if let Some(m) = u.as_object_mut() {
            m.insert("online".into(), Value::Bool(is_on));
        }
    }
}

/// Records that `user` came online (its first socket in the cluster) or went offline.
pub async fn record(s: &Stream, user: &str, online_now: bool) {
    let cmd = Command::SetPresence {
        user_id: user.to_string(),
        online: online_now,
    };
    if let Err(e) = write(s, cmd).await {
        tracing::debug!(user, error = %e.0, "presence change not recorded");
    }
}

/// After a socket of `user` closed: records it offline if it has no socket left anywhere.
pub async fn maybe_offline(s: &Stream, user: &str) {
    if !online(s, vec![user.to_string()]).await.contains(user) {
        record(s, user, false).await;
    }
}
