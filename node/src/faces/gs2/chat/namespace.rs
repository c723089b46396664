//! Namespaces: create, read, update (replacing every setting), delete (cascading), status.

use proto::command::Command;
use proto::gs2::records::NamespaceSettings;
use proto::gs2::validate::{self, DESCRIPTION_MAX, PREFIX_MAX};
use proto::gs2::ChatError;
use serde_json::{json, Value};

use super::{item, items, name_field, page, read, text_field, write_item};
use crate::faces::gs2::error::ApiError;
use crate::faces::gs2::request::Req;
use crate::faces::gs2::App;

fn ns_name(req: &Req) -> Result<String, ChatError> {
    name_field(req, "namespace", "namespaceName")
}

/// Every setting of a create/update request, validated, with GS2's defaults.
fn settings(req: &Req) -> Result<NamespaceSettings, ChatError> {
    let description = text_field(req, "namespace", "description", DESCRIPTION_MAX)?;
    let life = Some(req.opt_i64("messageLifeTimeDays")?.unwrap_or(1));
    validate::life_time_days(life)?;
    let post_notification: Option<proto::gs2::models::NotificationSetting> =
        req.opt("postNotification")?;
    if let Some(n) = &post_notification {
        validate::enabled_disabled("notificationSetting", "enable", n.enable.as_deref())?;
        validate::text(
            "notificationSetting",
            "gatewayNamespaceId",
            n.gateway_namespace_id.as_deref(),
            1024,
        )?;
    }
    Ok(NamespaceSettings {
        description,
        transaction_setting: req.opt("transactionSetting")?,
        transaction_setting_v2: req.opt("transactionSettingV2")?,
        allow_create_room: req.opt_bool("allowCreateRoom")?.unwrap_or(true),
        message_life_time_days: life,
        post_message_script: req.opt("postMessageScript")?,
        create_room_script: req.opt("createRoomScript")?,
        delete_room_script: req.opt("deleteRoomScript")?,
        subscribe_room_script: req.opt("subscribeRoomScript")?,
        unsubscribe_room_script: req.opt("unsubscribeRoomScript")?,
        post_notification,
        log_setting: req.opt("logSetting")?,
    })
}

pub async fn describe(app: App, req: Req) -> Result<Value, ApiError> {
    let prefix = text_field(&req, "namespace", "namePrefix", PREFIX_MAX)?;
    let (token, limit) = page(&req, "namespace")?;
    let view = read(&app, &req).await?;
    let (list, next) = view.namespaces(prefix.as_deref(), token.as_deref(), limit)?;
    Ok(items(&list, next, |n| app.render.namespace(n)))
}

pub async fn create(app: App, req: Req) -> Result<Value, ApiError> {
    let name = name_field(&req, "namespace", "name")?;
    let settings = settings(&req)?;
    let cmd = Command::CreateNamespace { name, settings };
    write_item!(app, req, cmd, Namespace => namespace)
}

pub async fn status(app: App, req: Req) -> Result<Value, ApiError> {
    let name = ns_name(&req)?;
    read(&app, &req).await?.require_namespace(&name)?;
    Ok(json!({ "status": "ACTIVE" }))
}

pub async fn get(app: App, req: Req) -> Result<Value, ApiError> {
    let name = ns_name(&req)?;
    let ns = read(&app, &req).await?.require_namespace(&name)?;
    Ok(item(app.render.namespace(&ns)))
}

pub async fn update(app: App, req: Req) -> Result<Value, ApiError> {
    let name = ns_name(&req)?;
    let settings = settings(&req)?;
    let cmd = Command::UpdateNamespace { name, settings };
    write_item!(app, req, cmd, Namespace => namespace)
}

pub async fn delete(app: App, req: Req) -> Result<Value, ApiError> {
    let name = ns_name(&req)?;
    write_item!(app, req, Command::delete_namespace(name), Namespace => namespace)
}

pub async fn version(_app: App, _req: Req) -> Result<Value, ApiError> {
    Ok(item(env!("CARGO_PKG_VERSION")))
}
