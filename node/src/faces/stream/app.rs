//! `GET /app` (`getAppSettings`, `get_app`): the app settings the clients read. The app is
//! configured on the node (`[stream]`), not through the API: auth and permission checks are
//! always on.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::call::Call;
use super::error::ApiError;
use super::{render, Stream};

pub async fn get(State(s): State<Stream>, _call: Call) -> Result<Json<Value>, ApiError> {
    Ok(Json(render::ok(json!({
        "app": {
            "name": "chat-node",
            "organization": "chat-node",
            "placement": "self-hosted",
            "disable_auth_checks": false,
            "disable_permissions_checks": false,
            "suspended": false,
            "multi_tenant_enabled": false,
            "permission_version": "v2",
            "channel_configs": {},
            "grants": {},
            "policies": {},
            "push_notifications": { "version": "v3", "offline_only": false },
            "image_moderation_enabled": false,
            "enforce_unique_usernames": "no",
            "api_key": s.keys.api_key,
        }
    }))))
}
