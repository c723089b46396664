//! Cascades: the rows that go with a deleted namespace (its rooms, their messages and
//! subscriptions, its category masters) or a deleted room (its messages and subscriptions).
//!
//! A delete entry removes the visible record at once and leaves a task row in the
//! state-machine metadata (snapshots carry it). Each `Sweep` chunk spends its budget on the
//! pending tasks first, in key order, and deletes a task row once nothing of it is left, so no
//! apply holds an unbounded delete. Until then the rows are orphans that no read or write
//! reaches ([`super::room_live`]); creating the room or namespace again first finishes its
//! task in that entry, so a new room never inherits old rows.

use proto::channel::{ChannelMessageRecord, MemberRecord};
use proto::gs2::records::{MessageRecord, SubscribeRecord};

use super::message::delete_message;
use super::subscription::delete_subscribe;
use crate::storage::cf;
use crate::storage::db::{decode, StoreError};
use crate::storage::keys::{self, TaskKey};
use crate::storage::txn::Txn;

/// Rows a bounded sweep may still delete. Every scan asks for no more rows than are left, so
/// a sweep of a large table reads and deletes one chunk per entry, the same on every replica
/// (the scans see the log's state, whatever batch of entries the apply call holds).
pub(super) struct Budget(usize);

impl Budget {
    /// `None`: no limit (sweep entries written before limits existed, finishing a task).
    pub(super) fn new(limit: Option<u32>) -> Self {
        Budget(limit.map_or(usize::MAX, |l| l as usize))
    }

    pub(super) fn left(&self) -> usize {
        self.0
    }

    /// Counts one deletion; false when none was left.
    pub(super) fn take(&mut self) -> bool {
        match self.0 {
            0 => false,
            _ => {
                self.0 -= 1;
                true
            }
        }
    }

    pub(super) fn spent(&self) -> bool {
        self.0 == 0
    }
}

/// Leaves the rooms and category masters of a namespace being deleted to a task.
pub(super) fn defer_namespace(txn: &mut Txn, ns: &str) {
    let g = txn.group;
    txn.put(cf::SM_META, keys::namespace_task(g, ns), &());
}

/// Deletes the room's row now and leaves its messages and subscriptions to a task.
pub(super) fn defer_room(txn: &mut Txn, ns: &str, room: &str) {
    let g = txn.group;
    txn.delete(cf::ROOMS, keys::room(g, ns, room));
    txn.put(cf::SM_META, keys::room_task(g, ns, room), &());
}

/// Finishes, in this entry, the task of a namespace about to be created again.
pub(super) fn finish_namespace(txn: &mut Txn, ns: &str) -> Result<(), StoreError> {
    let k = keys::namespace_task(txn.group, ns);
    if txn.get_raw(cf::SM_META, &k)?.is_some() {
        namespace_rows(txn, ns, &mut Budget::new(None))?;
        txn.delete(cf::SM_META, k);
    }
    Ok(())
}

/// Deletes a channel's row now and leaves its messages, reactions and members to a task.
pub(super) fn defer_channel(txn: &mut Txn, ctype: &str, id: &str) {
    let g = txn.group;
    txn.delete(cf::CHANNELS, keys::channel(g, ctype, id));
    txn.put(cf::SM_META, keys::channel_task(g, ctype, id), &());
}

/// Finishes, in this entry, the task of a channel about to be created again.
pub(super) fn finish_channel(txn: &mut Txn, ctype: &str, id: &str) -> Result<(), StoreError> {
    let k = keys::channel_task(txn.group, ctype, id);
    if txn.get_raw(cf::SM_META, &k)?.is_some() {
        channel_rows(txn, ctype, id, &mut Budget::new(None))?;
        txn.delete(cf::SM_META, k);
    }
    Ok(())
}

/// Deletes a deleted channel's messages (with their id, reply-index rows and reactions) and members (with
/// their by-user and read rows) within the budget; true when none is left.
fn channel_rows(
    txn: &mut Txn,
    ctype: &str,
    id: &str,
    budget: &mut Budget,
) -> Result<bool, StoreError> {
    let g = txn.group;
    let prefix = keys::channel_rows(g, ctype, id);
    let end = keys::prefix_end(&prefix);
    for (k, v) in txn.scan_until_at_most(cf::CHANNEL_MESSAGES, &prefix, &end, budget.left())? {
        let m: ChannelMessageRecord = decode(cf::CHANNEL_MESSAGES, &v)?;
        let reactions = keys::reactions_of(g, &m.id, None);
        let rend = keys::prefix_end(&reactions);
        for (rk, _) in txn.scan_until_at_most(cf::REACTIONS, &reactions, &rend, budget.left())? {
            budget.take();
            txn.delete(cf::REACTIONS, rk);
        }
        if !budget.take() {
            return Ok(false);
        }
        txn.delete(cf::CHANNEL_MESSAGES, k);
        txn.delete(cf::MESSAGE_IDS, keys::message_id(g, &m.id));
        if let Some(parent) = &m.parent_id {
            txn.delete(cf::REPLIES, keys::reply(g, parent, m.created_at, &m.id));
        }
    }
    if budget.spent() {
        return Ok(false);
    }
    for (k, v) in txn.scan_until_at_most(cf::MEMBERS, &prefix, &end, budget.left())? {
        let m: MemberRecord = decode(cf::MEMBERS, &v)?;
        budget.take();
        txn.delete(cf::MEMBERS, k);
        txn.delete(
            cf::MEMBERS_BY_USER,
            keys::member_by_user(g, &m.user_id, ctype, id),
        );
        txn.delete(cf::READS, keys::read_state(g, ctype, id, &m.user_id));
    }
    Ok(!budget.spent())
}

/// Finishes, in this entry, the task of a room about to be created (or imported) again.
pub(super) fn finish_room(txn: &mut Txn, ns: &str, room: &str) -> Result<(), StoreError> {
    let k = keys::room_task(txn.group, ns, room);
    if txn.get_raw(cf::SM_META, &k)?.is_some() {
        room_rows(txn, ns, room, &mut Budget::new(None))?;
        txn.delete(cf::SM_META, k);
    }
    Ok(())
}

/// Works through the pending tasks in key order until the budget is spent.
pub(super) fn run_tasks(txn: &mut Txn, budget: &mut Budget) -> Result<(), StoreError> {
    for (k, _) in txn.scan(cf::SM_META, &keys::tasks(txn.group))? {
        let done = match keys::decode_task(&k) {
            Some(TaskKey::Namespace { ns }) => namespace_rows(txn, &ns, budget)?,
            Some(TaskKey::Room { ns, room }) => room_rows(txn, &ns, &room, budget)?,
            Some(TaskKey::Channel { ctype, id }) => channel_rows(txn, &ctype, &id, budget)?,
            None => true,
        };
        if !done {
            return Ok(());
        }
        txn.delete(cf::SM_META, k);
    }
    Ok(())
}

/// Deletes the rooms (with their rows) and category masters of a deleted namespace within the
/// budget; true when none is left.
fn namespace_rows(txn: &mut Txn, ns: &str, budget: &mut Budget) -> Result<bool, StoreError> {
    let g = txn.group;
    let rooms = keys::rooms_of(g, ns);
    for (rk, _) in
        txn.scan_until_at_most(cf::ROOMS, &rooms, &keys::prefix_end(&rooms), budget.left())?
    {
        let Some(rk) = keys::decode_room(&rk) else {
            continue;
        };
        if !room_rows(txn, ns, &rk.room, budget)? || !budget.take() {
            return Ok(false);
        }
        txn.delete(cf::ROOMS, keys::room(g, ns, &rk.room));
    }
    // Each room listed cost at least one row: budget left means every room was listed.
    if budget.spent() {
        return Ok(false);
    }
    let masters = keys::category_masters_of(g, ns);
    let end = keys::prefix_end(&masters);
    for (k, _) in txn.scan_until_at_most(cf::CATEGORY_MASTERS, &masters, &end, budget.left())? {
        budget.take();
        txn.delete(cf::CATEGORY_MASTERS, k);
    }
    Ok(!budget.spent())
}

/// Deletes a deleted room's messages and subscriptions within the budget; true when none is
/// left. Each scan asks for at most the budget left, so budget left after a scan means the
/// scan saw the last row.
fn room_rows(txn: &mut Txn, ns: &str, room: &str, budget: &mut Budget) -> Result<bool, StoreError> {
    let g = txn.group;
    let prefix = keys::message_room_prefix(g, ns, room);
    let end = keys::prefix_end(&prefix);
    for (_, v) in txn.scan_until_at_most(cf::MESSAGES, &prefix, &end, budget.left())? {
        let m: MessageRecord = decode(cf::MESSAGES, &v)?;
        budget.take();
        delete_message(txn, &m);
    }
    if budget.spent() {
        return Ok(false);
    }
    let prefix = keys::subs_by_room_prefix(g, ns, room);
    let end = keys::prefix_end(&prefix);
    for (_, v) in txn.scan_until_at_most(cf::SUBS_BY_ROOM, &prefix, &end, budget.left())? {
        let s: SubscribeRecord = decode(cf::SUBS_BY_ROOM, &v)?;
        budget.take();
        delete_subscribe(txn, &s);
    }
    Ok(!budget.spent())
}
