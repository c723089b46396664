//! Validation of request fields against the GS2-Chat reference limits
//! (`seeds/001_…`: names `[A-Za-z0-9_.-]` up to 128 chars, metadata up to 1024, …).
//!
//! Every function returns a [`ChatError::Invalid`] whose message follows GS2's
//! `chat.<model>.<field>.error.<kind>` convention, so clients can tell which field failed.

use crate::gs2::error::ChatError;
use crate::gs2::models::{MasterSettings, NotificationType};

pub const NAME_MAX: usize = 128;
pub const USER_ID_MAX: usize = 128;
pub const METADATA_MAX: usize = 1024;
pub const DESCRIPTION_MAX: usize = 1024;
pub const PASSWORD_MAX: usize = 128;
pub const WHITE_LIST_MAX: usize = 1000;
pub const NOTIFICATION_TYPES_MAX: usize = 100;
pub const CATEGORY_MAX: i64 = 2_147_483_645;
pub const PREFIX_MAX: usize = 64;
pub const PAGE_TOKEN_MAX: usize = 1024;
pub const LIMIT_MAX: i64 = 1000;
pub const LIMIT_DEFAULT: i64 = 30;
pub const LIFETIME_DAYS_MIN: i64 = 1;
pub const LIFETIME_DAYS_MAX: i64 = 30;
pub const SETTINGS_MAX: usize = 5 * 1024 * 1024;
pub const MESSAGE_NAME_MAX: usize = 36;
pub const UPLOAD_TOKEN_MAX: usize = 1024;

fn err(model: &str, field: &str, kind: &str) -> ChatError {
    ChatError::invalid(field, format!("chat.{model}.{field}.error.{kind}"))
}

/// A resource name: required, `[A-Za-z0-9_.-]`, at most `max` characters.
pub fn name(model: &str, field: &str, value: &str, max: usize) -> Result<(), ChatError> {
    if value.is_empty() {
        return Err(err(model, field, "require"));
    }
    if value.len() > max {
        return Err(err(model, field, "tooLong"));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
    {
        return Err(err(model, field, "invalid"));
    }
    Ok(())
}

/// A required name that may be absent in the request (`None`).
pub fn required_name(
    model: &str,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<String, ChatError> {
    let v = value.ok_or_else(|| err(model, field, "require"))?;
    name(model, field, v, max)?;
    Ok(v.to_string())
}

/// A user id: required, 1..=128 characters, no control characters.
pub fn user_id(model: &str, value: Option<&str>) -> Result<String, ChatError> {
    let v = value.ok_or_else(|| err(model, "userId", "require"))?;
    if v.is_empty() {
        return Err(err(model, "userId", "require"));
    }
    if v.chars().count() > USER_ID_MAX {
        return Err(err(model, "userId", "tooLong"));
    }
    if v.chars().any(|c| c.is_control()) {
        return Err(err(model, "userId", "invalid"));
    }
    Ok(v.to_string())
}

/// Free text bounded in characters.
pub fn text(model: &str, field: &str, value: Option<&str>, max: usize) -> Result<(), ChatError> {
    match value {
        Some(v) if v.chars().count() > max => Err(err(model, field, "tooLong")),
        _ => Ok(()),
    }
}

pub fn category(model: &str, value: i64) -> Result<(), ChatError> {
    if !(0..=CATEGORY_MAX).contains(&value) {
        return Err(err(model, "category", "invalid"));
    }
    Ok(())
}

/// Page size: default 30, 1..=1000.
pub fn limit(model: &str, value: Option<i64>) -> Result<usize, ChatError> {
    let v = value.unwrap_or(LIMIT_DEFAULT);
    if !(1..=LIMIT_MAX).contains(&v) {
        return Err(err(model, "limit", "invalid"));
    }
    Ok(v as usize)
}

pub fn white_list(model: &str, ids: &[String]) -> Result<(), ChatError> {
    if ids.len() > WHITE_LIST_MAX {
        return Err(err(model, "whiteListUserIds", "tooMany"));
    }
    for id in ids {
        user_id(model, Some(id))?;
    }
    Ok(())
}

pub fn notification_types(model: &str, types: &[NotificationType]) -> Result<(), ChatError> {
    if types.len() > NOTIFICATION_TYPES_MAX {
        return Err(err(model, "notificationTypes", "tooMany"));
    }
    for t in types {
        let c = t.category.unwrap_or(0);
        if !(0..=CATEGORY_MAX + 1).contains(&c) {
            return Err(err("notificationType", "category", "invalid"));
        }
    }
    Ok(())
}

pub fn enabled_disabled(model: &str, field: &str, value: Option<&str>) -> Result<(), ChatError> {
    match value {
        None | Some("Enabled") | Some("Disabled") => Ok(()),
        Some(_) => Err(err(model, field, "invalid")),
    }
}

pub fn life_time_days(value: Option<i64>) -> Result<(), ChatError> {
    match value {
        Some(d) if !(LIFETIME_DAYS_MIN..=LIFETIME_DAYS_MAX).contains(&d) => {
            Err(err("namespace", "messageLifeTimeDays", "invalid"))
        }
        _ => Ok(()),
    }
}

/// Parses and checks the master-data document of `updateCurrentModelMaster`.
pub fn master_settings(settings: &str) -> Result<MasterSettings, ChatError> {
    if settings.len() > SETTINGS_MAX {
        return Err(err("currentModelMaster", "settings", "tooLong"));
    }
    let parsed: MasterSettings = serde_json::from_str(settings)
        .map_err(|_| err("currentModelMaster", "settings", "invalid"))?;
    let mut seen = std::collections::BTreeSet::new();
    for m in &parsed.category_models {
        let c = m
            .category
            .ok_or_else(|| err("categoryModel", "category", "require"))?;
        category("categoryModel", c)?;
        enabled_disabled(
            "categoryModel",
            "rejectAccessTokenPost",
            m.reject_access_token_post.as_deref(),
        )?;
        if !seen.insert(c) {
            return Err(err("categoryModel", "category", "duplicate"));
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(name("room", "name", "room-1_a.b", NAME_MAX).is_ok());
        assert!(name("room", "name", "", NAME_MAX).is_err());
        assert!(name("room", "name", "a b", NAME_MAX).is_err());
        assert!(name("room", "name", "a/b", NAME_MAX).is_err());
        assert!(name("room", "name", "é", NAME_MAX).is_err());
        assert!(name("room", "name", &"a".repeat(128), NAME_MAX).is_ok());
        let e = name("room", "name", &"a".repeat(129), NAME_MAX).unwrap_err();
        assert_eq!(e.detail().message, "chat.room.name.error.tooLong");
    }

    #[test]
    fn limits_and_ranges() {
        assert_eq!(limit("m", None).unwrap(), 30);
        assert_eq!(limit("m", Some(1000)).unwrap(), 1000);
        assert!(limit("m", Some(0)).is_err());
        assert!(limit("m", Some(1001)).is_err());
        assert!(category("m", 0).is_ok());
        assert!(category("m", CATEGORY_MAX).is_ok());
        assert!(category("m", CATEGORY_MAX + 1).is_err());
        assert!(category("m", -1).is_err());
        assert!(text("m", "metadata", Some(&"x".repeat(1024)), METADATA_MAX).is_ok());
        assert!(text("m", "metadata", Some(&"x".repeat(1025)), METADATA_MAX).is_err());
        assert!(life_time_days(Some(30)).is_ok());
        assert!(life_time_days(Some(31)).is_err());
        assert!(life_time_days(Some(0)).is_err());
        let many: Vec<String> = (0..1001).map(|i| format!("u{i}")).collect();
        assert!(white_list("room", &many).is_err());
        assert!(white_list("room", &many[..1000]).is_ok());
        assert!(user_id("room", Some(&"u".repeat(129))).is_err());
        assert!(enabled_disabled("c", "f", Some("Maybe")).is_err());
    }

    #[test]
    fn master_settings_parse() {
        let ok = r#"{"version":"2020-04-30","categoryModels":[{"category":1,"rejectAccessTokenPost":"Enabled"}]}"#;
        assert_eq!(master_settings(ok).unwrap().category_models.len(), 1);
        assert!(master_settings("not json").is_err());
        let dup = r#"{"categoryModels":[{"category":1},{"category":1}]}"#;
        assert!(master_settings(dup).is_err());
    }
}
