//! Messages and reactions as the SDKs read them (`MessageResponse`, `ReactionResponse`): the
//! message with its author, mentions and custom fields, and its reaction aggregates (latest,
//! own, counts, scores, groups).

use std::collections::HashMap;

use proto::account::AccountRecord;
use proto::channel::{ChannelMessageRecord, ReactionRecord};
use proto::stream::time::{render as t, Family};
use serde_json::{json, Map, Value};

use super::render;

/// A reaction (`ReactionResponse`).
pub fn reaction(
    r: &ReactionRecord,
    family: Family,
    users: &HashMap<String, AccountRecord>,
) -> Value {
    let mut m = Map::new();
    m.insert("message_id".into(), json!(r.message_id));
    m.insert("user_id".into(), json!(r.user_id));
    m.insert("user".into(), render::user_or_id(users, &r.user_id, family));
    m.insert("type".into(), json!(r.kind));
    m.insert("score".into(), json!(r.score));
    m.insert("created_at".into(), t(r.created_at, family));
    m.insert("updated_at".into(), t(r.updated_at, family));
    render::custom_into(&mut m, &r.custom, family);
    Value::Object(m)
}

/// Most reactions `latest_reactions` carries.
const LATEST_REACTIONS: usize = 10;

/// The reaction fields of a message: the latest ones, the caller's, and counts, scores and
/// groups by type.
fn put_reactions(
    m: &mut Map<String, Value>,
    reactions: &[ReactionRecord],
    caller: Option<&str>,
    family: Family,
    users: &HashMap<String, AccountRecord>,
) {
    let mut latest: Vec<&ReactionRecord> = reactions.iter().collect();
    latest.sort_by_key(|r| std::cmp::Reverse(r.updated_at));
    let render = |list: Vec<&ReactionRecord>| -> Value {
        json!(list
            .into_iter()
            .map(|r| reaction(r, family, users))
            .collect::<Vec<_>>())
    };
    m.insert(
        "latest_reactions".into(),
        render(latest.iter().take(LATEST_REACTIONS).copied().collect()),
    );
    m.insert(
        "own_reactions".into(),
        render(
            latest
                .iter()
                .filter(|r| Some(r.user_id.as_str()) == caller)
                .copied()
                .collect(),
        ),
    );
    let (mut counts, mut scores, mut groups) = (Map::new(), Map::new(), Map::new());
    for r in reactions {
        let count = counts.get(&r.kind).and_then(Value::as_i64).unwrap_or(0) + 1;
        let score = scores.get(&r.kind).and_then(Value::as_i64).unwrap_or(0) + r.score;
        counts.insert(r.kind.clone(), json!(count));
        scores.insert(r.kind.clone(), json!(score));
        let same = || {
            reactions
                .iter()
                .filter(|o| o.kind == r.kind)
                .map(|o| o.created_at)
        };
        // The most recent users who reacted with this type, most recent first.
        let mut by: Vec<&ReactionRecord> = reactions.iter().filter(|o| o.kind == r.kind).collect();
        by.sort_by_key(|o| std::cmp::Reverse(o.created_at));
        let by: Vec<Value> = by
            .into_iter()
            .take(LATEST_REACTIONS)
            .map(|o| {
                json!({
                    "user_id": o.user_id,
                    "user": render::user_or_id(users, &o.user_id, family),
                    "created_at": t(o.created_at, family),
                })
            })
            .collect();
        groups.insert(
            r.kind.clone(),
            json!({
                "count": count,
                "sum_scores": score,
                "first_reaction_at": t(same().min().unwrap_or(r.created_at), family),
                "last_reaction_at": t(same().max().unwrap_or(r.created_at), family),
                "latest_reactions_by": by,
            }),
        );
    }
    m.insert("reaction_counts".into(), Value::Object(counts));
    m.insert("reaction_scores".into(), Value::Object(scores));
    m.insert("reaction_groups".into(), Value::Object(groups));
}

/// A message with its reactions, as `caller` sees it (`own_reactions`).
pub fn message_full(
    msg: &ChannelMessageRecord,
    family: Family,
    users: &HashMap<String, AccountRecord>,
    reactions: &[ReactionRecord],
    caller: Option<&str>,
) -> Value {
    let mut v = message(msg, family, users);
    if let Some(m) = v.as_object_mut() {
        put_reactions(m, reactions, caller, family, users);
    }
    v
}

pub fn message(
    msg: &ChannelMessageRecord,
    family: Family,
    users: &HashMap<String, AccountRecord>,
) -> Value {
    // A deleted message shows no content (its text is kept for an undelete).
    let deleted = msg.is_deleted();
    let text = if deleted { "" } else { msg.text.as_str() };
    let mut m = Map::new();
    m.insert("id".into(), json!(msg.id));
    m.insert("cid".into(), json!(msg.cid()));
    m.insert("text".into(), json!(text));
    m.insert("html".into(), json!(html(text)));
    m.insert("type".into(), json!(msg.kind));
    m.insert(
        "user".into(),
        render::user_or_id(users, &msg.user_id, family),
    );
    match deleted {
        true => m.insert("attachments".into(), json!([])),
        false => m.insert("attachments".into(), json!(msg.attachments)),
    };
    let mentioned: Vec<Value> = msg
        .mentioned_users
        .iter()
        .map(|u| render::user_or_id(users, u, family))
        .collect();
    m.insert("mentioned_users".into(), json!(mentioned));
    for empty_list in ["latest_reactions", "own_reactions", "restricted_visibility"] {
        m.insert(empty_list.into(), json!([]));
    }
    for empty_map in ["reaction_counts", "reaction_scores"] {
        m.insert(empty_map.into(), json!({}));
    }
    m.insert("reply_count".into(), json!(msg.reply_count));
    m.insert("deleted_reply_count".into(), json!(0));
    m.insert("silent".into(), json!(msg.silent));
    m.insert("pinned".into(), json!(false));
    m.insert("shadowed".into(), json!(false));
    m.insert("mentioned_channel".into(), json!(false));
    m.insert("mentioned_here".into(), json!(false));
    m.insert("created_at".into(), t(msg.created_at, family));
    m.insert("updated_at".into(), t(msg.updated_at, family));
    if let Some(p) = &msg.parent_id {
        m.insert("parent_id".into(), json!(p));
        m.insert("show_in_channel".into(), json!(msg.show_in_channel));
    }
    if let Some(q) = &msg.quoted_message_id {
        m.insert("quoted_message_id".into(), json!(q));
    }
    if let Some(d) = msg.deleted_at {
        m.insert("deleted_at".into(), t(d, family));
    }
    if let Some(at) = msg.message_text_updated_at {
        m.insert("message_text_updated_at".into(), t(at, family));
    }
    match deleted {
        true => render::custom_into(&mut m, &Default::default(), family),
        false => render::custom_into(&mut m, &msg.custom, family),
    }
    Value::Object(m)
}

/// The text as the HTML Stream renders (one escaped paragraph; no markdown yet).
fn html(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    format!("<p>{escaped}</p>\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like(user: &str, at: i64) -> ReactionRecord {
        ReactionRecord {
            message_id: "m".into(),
            user_id: user.into(),
            kind: "like".into(),
            score: 1,
            custom: Default::default(),
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn reaction_groups_name_their_latest_reactors_most_recent_first() {
        let mut m = Map::new();
        let reactions = [like("ann", 1_000_000), like("ben", 2_000_000)];
        put_reactions(&mut m, &reactions, None, Family::V2, &HashMap::new());
        let group = &m["reaction_groups"]["like"];
        assert_eq!(group["count"], 2);
        let by: Vec<_> = group["latest_reactions_by"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|u| (u["user_id"].clone(), u["created_at"].clone()))
            .collect();
        assert_eq!(
            by,
            [
                (json!("ben"), json!(2_000_000)),
                (json!("ann"), json!(1_000_000))
            ]
        );
    }
}
