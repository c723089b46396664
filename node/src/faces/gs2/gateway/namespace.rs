//! Gateway namespaces, with their firebase settings (replicated).

use proto::command::{Command, Outcome};
use proto::gs2::records::GatewaySettings;
use proto::gs2::validate::{self, DESCRIPTION_MAX, NAME_MAX, PAGE_TOKEN_MAX, PREFIX_MAX};
use proto::gs2::ChatError;
use serde_json::{json, Value};

use super::{not_found, ns_name};
use crate::faces::gs2::chat::{item, items, read, unexpected, write};
use crate::faces::gs2::error::ApiError;
use crate::faces::gs2::request::Req;
use crate::faces::gs2::App;

fn settings(req: &Req) -> Result<GatewaySettings, ChatError> {
    let description = req.opt_str("description")?;
    validate::text(
        "namespace",
        "description",
        description.as_deref(),
        DESCRIPTION_MAX,
    )?;
    let firebase_secret = req.opt_str("firebaseSecret")?;
    validate::text(
        "namespace",
        "firebaseSecret",
        firebase_secret.as_deref(),
        5 * 1024,
    )?;
    let firebase_project_id = req.opt_str("firebaseProjectId")?;
    validate::text(
        "namespace",
        "firebaseProjectId",
        firebase_project_id.as_deref(),
        1024,
    )?;
    Ok(GatewaySettings {
        description,
        transaction_setting: req.opt("transactionSetting")?,
        transaction_setting_v2: req.opt("transactionSettingV2")?,
        firebase_secret,
        firebase_project_id,
        log_setting: req.opt("logSetting")?,
    })
}

fn outcome(app: &App, o: Outcome) -> Result<Value, ApiError> {
    match o {
        Outcome::GatewayNamespace(n) => Ok(item(app.render.gateway_namespace(&n))),
        o => Err(unexpected(o)),
    }
}

pub async fn describe(app: App, req: Req) -> Result<Value, ApiError> {
    let prefix = req.opt_str("namePrefix")?;
    validate::text("namespace", "namePrefix", prefix.as_deref(), PREFIX_MAX)?;
    let token = req.opt_str("pageToken")?;
    validate::text("namespace", "pageToken", token.as_deref(), PAGE_TOKEN_MAX)?;
    let limit = validate::limit("namespace", req.opt_i64("limit")?)?;
    let (list, next) =
        read(&app, &req)
            .await?
            .gateway_namespaces(prefix.as_deref(), token.as_deref(), limit)?;
    Ok(items(
        list.iter()
            .map(|n| app.render.gateway_namespace(n))
            .collect(),
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
    let o = write(
        &app,
        &req,
        Command::CreateGatewayNamespace { name, settings },
    )
    .await?;
    outcome(&app, o)
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
    let o = write(
        &app,
        &req,
        Command::UpdateGatewayNamespace { name, settings },
    )
    .await?;
    outcome(&app, o)
}

pub async fn delete(app: App, req: Req) -> Result<Value, ApiError> {
    let name = ns_name(&req)?;
    let o = write(&app, &req, Command::DeleteGatewayNamespace { name }).await?;
    outcome(&app, o)
}
