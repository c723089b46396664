//! Reads of channels (the Stream face's): a channel, its members, a member's channels, the
//! latest messages of a channel, a message by id, the replies to a message.

use proto::channel::{
    ChannelMessageRecord, ChannelRecord, MemberRecord, ReactionRecord, ReadRecord,
};

use super::{View, ViewError};
use crate::storage::cf;
use crate::storage::db::{decode, StoreError};
use crate::storage::keys;

impl View {
    pub fn channel(&self, ctype: &str, id: &str) -> Result<Option<ChannelRecord>, ViewError> {
        Ok(self
            .store
            .get(cf::CHANNELS, &keys::channel(self.group, ctype, id))?)
    }

    /// Up to `limit` members of a channel, in user-id order.
    pub fn members(
        &self,
        ctype: &str,
        id: &str,
        limit: usize,
    ) -> Result<Vec<MemberRecord>, ViewError> {
        let prefix = keys::channel_rows(self.group, ctype, id);
        let rows = self.store.scan(cf::MEMBERS, &prefix, None, limit)?;
        rows.iter()
            .map(|(_, v)| decode(cf::MEMBERS, v).map_err(ViewError::from))
            .collect()
    }

    pub fn member(
        &self,
        ctype: &str,
        id: &str,
        user: &str,
    ) -> Result<Option<MemberRecord>, ViewError> {
        Ok(self
            .store
            .get(cf::MEMBERS, &keys::member(self.group, ctype, id, user))?)
    }

    /// The channels (type, id) a user is a member of, up to `limit`.
    pub fn channels_of_member(
        &self,
        user: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, ViewError> {
        let prefix = keys::channels_of_member(self.group, user);
        let rows = self.store.scan(cf::MEMBERS_BY_USER, &prefix, None, limit)?;
        Ok(rows
            .iter()
            .filter_map(|(k, _)| keys::decode_member_by_user(k))
            .map(|k| (k.ctype, k.id))
            .collect())
    }

    /// Up to `limit` channels of every type, in (type, id) order.
    pub fn all_channels(&self, limit: usize) -> Result<Vec<ChannelRecord>, ViewError> {
        let rows = self
            .store
            .scan(cf::CHANNELS, &keys::group_prefix(self.group), None, limit)?;
        rows.iter()
            .map(|(_, v)| decode(cf::CHANNELS, v).map_err(ViewError::from))
            .collect()
    }

    /// The latest `limit` messages of a channel, oldest first: thread replies only when also
    /// shown in the channel.
    pub fn latest_channel_messages(
        &self,
        ctype: &str,
        id: &str,
        limit: usize,
    ) -> Result<Vec<ChannelMessageRecord>, ViewError> {
        self.latest_channel_messages_after(ctype, id, limit, None)
    }

    /// The latest `limit` messages of a channel created after `after` (ns; a truncation),
    /// oldest first.
    pub fn latest_channel_messages_after(
        &self,
        ctype: &str,
        id: &str,
        limit: usize,
        after: Option<i64>,
    ) -> Result<Vec<ChannelMessageRecord>, ViewError> {
        let prefix = keys::channel_rows(self.group, ctype, id);
        let end = keys::prefix_end(&prefix);
        let mut it = self
            .store
            .db
            .raw_iterator_cf(&self.store.cf(cf::CHANNEL_MESSAGES));
        it.seek_for_prev(&end);
        let mut out = Vec::new();
        while out.len() < limit {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if k >= end.as_slice() {
                it.prev();
                continue;
            }
            if !k.starts_with(&prefix) {
                break;
            }
            let m: ChannelMessageRecord = decode(cf::CHANNEL_MESSAGES, v)?;
            if after.is_some_and(|t| m.created_at <= t) {
                break;
            }
            if m.parent_id.is_none() || m.show_in_channel {
                out.push(m);
            }
            it.prev();
        }
        it.status().map_err(StoreError::from)?;
        out.reverse();
        Ok(out)
    }

    /// A channel message by its id.
    pub fn channel_message(&self, msg: &str) -> Result<Option<ChannelMessageRecord>, ViewError> {
        let Some((ctype, id, at)) = self
            .store
            .get::<(String, String, i64)>(cf::MESSAGE_IDS, &keys::message_id(self.group, msg))?
        else {
            return Ok(None);
        };
        Ok(self.store.get(
            cf::CHANNEL_MESSAGES,
            &keys::channel_message(self.group, &ctype, &id, at, msg),
        )?)
    }
}

impl View {
    /// Every reaction to a message, or those of one user, in (user, type) order.
    pub fn reactions(
        &self,
        msg: &str,
        user: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ReactionRecord>, ViewError> {
        let prefix = keys::reactions_of(self.group, msg, user);
        let rows = self.store.scan(cf::REACTIONS, &prefix, None, limit)?;
        rows.iter()
            .map(|(_, v)| decode(cf::REACTIONS, v).map_err(ViewError::from))
            .collect()
    }

    pub fn read_state(
        &self,
        ctype: &str,
        id: &str,
        user: &str,
    ) -> Result<Option<ReadRecord>, ViewError> {
        Ok(self
            .store
            .get(cf::READS, &keys::read_state(self.group, ctype, id, user))?)
    }

    /// Messages of a channel after `after` (ns) not posted by `user`, counted up to `cap`
    /// (thread replies and deleted messages do not count).
    pub fn unread_count(
        &self,
        ctype: &str,
        id: &str,
        user: &str,
        after: i64,
        cap: usize,
    ) -> Result<usize, ViewError> {
        let prefix = keys::channel_rows(self.group, ctype, id);
        let start = keys::channel_message(self.group, ctype, id, after.saturating_add(1), "");
        let mut it = self
            .store
            .db
            .raw_iterator_cf(&self.store.cf(cf::CHANNEL_MESSAGES));
        it.seek(&start);
        let mut n = 0;
        while n < cap {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if !k.starts_with(&prefix) {
                break;
            }
            let m: ChannelMessageRecord = decode(cf::CHANNEL_MESSAGES, v)?;
            if m.user_id != user && m.parent_id.is_none() && !m.is_deleted() {
                n += 1;
            }
            it.next();
        }
        it.status().map_err(StoreError::from)?;
        Ok(n)
    }
}

/// Where a page of replies starts or ends: after or before the reply with this id.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyPage {
    /// The latest replies.
    Latest,
    /// The latest before this reply (`inclusive`: with it).
    Before { id: String, inclusive: bool },
    /// The earliest after this reply (`inclusive`: with it).
    After { id: String, inclusive: bool },
}

impl View {
    /// Up to `limit` replies to `parent`, oldest first, in the page `page` asks for.
    pub fn replies(
        &self,
        parent: &str,
        page: &ReplyPage,
        limit: usize,
    ) -> Result<Vec<ChannelMessageRecord>, ViewError> {
        let g = self.group;
        let prefix = keys::replies_of(g, parent);
        // The key of a bounding reply (its time from the id index); an unknown id bounds nothing.
        let bound = |id: &str| -> Result<Option<Vec<u8>>, ViewError> {
            Ok(self
                .store
                .get::<(String, String, i64)>(cf::MESSAGE_IDS, &keys::message_id(g, id))?
                .map(|(_, _, at)| keys::reply(g, parent, at, id)))
        };
        let mut keys_found: Vec<Vec<u8>> = Vec::new();
        let mut it = self.store.db.raw_iterator_cf(&self.store.cf(cf::REPLIES));
        match page {
            ReplyPage::After { id, inclusive } => {
                let start = bound(id)?;
                it.seek(start.as_deref().unwrap_or(&prefix));
                while keys_found.len() < limit {
                    let Some(k) = it.key() else { break };
                    if !k.starts_with(&prefix) {
                        break;
                    }
                    if *inclusive || start.as_deref() != Some(k) {
                        keys_found.push(k.to_vec());
                    }
                    it.next();
                }
            }
            ReplyPage::Latest | ReplyPage::Before { .. } => {
                let (end, incl) = match page {
                    ReplyPage::Before { id, inclusive } => match bound(id)? {
                        Some(b) => (b, *inclusive),
                        None => (keys::prefix_end(&prefix), false),
                    },
                    _ => (keys::prefix_end(&prefix), false),
                };
                it.seek_for_prev(&end);
                while keys_found.len() < limit {
                    let Some(k) = it.key() else { break };
                    if !k.starts_with(&prefix) {
                        break;
                    }
                    if k < end.as_slice() || (incl && k == end.as_slice()) {
                        keys_found.push(k.to_vec());
                    }
                    it.prev();
                }
                keys_found.reverse();
            }
        }
        it.status().map_err(StoreError::from)?;
        let mut out = Vec::with_capacity(keys_found.len());
        for k in keys_found {
            let id = String::from_utf8_lossy(&k[prefix.len() + 8..]).into_owned();
            out.extend(self.channel_message(&id)?);
        }
        Ok(out)
    }
}
