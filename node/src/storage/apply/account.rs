//! Apply of the account commands (the users of an app, as the Stream face knows them): upsert
//! partial update, create (guests), and the state changes (deactivate, reactivate, delete). Times are the entry's, in nanoseconds.

use proto::account::{AccountChange, AccountInput, AccountPatch, AccountRecord};
use proto::command::Outcome;
use proto::gs2::ChatError;

use super::{ok, rejected, Applied};
use crate::storage::cf;
use crate::storage::keys;
use crate::storage::txn::Txn;

/// Nanoseconds of an entry's millisecond clock.
fn nanos(now_ms: i64) -> i64 {
    now_ms.saturating_mul(1_000_000)
}

pub(super) fn upsert(txn: &mut Txn, now_ms: i64, accounts: &[AccountInput]) -> Applied {
    let mut out = Vec::with_capacity(accounts.len());
    for input in accounts {
        let k = keys::account(txn.group, &input.id);
        let old: Option<AccountRecord> = txn.get(cf::ACCOUNTS, &k)?;
        let rec = AccountRecord::upserted(old.as_ref(), input, nanos(now_ms));
        txn.put(cf::ACCOUNTS, k, &rec);
        out.push(rec);
    }
    ok(Outcome::Accounts(out))
}

pub(super) fn patch(txn: &mut Txn, now_ms: i64, patches: &[AccountPatch]) -> Applied {
    // Checked in full before anything is written: a rejection leaves no account changed. A
    // later patch of the same id builds on the earlier one.
    let mut pending: Vec<AccountRecord> = Vec::with_capacity(patches.len());
    for p in patches {
        let old = match pending.iter().rposition(|r| r.id == p.id) {
            Some(i) => Some(pending[i].clone()),
            None => txn.get::<AccountRecord>(cf::ACCOUNTS, &keys::account(txn.group, &p.id))?,
        };
        let Some(old) = old else {
            return rejected(ChatError::not_found("user", "id"));
        };
        match old.patched(p, nanos(now_ms)) {
            Ok(rec) => pending.push(rec),
            Err(e) => return rejected(ChatError::invalid("user", e)),
        }
    }
    for rec in &pending {
        txn.put(cf::ACCOUNTS, keys::account(txn.group, &rec.id), rec);
    }
    ok(Outcome::Accounts(pending))
}

pub(super) fn presence(txn: &mut Txn, user: &str, online: bool) -> Applied {
    if txn
        .get_raw(cf::ACCOUNTS, &keys::account(txn.group, user))?
        .is_none()
    {
        return rejected(ChatError::not_found("user", "id"));
    }
    txn.emit(
        proto::event::CHANNELS_NAMESPACE,
        None,
        proto::event::Event::UserPresence {
            user_id: user.to_string(),
            online,
        },
    );
    ok(Outcome::Done)
}

/// A new account; an id already taken (even by a soft-deleted account) is refused.
pub(super) fn create(txn: &mut Txn, now_ms: i64, input: &AccountInput) -> Applied {
    let k = keys::account(txn.group, &input.id);
    if txn.get::<AccountRecord>(cf::ACCOUNTS, &k)?.is_some() {
        return rejected(ChatError::already_exists("user"));
    }
    let rec = AccountRecord::upserted(None, input, nanos(now_ms));
    txn.put(cf::ACCOUNTS, k, &rec);
    ok(Outcome::Accounts(vec![rec]))
}

/// Deactivate, reactivate or delete, all or none. The outcome lists each account after the
/// change (a hard-deleted one as it was, `deleted_at` set to the entry's time).
pub(super) fn change(txn: &mut Txn, now_ms: i64, ids: &[String], change: AccountChange) -> Applied {
    let now = nanos(now_ms);
    let mut pending: Vec<(AccountRecord, bool)> = Vec::with_capacity(ids.len());
    for id in ids {
        if pending.iter().any(|(r, _)| r.id == *id) {
            continue;
        }
        let Some(old) = txn.get::<AccountRecord>(cf::ACCOUNTS, &keys::account(txn.group, id))?
        else {
            return rejected(ChatError::not_found("user", "id"));
        };
        match old.changed(change, now) {
            Ok(Some(rec)) => pending.push((rec, true)),
            Ok(None) => {
                let mut gone = old;
                gone.deleted_at = Some(now);
                pending.push((gone, false));
            }
            Err(e) => return rejected(ChatError::invalid("user", e)),
        }
    }
    for (rec, keep) in &pending {
        let k = keys::account(txn.group, &rec.id);
        match keep {
            true => txn.put(cf::ACCOUNTS, k, rec),
            false => txn.delete(cf::ACCOUNTS, k),
        }
    }
    ok(Outcome::Accounts(
        pending.into_iter().map(|(r, _)| r).collect(),
    ))
}
