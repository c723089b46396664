//! Namespaces: create, read, update (replacing every setting), delete (cascading), status.

use proto::command::{Command, Outcome};
use proto::gs2::records::NamespaceSettings;
use proto::gs2::validate::{self, DESCRIPTION_MAX, NAME_MAX, PAGE_TOKEN_MAX, PREFIX_MAX};
use proto::gs2::ChatError;
use serde_json::{json, Value};

use super::{item, items, read, unexpected, write};
use crate::faces::gs2::error::ApiError;
use crate::faces::gs2::request::Req;
use crate::faces::gs2::App;

fn ns_name(req: &Req) -> Result<String, ChatError> {
    validate::required_name(
        "namespace",
        "namespaceName",
        req.opt_str("namespaceName")?.as_deref(),
        NAME_MAX,
    )
}

/// Every setting of a create/update request, validated, with GS2's defaults.
fn settings(req: &Req) -> Result<NamespaceSettings, ChatError> {
    let description = req.opt_str("description")?;
    validate::text(
        "namespace",
        "description",
        description.as_deref(),
        DESCRIPTION_MAX,
    )?;
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

fn namespace_outcome(app: &App, o: Outcome) -> Result<Value, ApiError> {
    match o {
        Outcome::Namespace(n) => Ok(item(app.render.namespace(&n))),
        o => Err(unexpected(o)),
    }
}

pub async fn describe(app: App, req: Req) -> Result<Value, ApiError> {
    let prefix = req.opt_str("namePrefix")?;
    validate::text("namespace", "namePrefix", prefix.as_deref(), PREFIX_MAX)?;
    let token = req.opt_str("pageToken")?;
    validate::text("namespace", "pageToken", token.as_deref(), PAGE_TOKEN_MAX)?;
    let limit = validate::limit("namespace", req.opt_i64("limit")?)?;
    let view = read(&app, &req).await?;
    let (list, next) = view.namespaces(prefix.as_deref(), token.as_deref(), limit)?;
    Ok(items(
        list.iter().map(|n| app.render.namespace(n)).collect(),
        next,
    ))
}

pub async fn create(app: App, req: Req) -> Result<Value, ApiError> {
    let name = validate::required_name(
        "namespace",
        "name",
        req.opt_str("name")?.as_deref(),
        NAME_MAX,
    )?;
    let settings = settings(&req)?;
    let o = write(&app, &req, Command::CreateNamespace { name, settings }).await?;
    namespace_outcome(&app, o)
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
    let o = write(&app, &req, Command::UpdateNamespace { name, settings }).await?;
    namespace_outcome(&app, o)
}

pub async fn delete(app: App, req: Req) -> Result<Value, ApiError> {
    let name = ns_name(&req)?;
    let o = write(&app, &req, Command::DeleteNamespace { name }).await?;
    namespace_outcome(&app, o)
}

pub async fn version(_app: App, _req: Req) -> Result<Value, ApiError> {
    Ok(item(env!("CARGO_PKG_VERSION")))
}
