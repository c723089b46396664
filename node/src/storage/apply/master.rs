//! Apply of the category master commands: create, update and delete a category model
//! master, and replace a namespace's current (active) master.

use proto::command::Outcome;
use proto::gs2::records::{ActiveCategoryModel, CategoryMasterRecord, CurrentMasterRecord};
use proto::gs2::ChatError;

use super::{ok, rejected, Applied};
use crate::storage::cf;
use crate::storage::keys;
use crate::storage::txn::Txn;

pub(super) fn create_category(
    txn: &mut Txn,
    now: i64,
    namespace: &str,
    category: i64,
    description: &Option<String>,
    reject_access_token_post: &Option<String>,
) -> Applied {
    let g = txn.group;
    if txn
        .get_raw(cf::NAMESPACES, &keys::namespace(g, namespace))?
        .is_none()
    {
        return rejected(ChatError::not_found("namespace", "namespace"));
    }
    let k = keys::category_master(g, namespace, category);
    if txn.get_raw(cf::CATEGORY_MASTERS, &k)?.is_some() {
        return rejected(ChatError::already_exists("categoryModelMaster"));
    }
    let rec = CategoryMasterRecord {
        namespace: namespace.to_string(),
        category,
        description: description.clone(),
        reject_access_token_post: reject_access_token_post.clone(),
        created_at: now,
        updated_at: now,
        revision: 0,
    };
    txn.put(cf::CATEGORY_MASTERS, k, &rec);
    ok(Outcome::CategoryMaster(rec))
}

pub(super) fn update_category(
    txn: &mut Txn,
    now: i64,
    namespace: &str,
    category: i64,
    description: &Option<String>,
    reject_access_token_post: &Option<String>,
) -> Applied {
    let k = keys::category_master(txn.group, namespace, category);
    let mut rec = load_category!(txn, k);
    rec.description = description.clone();
    rec.reject_access_token_post = reject_access_token_post.clone();
    rec.updated_at = now;
    rec.revision += 1;
    txn.put(cf::CATEGORY_MASTERS, k, &rec);
    ok(Outcome::CategoryMaster(rec))
}

pub(super) fn delete_category(txn: &mut Txn, namespace: &str, category: i64) -> Applied {
    let k = keys::category_master(txn.group, namespace, category);
    let rec = load_category!(txn, k);
    txn.delete(cf::CATEGORY_MASTERS, k);
    ok(Outcome::CategoryMaster(rec))
}

pub(super) fn update_current(
    txn: &mut Txn,
    namespace: &str,
    settings: &str,
    models: &[ActiveCategoryModel],
) -> Applied {
    let k = keys::namespace(txn.group, namespace);
    if txn.get_raw(cf::NAMESPACES, &k)?.is_none() {
        return rejected(ChatError::not_found("namespace", "namespace"));
    }
    let rec = CurrentMasterRecord {
        namespace: namespace.to_string(),
        settings: settings.to_string(),
        models: models.to_vec(),
    };
    txn.put(cf::CURRENT_MASTERS, k, &rec);
    ok(Outcome::CurrentMaster(rec))
}
