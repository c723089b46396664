//! The read side: queries over the materialized views, with opaque, stable page tokens.
//!
//! A page token is the hex of the next key to read (without the group prefix); it stays valid
//! while data changes, since it names a position, not an offset.

use proto::gs2::records::{
    CategoryMasterRecord, CurrentMasterRecord, MessageRecord, NamespaceRecord, RoomRecord,
    SubscribeRecord,
};
use proto::gs2::ChatError;
use serde::de::DeserializeOwned;

use super::cf;
use super::db::{decode, Store, StoreError};
use super::keys::{self, GroupId};

mod account;
mod channel;
pub use channel::ReplyPage;

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Chat(#[from] ChatError),
}

pub type Page<T> = (Vec<T>, Option<String>);

#[derive(Clone)]
pub struct View {
    store: Store,
    group: GroupId,
}

/// A page token names a key of this group: its bytes after the group id, in hex.
fn token_encode(key: &[u8]) -> String {
    key[keys::GROUP_LEN..]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn bad_token() -> ChatError {
    ChatError::invalid("pageToken", "chat.pageToken.error.invalid")
}

impl View {
    pub fn new(store: Store, group: GroupId) -> Self {
        View { store, group }
    }

    fn token_decode(&self, prefix: &[u8], token: &str) -> Result<Vec<u8>, ChatError> {
        if !token.len().is_multiple_of(2) || token.len() > 4096 {
            return Err(bad_token());
        }
        let mut key = keys::group_prefix(self.group);
        for i in (0..token.len()).step_by(2) {
            let b = u8::from_str_radix(token.get(i..i + 2).ok_or_else(bad_token)?, 16)
                .map_err(|_| bad_token())?;
            key.push(b);
        }
        if !key.starts_with(prefix) {
            return Err(bad_token());
        }
        Ok(key)
    }

    /// Forward scan under `prefix`, from `token` (or the start), keeping rows `keep` accepts.
    fn page<T: DeserializeOwned>(
        &self,
        cfn: &'static str,
        prefix: &[u8],
        start: Option<Vec<u8>>,
        limit: usize,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Page<T>, ViewError> {
        let mut it = self.store.db.raw_iterator_cf(&self.store.cf(cfn));
        it.seek(start.as_deref().unwrap_or(prefix));
        let mut out = Vec::new();
        while it.valid() {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if !k.starts_with(prefix) {
                break;
            }
            if out.len() == limit {
                return Ok((out, Some(token_encode(k))));
            }
            let item: T = decode(cfn, v)?;
            if keep(&item) {
                out.push(item);
            }
            it.next();
        }
        it.status().map_err(StoreError::from)?;
        Ok((out, None))
    }

    pub fn namespace(&self, name: &str) -> Result<Option<NamespaceRecord>, ViewError> {
        Ok(self
            .store
            .get(cf::NAMESPACES, &keys::namespace(self.group, name))?)
    }

    pub fn require_namespace(&self, name: &str) -> Result<NamespaceRecord, ViewError> {
        self.namespace(name)?
            .ok_or_else(|| ChatError::not_found("namespace", "namespace").into())
    }

    pub fn namespaces(
        &self,
        name_prefix: Option<&str>,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page<NamespaceRecord>, ViewError> {
        let prefix = keys::namespace_name_prefix(self.group, name_prefix.unwrap_or(""));
        let start = token.map(|t| self.token_decode(&prefix, t)).transpose()?;
        self.page(cf::NAMESPACES, &prefix, start, limit, |_| true)
    }

    /// The room, if it and its namespace exist (the rooms of a deleted namespace wait for
    /// their cascade task, unseen).
    pub fn room(&self, ns: &str, name: &str) -> Result<Option<RoomRecord>, ViewError> {
        if self.namespace(ns)?.is_none() {
            return Ok(None);
        }
        Ok(self
            .store
            .get(cf::ROOMS, &keys::room(self.group, ns, name))?)
    }

    pub fn require_room(&self, ns: &str, name: &str) -> Result<RoomRecord, ViewError> {
        self.room(ns, name)?
            .ok_or_else(|| ChatError::not_found("room", "room").into())
    }

    pub fn rooms(
        &self,
        ns: &str,
        name_prefix: Option<&str>,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page<RoomRecord>, ViewError> {
        let prefix = keys::room_name_prefix(self.group, ns, name_prefix.unwrap_or(""));
        let start = token.map(|t| self.token_decode(&prefix, t)).transpose()?;
        self.page(cf::ROOMS, &prefix, start, limit, |_| true)
    }

    /// Messages of a room from `start_at` (ms) ascending; expired ones (before `cutoff`) hidden.
    ///
    /// Clients page with `startAt = last.createdAt + 1`, so a page never ends inside a run of
    /// messages sharing one `createdAt` (writes committed together share their stamp): the page
    /// is extended past `limit` to the end of that run.
    pub fn messages_from(
        &self,
        ns: &str,
        room: &str,
        start_at: i64,
        category: Option<i64>,
        cutoff: Option<i64>,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, ViewError> {
        let prefix = keys::message_room_prefix(self.group, ns, room);
        let from = start_at.max(cutoff.unwrap_or(0));
        let start = keys::messages_at(self.group, ns, room, from);
        let mut it = self.store.db.raw_iterator_cf(&self.store.cf(cf::MESSAGES));
        it.seek(&start);
        let mut out: Vec<MessageRecord> = Vec::new();
        while it.valid() {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if !k.starts_with(&prefix) {
                break;
            }
            let m: MessageRecord = decode(cf::MESSAGES, v)?;
            if out.len() >= limit && out.last().is_some_and(|l| l.created_at != m.created_at) {
                break;
            }
            if category.is_none_or(|c| m.category == c) {
                out.push(m);
            }
            it.next();
        }
        it.status().map_err(StoreError::from)?;
        Ok(out)
    }

    /// Newest messages first, paged by token; expired ones hidden.
    pub fn latest_messages(
        &self,
        ns: &str,
        room: &str,
        category: Option<i64>,
        cutoff: Option<i64>,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page<MessageRecord>, ViewError> {
        let prefix = keys::message_room_prefix(self.group, ns, room);
        let before = token.map(|t| self.token_decode(&prefix, t)).transpose()?;
        let end = keys::prefix_end(&prefix);
        let mut it = self.store.db.raw_iterator_cf(&self.store.cf(cf::MESSAGES));
        match &before {
            Some(b) => it.seek_for_prev(b),
            None => it.seek_for_prev(&end),
        }
        let mut out = Vec::new();
        while it.valid() {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if before.as_deref() == Some(k) || k >= end.as_slice() {
                it.prev();
                continue;
            }
            if !k.starts_with(&prefix) {
                break;
            }
            let m: MessageRecord = decode(cf::MESSAGES, v)?;
            if cutoff.is_some_and(|c| m.created_at < c) {
                break;
            }
            if out.len() == limit {
                // The next page starts strictly before the last returned key.
                let last: &MessageRecord = out.last().expect("limit >= 1");
                let key = keys::message(self.group, ns, room, last.created_at, &last.name);
                return Ok((out, Some(token_encode(&key))));
            }
            if category.is_none_or(|c| m.category == c) {
                out.push(m);
            }
            it.prev();
        }
        it.status().map_err(StoreError::from)?;
        Ok((out, None))
    }

    pub fn message(
        &self,
        ns: &str,
        room: &str,
        name: &str,
    ) -> Result<Option<MessageRecord>, ViewError> {
        let Some(created) = self.store.get::<i64>(
            cf::MESSAGE_NAMES,
            &keys::message_name(self.group, ns, room, name),
        )?
        else {
            return Ok(None);
        };
        Ok(self.store.get(
            cf::MESSAGES,
            &keys::message(self.group, ns, room, created, name),
        )?)
    }

    /// The subscription, if its room and namespace still exist (the subscriptions of a
    /// deleted room wait for its cascade task, unseen).
    pub fn live_subscribe(
        &self,
        ns: &str,
        room: &str,
        user: &str,
    ) -> Result<Option<SubscribeRecord>, ViewError> {
        if self.room(ns, room)?.is_none() {
            return Ok(None);
        }
        self.subscribe(ns, room, user)
    }

    /// The subscription row, without looking at its room (fan-out of a post, whose room was
    /// there when it was applied).
    pub fn subscribe(
        &self,
        ns: &str,
        room: &str,
        user: &str,
    ) -> Result<Option<SubscribeRecord>, ViewError> {
        Ok(self.store.get(
            cf::SUBS_BY_ROOM,
            &keys::sub_by_room(self.group, ns, room, user),
        )?)
    }

    pub fn subscribes_by_room(
        &self,
        ns: &str,
        room: &str,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page<SubscribeRecord>, ViewError> {
        let prefix = keys::subs_by_room_prefix(self.group, ns, room);
        let start = token.map(|t| self.token_decode(&prefix, t)).transpose()?;
        self.page(cf::SUBS_BY_ROOM, &prefix, start, limit, |_| true)
    }

    pub fn subscribes_by_user(
        &self,
        ns: &str,
        user: &str,
        room_prefix: Option<&str>,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page<SubscribeRecord>, ViewError> {
        let prefix = keys::subs_by_user_prefix(self.group, ns, user, room_prefix.unwrap_or(""));
        let start = token.map(|t| self.token_decode(&prefix, t)).transpose()?;
        let mut it = self
            .store
            .db
            .raw_iterator_cf(&self.store.cf(cf::SUBS_BY_USER));
        it.seek(start.as_deref().unwrap_or(&prefix));
        let mut out = Vec::new();
        while it.valid() {
            let Some(k) = it.key() else { break };
            if !k.starts_with(&prefix) {
                break;
            }
            if out.len() == limit {
                return Ok((out, Some(token_encode(k))));
            }
            if let Some(key) = keys::decode_sub_by_user(k) {
                if let Some(s) = self.live_subscribe(ns, &key.room, user)? {
                    out.push(s);
                }
            }
            it.next();
        }
        it.status().map_err(StoreError::from)?;
        Ok((out, None))
    }

    pub fn category_masters(
        &self,
        ns: &str,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page<CategoryMasterRecord>, ViewError> {
        let prefix = keys::category_masters_of(self.group, ns);
        let start = token.map(|t| self.token_decode(&prefix, t)).transpose()?;
        self.page(cf::CATEGORY_MASTERS, &prefix, start, limit, |_| true)
    }

    pub fn category_master(
        &self,
        ns: &str,
        category: i64,
    ) -> Result<Option<CategoryMasterRecord>, ViewError> {
        Ok(self.store.get(
            cf::CATEGORY_MASTERS,
            &keys::category_master(self.group, ns, category),
        )?)
    }

    pub fn current_master(&self, ns: &str) -> Result<Option<CurrentMasterRecord>, ViewError> {
        Ok(self
            .store
            .get(cf::CURRENT_MASTERS, &keys::namespace(self.group, ns))?)
    }

    pub fn upload(&self, token: &str) -> Result<Option<String>, ViewError> {
        Ok(self
            .store
            .get::<(i64, String)>(cf::UPLOADS, &keys::token(self.group, token))?
            .map(|(_, body)| body))
    }

    pub fn dump(&self, user: &str) -> Result<Option<String>, ViewError> {
        Ok(self.store.get(cf::DUMPS, &keys::token(self.group, user))?)
    }

    /// Whether the user still has messages (for `checkClean`), leaving out those of deleted
    /// rooms waiting for their cascade.
    pub fn user_has_data(&self, user: &str) -> Result<bool, ViewError> {
        let prefix = keys::messages_by_user_prefix(self.group, user);
        let mut it = self
            .store
            .db
            .raw_iterator_cf(&self.store.cf(cf::MESSAGES_BY_USER));
        it.seek(&prefix);
        while let Some(k) = it.key().filter(|k| k.starts_with(&prefix)) {
            if let Some(key) = keys::decode_message_by_user(k) {
                if self.room(&key.ns, &key.room)?.is_some() {
                    return Ok(true);
                }
            }
            it.next();
        }
        it.status().map_err(StoreError::from)?;
        Ok(false)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}

impl View {
    /// Outbox rows after `(index, seq)` (or from the start), in log order: `(index, seq, json)`.
    pub fn outbox_after(
        &self,
        after: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<Vec<(u64, u32, Vec<u8>)>, ViewError> {
        let prefix = keys::group_prefix(self.group);
        let start = after.map(|(i, s)| keys::outbox(self.group, i, s.saturating_add(1)));
        let rows = self
            .store
            .scan(cf::OUTBOX, &prefix, start.as_deref(), limit)?;
        Ok(rows
            .into_iter()
            .filter_map(|(k, v)| keys::decode_outbox(&k).map(|o| (o.index, o.seq, v)))
            .collect())
    }

    pub fn gateway_namespace(
        &self,
        name: &str,
    ) -> Result<Option<proto::gs2::records::GatewayNamespaceRecord>, ViewError> {
        Ok(self
            .store
            .get(cf::GATEWAY_NAMESPACES, &keys::namespace(self.group, name))?)
    }

    pub fn gateway_namespaces(
        &self,
        name_prefix: Option<&str>,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page<proto::gs2::records::GatewayNamespaceRecord>, ViewError> {
        let prefix = keys::namespace_name_prefix(self.group, name_prefix.unwrap_or(""));
        let start = token.map(|t| self.token_decode(&prefix, t)).transpose()?;
        self.page(cf::GATEWAY_NAMESPACES, &prefix, start, limit, |_| true)
    }

    pub fn firebase_token(
        &self,
        ns: &str,
        user: &str,
    ) -> Result<Option<proto::gs2::records::FirebaseTokenRecord>, ViewError> {
        Ok(self.store.get(
            cf::FIREBASE_TOKENS,
            &keys::firebase_token(self.group, ns, user),
        )?)
    }

    /// Every subscription of a room (for mobile push of a post).
    pub fn room_subscribers(
        &self,
        ns: &str,
        room: &str,
    ) -> Result<Vec<SubscribeRecord>, ViewError> {
        Ok(self
            .room_subscribers_up_to(ns, room, usize::MAX)?
            .unwrap_or_default())
    }

    /// Every subscriber of the room if there are at most `limit`, else `None` (having read no
    /// more than `limit + 1` rows).
    pub fn room_subscribers_up_to(
        &self,
        ns: &str,
        room: &str,
        limit: usize,
    ) -> Result<Option<Vec<SubscribeRecord>>, ViewError> {
        let prefix = keys::subs_by_room_prefix(self.group, ns, room);
        let (subs, more) = self.page(cf::SUBS_BY_ROOM, &prefix, None, limit, |_| true)?;
        Ok(more.is_none().then_some(subs))
    }
}
