//! Apply of the namespace commands: create, update and delete a namespace (deleting one
//! removes its rooms, their messages and subscriptions, and its category masters: by a cascade
//! task, or at once for entries written before tasks existed).

use proto::command::Outcome;
use proto::event::Event;
use proto::gs2::records::{NamespaceRecord, NamespaceSettings};
use proto::gs2::ChatError;

use super::cascade;
use super::room::delete_room_data;
use super::{ok, rejected, Applied};
use crate::storage::cf;
use crate::storage::db::StoreError;
use crate::storage::keys;
use crate::storage::txn::Txn;

pub(super) fn create(txn: &mut Txn, now: i64, name: &str, settings: &NamespaceSettings) -> Applied {
    let k = keys::namespace(txn.group, name);
    if txn.get_raw(cf::NAMESPACES, &k)?.is_some() {
        return rejected(ChatError::already_exists("namespace"));
    }
    cascade::finish_namespace(txn, name)?;
    let rec = NamespaceRecord {
        name: name.to_string(),
        settings: settings.clone(),
        created_at: now,
        updated_at: now,
        revision: 0,
    };
    txn.put(cf::NAMESPACES, k, &rec);
    txn.emit(name, None, Event::NamespaceUpdated {});
    ok(Outcome::Namespace(Box::new(rec)))
}

pub(super) fn update(txn: &mut Txn, now: i64, name: &str, settings: &NamespaceSettings) -> Applied {
    let k = keys::namespace(txn.group, name);
    let mut rec = load_namespace!(txn, k);
    rec.settings = settings.clone();
    rec.updated_at = now;
    rec.revision += 1;
    txn.put(cf::NAMESPACES, k, &rec);
    txn.emit(name, None, Event::NamespaceUpdated {});
    ok(Outcome::Namespace(Box::new(rec)))
}

pub(super) fn delete(txn: &mut Txn, name: &str, chunked: bool) -> Applied {
    let k = keys::namespace(txn.group, name);
    let rec = load_namespace!(txn, k);
    if chunked {
        cascade::defer_namespace(txn, name);
    } else {
        delete_namespace_data(txn, name)?;
    }
    txn.delete(cf::CURRENT_MASTERS, k.clone());
    txn.delete(cf::NAMESPACES, k);
    txn.emit(name, None, Event::NamespaceDeleted {});
    ok(Outcome::Namespace(Box::new(rec)))
}

/// Deletes a namespace's rooms (with their rows) and category masters in one apply: entries
/// written before cascade tasks existed.
fn delete_namespace_data(txn: &mut Txn, name: &str) -> Result<(), StoreError> {
    for (rk, _) in txn.scan(cf::ROOMS, &keys::rooms_of(txn.group, name))? {
        if let Some(rk) = keys::decode_room(&rk) {
            delete_room_data(txn, name, &rk.room)?;
        }
    }
    for (ck, _) in txn.scan(
        cf::CATEGORY_MASTERS,
        &keys::category_masters_of(txn.group, name),
    )? {
        txn.delete(cf::CATEGORY_MASTERS, ck);
    }
    Ok(())
}
