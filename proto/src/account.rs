//! Accounts: the users of an app, as the Stream face knows them (and later faces may), kept by
//! the engine in the `accounts` column family. GS2 has no user records (its users are ids in
//! tokens); these are face-neutral log types, rendered by each face in its own shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Custom fields of a record: JSON values by name, in name order (deterministic encoding).
pub type Custom = BTreeMap<String, serde_json::Value>;

/// Role of an account created without one.
pub const DEFAULT_ROLE: &str = "user";

/// One account as stored. Times are nanoseconds since the epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AccountRecord {
    pub id: String,
    pub role: String,
    pub name: Option<String>,
    pub image: Option<String>,
    pub language: Option<String>,
    pub teams: Vec<String>,
    pub invisible: bool,
    pub custom: Custom,
    pub created_at: i64,
    pub updated_at: i64,
    pub deactivated_at: Option<i64>,
    pub deleted_at: Option<i64>,
    /// Tokens issued (`iat`) before this time are refused.
    pub revoke_tokens_issued_before: Option<i64>,
}

/// The fields an upsert writes: the account is replaced by these (its `created_at` kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AccountInput {
    pub id: String,
    pub role: Option<String>,
    pub name: Option<String>,
    pub image: Option<String>,
    pub language: Option<String>,
    pub teams: Vec<String>,
    pub invisible: bool,
    pub custom: Custom,
    pub revoke_tokens_issued_before: Option<i64>,
}

/// A change of an account's state: deactivation (its tokens refused until reactivated), and
/// deletion (soft: `deleted_at` set, hidden from queries, tokens refused; hard: the row removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountChange {
    Deactivate,
    Reactivate,
    SoftDelete,
    HardDelete,
}

/// Role of a guest account (`POST /guest`).
pub const GUEST_ROLE: &str = "guest";

/// A partial update: fields to set (known names go to their field, others to `custom`) and
/// names to unset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AccountPatch {
    pub id: String,
    pub set: Custom,
    pub unset: Vec<String>,
}

impl AccountRecord {
    /// A new account from an upsert at `now` (ns), or the existing one replaced by it.
    pub fn upserted(old: Option<&AccountRecord>, input: &AccountInput, now: i64) -> Self {
        AccountRecord {
            id: input.id.clone(),
            role: input
                .role
                .clone()
                .or_else(|| old.map(|o| o.role.clone()))
                .unwrap_or_else(|| DEFAULT_ROLE.to_string()),
            name: input.name.clone(),
            image: input.image.clone(),
            language: input.language.clone(),
            teams: input.teams.clone(),
            invisible: input.invisible,
            custom: input.custom.clone(),
            created_at: old.map_or(now, |o| o.created_at),
            updated_at: now,
            deactivated_at: old.and_then(|o| o.deactivated_at),
            deleted_at: None,
            revoke_tokens_issued_before: input
                .revoke_tokens_issued_before
                .or_else(|| old.and_then(|o| o.revoke_tokens_issued_before)),
        }
    }

    /// Applies a partial update at `now` (ns). A known field given a value of the wrong type
    /// is an error naming it (nothing is changed).
    pub fn patched(&self, patch: &AccountPatch, now: i64) -> Result<Self, String> {
        let mut next = self.clone();
        for name in &patch.unset {
            match name.as_str() {
                "name" => next.name = None,
                "image" => next.image = None,
                "language" => next.language = None,
                "teams" => next.teams.clear(),
                "invisible" => next.invisible = false,
                "role" => next.role = DEFAULT_ROLE.to_string(),
                "id" => return Err("id cannot be unset".into()),
                other => {
                    next.custom.remove(other);
                }
            }
        }
        for (name, value) in &patch.set {
            let text = || value.as_str().map(str::to_string);
            let wrong = || format!("{name} has the wrong type");
            match name.as_str() {
                "id" => return Err("id cannot be changed".into()),
                "role" => next.role = text().ok_or_else(wrong)?,
                "name" => next.name = nullable_text(value).ok_or_else(wrong)?,
                "image" => next.image = nullable_text(value).ok_or_else(wrong)?,
                "language" => next.language = nullable_text(value).ok_or_else(wrong)?,
                "invisible" => next.invisible = value.as_bool().ok_or_else(wrong)?,
                "teams" => {
                    next.teams = value
                        .as_array()
                        .and_then(|a| a.iter().map(|t| t.as_str().map(str::to_string)).collect())
                        .ok_or_else(wrong)?
                }
                other => {
                    next.custom.insert(other.to_string(), value.clone());
                }
            }
        }
        next.updated_at = now;
        Ok(next)
    }
}

impl AccountRecord {
    /// Whether the account's tokens are refused: deactivated or (soft) deleted.
    pub fn is_usable(&self) -> bool {
        self.deactivated_at.is_none() && self.deleted_at.is_none()
    }

    /// The account after `change` at `now` (ns), `None` when it is removed (hard delete), or
    /// why the change does not apply. Deactivating or deleting again keeps the first time.
    pub fn changed(&self, change: AccountChange, now: i64) -> Result<Option<Self>, String> {
        let mut next = self.clone();
        if self.deleted_at.is_some() && change != AccountChange::HardDelete {
            if change == AccountChange::SoftDelete {
                return Ok(Some(next));
            }
            return Err(format!("user {} is deleted", self.id));
        }
        match change {
            AccountChange::Deactivate if self.deactivated_at.is_some() => return Ok(Some(next)),
            AccountChange::Deactivate => next.deactivated_at = Some(now),
            AccountChange::Reactivate if self.deactivated_at.is_none() => {
                return Err(format!("user {} is not deactivated", self.id))
            }
            AccountChange::Reactivate => next.deactivated_at = None,
            AccountChange::SoftDelete => next.deleted_at = Some(now),
            AccountChange::HardDelete => return Ok(None),
        }
        next.updated_at = now;
        Ok(Some(next))
    }
}

/// `Some(None)` for JSON null, `Some(Some(s))` for a string, `None` for anything else.
fn nullable_text(v: &serde_json::Value) -> Option<Option<String>> {
    match v {
        serde_json::Value::Null => Some(None),
        serde_json::Value::String(s) => Some(Some(s.clone())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(id: &str) -> AccountInput {
        AccountInput {
            id: id.into(),
            name: Some("Alice".into()),
            custom: [("color".to_string(), json!("red"))].into(),
            ..Default::default()
        }
    }

    #[test]
    fn an_upsert_replaces_fields_but_keeps_creation_time_and_role() {
        let first = AccountRecord::upserted(None, &input("a"), 10);
        assert_eq!((first.role.as_str(), first.created_at), ("user", 10));
        let mut again = input("a");
        again.name = None;
        again.custom.clear();
        let second = AccountRecord::upserted(Some(&first), &again, 20);
        assert_eq!((second.created_at, second.updated_at), (10, 20));
        assert_eq!(second.name, None);
        assert!(second.custom.is_empty());
    }

    #[test]
    fn a_patch_sets_known_fields_and_custom_ones_and_refuses_wrong_types() {
        let rec = AccountRecord::upserted(None, &input("a"), 1);
        let patch = AccountPatch {
            id: "a".into(),
            set: [
                ("role".to_string(), json!("admin")),
                ("level".to_string(), json!(3)),
            ]
            .into(),
            unset: vec!["color".into(), "name".into()],
        };
        let next = rec.patched(&patch, 2).unwrap();
        assert_eq!(next.role, "admin");
        assert_eq!(next.name, None);
        assert_eq!(next.custom, [("level".to_string(), json!(3))].into());
        let bad = AccountPatch {
            id: "a".into(),
            set: [("invisible".to_string(), json!("yes"))].into(),
            unset: vec![],
        };
        assert_eq!(
            rec.patched(&bad, 3).unwrap_err(),
            "invisible has the wrong type"
        );
    }

    #[test]
    fn records_round_trip_through_the_log_encoding() {
        let mut rec = AccountRecord::upserted(None, &input("a"), 1);
        rec.custom
            .insert("n".into(), json!({"deep": [1, 2.5, null, true]}));
        let bytes = rmp_serde::to_vec_named(&rec).unwrap();
        let back: AccountRecord = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(back, rec);
    }
}
