//! Apply of the housekeeping commands: the sweep (pending cascades, expired messages,
//! idempotency records and uploads) and the outbox trim. Neither emits events.

use proto::command::{Outcome, Reply};
use proto::gs2::records::{MessageRecord, NamespaceRecord};

use super::cascade::{self, Budget};
use super::message::delete_message;
use super::{ok, Applied, INTERNAL_DEDUP_TTL_MS};
use crate::storage::cf;
use crate::storage::db::{decode, StoreError};
use crate::storage::keys;
use crate::storage::txn::Txn;

pub(super) fn sweep(txn: &mut Txn, now: i64, dedup_before_ms: i64, limit: Option<u32>) -> Applied {
    let mut budget = Budget::new(limit);
    cascade::run_tasks(txn, &mut budget)?;
    sweep_all(txn, now, dedup_before_ms, &mut budget)?;
    match limit {
        None => ok(Outcome::Done),
        Some(_) => ok(Outcome::Swept {
            more: budget.spent(),
        }),
    }
}

pub(super) fn trim_outbox(txn: &mut Txn, upto_index: u64, from_index: u64) -> Applied {
    let g = txn.group;
    // Point deletes: a range tombstone would make every later outbox read of this
    // memtable pay for RocksDB's per-core tombstone cache (a CPUID, slow in VMs).
    let start = keys::outbox(g, from_index, 0);
    let end = keys::outbox(g, upto_index.saturating_add(1), 0);
    // Keys only: copying every relayed envelope to delete it made a trim take up to
    // 30 ms, and every write applied behind it waited.
    for k in txn.keys_until(cf::OUTBOX, &start, &end)? {
        txn.delete(cf::OUTBOX, k);
    }
    ok(Outcome::Done)
}

/// Deletes expired messages and idempotency records, identically on every replica, until the
/// budget is spent.
fn sweep_all(
    txn: &mut Txn,
    now: i64,
    dedup_before_ms: i64,
    budget: &mut Budget,
) -> Result<(), StoreError> {
    let g = txn.group;
    let namespaces = txn.scan(cf::NAMESPACES, &keys::group_prefix(g))?;
    for (_, v) in &namespaces {
        let ns: NamespaceRecord = decode(cf::NAMESPACES, v)?;
        let Some(cutoff) = ns.expiry_cutoff(now) else {
            continue;
        };
        for (rk, _) in txn.scan(cf::ROOMS, &keys::rooms_of(g, &ns.name))? {
            let Some(rk) = keys::decode_room(&rk) else {
                continue;
            };
            let prefix = keys::message_room_prefix(g, &ns.name, &rk.room);
            let end = keys::messages_at(g, &ns.name, &rk.room, cutoff);
            for (_, v) in txn.scan_until_at_most(cf::MESSAGES, &prefix, &end, budget.left())? {
                let m: MessageRecord = decode(cf::MESSAGES, &v)?;
                if !budget.take() {
                    return Ok(());
                }
                delete_message(txn, &m);
            }
        }
    }
    // Internal keys (`~<time hex><uuid>`, one per forwarded write) sort by time: delete a range.
    let internal = keys::dedup_scope_prefix(g, keys::INTERNAL_DEDUP_SCOPE);
    let internal_end = keys::internal_dedup_before(g, now.saturating_sub(INTERNAL_DEDUP_TTL_MS));
    for (k, _) in txn.scan_until_at_most(cf::DEDUP, &internal, &internal_end, budget.left())? {
        if !budget.take() {
            return Ok(());
        }
        txn.delete(cf::DEDUP, k);
    }
    // Client keys (`p:…`, `u:…`) live a day.
    for scope in ["p:", "u:"] {
        for (k, v) in txn.scan(cf::DEDUP, &keys::dedup_scope_prefix(g, scope))? {
            let (at, _): (i64, Reply) = decode(cf::DEDUP, &v)?;
            if at < dedup_before_ms {
                if !budget.take() {
                    return Ok(());
                }
                txn.delete(cf::DEDUP, k);
            }
        }
    }
    for (k, v) in txn.scan(cf::UPLOADS, &keys::group_prefix(g))? {
        let (at, _): (i64, String) = decode(cf::UPLOADS, &v)?;
        if at < dedup_before_ms {
            if !budget.take() {
                return Ok(());
            }
            txn.delete(cf::UPLOADS, k);
        }
    }
    Ok(())
}
