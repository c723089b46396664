//! Gateway namespaces, with their firebase settings (replicated).

use proto::command::Command;
use proto::gs2::records::GatewaySettings;
use proto::gs2::validate::{DESCRIPTION_MAX, PREFIX_MAX};
use proto::gs2::ChatError;
use serde_json::{json, Value};

use super::{not_found, ns_name};
use crate::faces::gs2::chat::{item, items, name_field, page, read, text_field, write_item};
use crate::faces::gs2::error::ApiError;
use crate::faces::gs2::request::Req;
use crate::faces::gs2::App;

fn settings(req: &Req) -> Result<GatewaySettings, ChatError> {
    let description = text_field(req, "namespace", "description", DESCRIPTION_MAX)?;
    let firebase_secret = text_field(req, "namespace", "firebaseSecret", 5 * 1024)?;
    let firebase_project_id = text_field(req, "namespace", "firebaseProjectId", 1024)?;
    Ok(GatewaySettings {
        description,
        transaction_setting: req.opt("transactionSetting")?,
        transaction_setting_v2: req.opt("transactionSettingV2")?,
        firebase_secret,
        firebase_project_id,
        log_setting: req.opt("logSetting")?,
    })
}

pub async fn describe(app: App, req: Req) -> Result<Value, ApiError> {
    let prefix = text_field(&req, "namespace", "namePrefix", PREFIX_MAX)?;
    let (token, limit) = page(&req, "namespace")?;
    let (list, next) =
        read(&app, &req)
            .await?
            .gateway_namespaces(prefix.as_deref(), token.as_deref(), limit)?;
    Ok(items(&list, next, |n| app.render.gateway_namespace(n)))
}

pub async fn create(app: App, req: Req) -> Result<Value, ApiError> {
    let name = name_field(&req, "namespace", "name")?;
    let settings = settings(&req)?;
    let cmd = Command::CreateGatewayNamespace { name, settings };
    write_item!(app, req, cmd, GatewayNamespace => gateway_namespace)
}

pub async fn status(app: App, req: Req) -> Result<Value, ApiError> {
    let name = ns_name(&req)?;
    read(&app, &req)
        .await?
        .gateway_namespace(&name)?
        .ok_or_else(|| not_found("namespace"))?;
    Ok(json!({ "status": "ACTIVE" }))
}

pub async fn get(app: App, req: Req) -> Result<Value, ApiError> {
    let name = ns_name(&req)?;
    let ns = read(&app, &req)
        .await?
        .gateway_namespace(&name)?
        .ok_or_else(|| not_found("namespace"))?;
    Ok(item(app.render.gateway_namespace(&ns)))
}

pub async fn update(app: App, req: Req) -> Result<Value, ApiError> {
    let name = ns_name(&req)?;
    let settings = settings(&req)?;
    let cmd = Command::UpdateGatewayNamespace { name, settings };
    write_item!(app, req, cmd, GatewayNamespace => gateway_namespace)
}

pub async fn delete(app: App, req: Req) -> Result<Value, ApiError> {
    let name = ns_name(&req)?;
    let cmd = Command::DeleteGatewayNamespace { name };
    write_item!(app, req, cmd, GatewayNamespace => gateway_namespace)
}
