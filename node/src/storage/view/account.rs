//! Reads of accounts (the Stream face's users): by id, and in id order for queries whose
//! filter the face evaluates itself.

use proto::account::AccountRecord;

use super::{View, ViewError};
use crate::storage::cf;
use crate::storage::db::{decode, StoreError};
use crate::storage::keys;

impl View {
    pub fn account(&self, id: &str) -> Result<Option<AccountRecord>, ViewError> {
        Ok(self
            .store
            .get(cf::ACCOUNTS, &keys::account(self.group, id))?)
    }

    /// The accounts of these ids that exist, in the order given (each id once).
    pub fn accounts_by_id(&self, ids: &[String]) -> Result<Vec<AccountRecord>, ViewError> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for id in ids {
            if seen.insert(id.as_str()) {
                if let Some(a) = self.account(id)? {
                    out.push(a);
                }
            }
        }
        Ok(out)
    }

    /// Up to `limit` accounts in id order, after the id `after` (exclusive) when given.
    pub fn accounts_in_order(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AccountRecord>, ViewError> {
        let prefix = keys::group_prefix(self.group);
        let mut it = self.store.db.raw_iterator_cf(&self.store.cf(cf::ACCOUNTS));
        match after {
            Some(id) => it.seek(keys::prefix_end(&keys::account(self.group, id))),
            None => it.seek(&prefix),
        }
        let mut out = Vec::new();
        while out.len() < limit {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if !k.starts_with(&prefix) {
                break;
            }
            out.push(decode(cf::ACCOUNTS, v)?);
            it.next();
        }
        it.status().map_err(StoreError::from)?;
        Ok(out)
    }
}
