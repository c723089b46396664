//! Category model masters (editable) and the current master (what is active), updated in
//! `direct` mode or through the three-request `preUpload` flow with an upload URL served by
//! the node itself. The GitHub variant is refused: a self-hosted cluster does not reach GitHub.

use proto::command::Command;
use proto::gs2::models::{MasterCategoryModel, MasterSettings};
use proto::gs2::records::ActiveCategoryModel;
use proto::gs2::validate::{self, DESCRIPTION_MAX, UPLOAD_TOKEN_MAX};
use proto::gs2::ChatError;
use serde_json::{json, Value};

use super::user_data::new_upload;
use super::{item, items, name_field, page, read, text_field, write_item};
use crate::faces::gs2::error::ApiError;
use crate::faces::gs2::request::Req;
use crate::faces::gs2::App;

const MASTER_VERSION: &str = "2020-04-30";

fn ns(req: &Req) -> Result<String, ChatError> {
    name_field(req, "categoryModel", "namespaceName")
}

fn category(req: &Req) -> Result<i64, ChatError> {
    let c = req.opt_i64("category")?.ok_or_else(|| {
        ChatError::invalid("category", "chat.categoryModel.category.error.require")
    })?;
    validate::category("categoryModel", c)?;
    Ok(c)
}

fn master_fields(req: &Req) -> Result<(Option<String>, Option<String>), ChatError> {
    let description = text_field(req, "categoryModelMaster", "description", DESCRIPTION_MAX)?;
    let reject = req.opt_str("rejectAccessTokenPost")?;
    validate::enabled_disabled(
        "categoryModelMaster",
        "rejectAccessTokenPost",
        reject.as_deref(),
    )?;
    Ok((description, reject))
}

pub async fn describe_models(app: App, req: Req) -> Result<Value, ApiError> {
    let ns = ns(&req)?;
    let view = read(&app, &req).await?;
    view.require_namespace(&ns)?;
    let models = view
        .current_master(&ns)?
        .map(|c| c.models)
        .unwrap_or_default();
    let list: Vec<_> = models
        .iter()
        .map(|m| app.render.category_model(&ns, m))
        .collect();
    Ok(json!({ "items": list }))
}

pub async fn get_model(app: App, req: Req) -> Result<Value, ApiError> {
    let ns = ns(&req)?;
    let c = category(&req)?;
    let view = read(&app, &req).await?;
    view.require_namespace(&ns)?;
    let model = view
        .current_master(&ns)?
        .and_then(|cur| cur.models.into_iter().find(|m| m.category == c))
        .ok_or_else(|| ChatError::not_found("categoryModel", "categoryModel"))?;
    Ok(item(app.render.category_model(&ns, &model)))
}

pub async fn describe_masters(app: App, req: Req) -> Result<Value, ApiError> {
    let ns = ns(&req)?;
    let (token, limit) = page(&req, "categoryModelMaster")?;
    let view = read(&app, &req).await?;
    view.require_namespace(&ns)?;
    let (list, next) = view.category_masters(&ns, token.as_deref(), limit)?;
    Ok(items(&list, next, |c| app.render.category_master(c)))
}

pub async fn create_master(app: App, req: Req) -> Result<Value, ApiError> {
    let namespace = ns(&req)?;
    let category = category(&req)?;
    let (description, reject_access_token_post) = master_fields(&req)?;
    let cmd = Command::CreateCategoryMaster {
        namespace,
        category,
        description,
        reject_access_token_post,
    };
    write_item!(app, req, cmd, CategoryMaster => category_master)
}

pub async fn get_master(app: App, req: Req) -> Result<Value, ApiError> {
    let ns = ns(&req)?;
    let c = category(&req)?;
    let m = read(&app, &req)
        .await?
        .category_master(&ns, c)?
        .ok_or_else(|| ChatError::not_found("categoryModelMaster", "categoryModel"))?;
    Ok(item(app.render.category_master(&m)))
}

pub async fn update_master(app: App, req: Req) -> Result<Value, ApiError> {
    let namespace = ns(&req)?;
    let category = category(&req)?;
    let (description, reject_access_token_post) = master_fields(&req)?;
    let cmd = Command::UpdateCategoryMaster {
        namespace,
        category,
        description,
        reject_access_token_post,
    };
    write_item!(app, req, cmd, CategoryMaster => category_master)
}

pub async fn delete_master(app: App, req: Req) -> Result<Value, ApiError> {
    let namespace = ns(&req)?;
    let category = category(&req)?;
    let cmd = Command::DeleteCategoryMaster {
        namespace,
        category,
    };
    write_item!(app, req, cmd, CategoryMaster => category_master)
}

/// The editable masters as a master-data document, ready for `updateCurrentModelMaster`.
pub async fn export(app: App, req: Req) -> Result<Value, ApiError> {
    let ns = ns(&req)?;
    let view = read(&app, &req).await?;
    view.require_namespace(&ns)?;
    let mut models = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let (page, next) = view.category_masters(&ns, token.as_deref(), 1000)?;
        models.extend(page.into_iter().map(|c| {
            MasterCategoryModel {
                category: Some(c.category),
                reject_access_token_post: Some(
                    c.reject_access_token_post
                        .unwrap_or_else(|| "Disabled".to_string()),
                ),
            }
        }));
        match next {
            Some(n) => token = Some(n),
            None => break,
        }
    }
    let settings = serde_json::to_string(&MasterSettings {
        version: Some(MASTER_VERSION.to_string()),
        category_models: models,
    })
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(item(proto::gs2::models::CurrentModelMaster {
        namespace_id: app.render.namespace_id(&ns),
        settings,
    }))
}

pub async fn get_current(app: App, req: Req) -> Result<Value, ApiError> {
    let ns = ns(&req)?;
    let view = read(&app, &req).await?;
    view.require_namespace(&ns)?;
    let cur = view
        .current_master(&ns)?
        .ok_or_else(|| ChatError::not_found("currentModelMaster", "currentModelMaster"))?;
    Ok(item(app.render.current_master(&cur)))
}

pub async fn pre_update(app: App, req: Req) -> Result<Value, ApiError> {
    let ns = ns(&req)?;
    read(&app, &req).await?.require_namespace(&ns)?;
    let (token, url) = new_upload(&app);
    Ok(json!({ "uploadToken": token, "uploadUrl": url }))
}

pub async fn update_current(app: App, req: Req) -> Result<Value, ApiError> {
    let namespace = ns(&req)?;
    let mode = req.opt_str("mode")?.unwrap_or_else(|| "direct".to_string());
    let settings = match mode.as_str() {
        "direct" => req.opt_str("settings")?.ok_or_else(|| {
            ChatError::invalid("settings", "chat.currentModelMaster.settings.error.require")
        })?,
        "preUpload" => {
            let token = req.opt_str("uploadToken")?.ok_or_else(|| {
                ChatError::invalid(
                    "uploadToken",
                    "chat.currentModelMaster.uploadToken.error.require",
                )
            })?;
            validate::text(
                "currentModelMaster",
                "uploadToken",
                Some(&token),
                UPLOAD_TOKEN_MAX,
            )?;
            read(&app, &req)
                .await?
                .upload(&token)?
                .ok_or_else(|| ChatError::not_found("currentModelMaster", "uploadToken"))?
        }
        _ => {
            return Err(
                ChatError::invalid("mode", "chat.currentModelMaster.mode.error.invalid").into(),
            )
        }
    };
    let parsed = validate::master_settings(&settings)?;
    let models = parsed
        .category_models
        .iter()
        .map(|m| ActiveCategoryModel {
            category: m.category.unwrap_or(0),
            reject_access_token_post: m.reject_access_token_post.as_deref() == Some("Enabled"),
        })
        .collect();
    let cmd = Command::UpdateCurrentMaster {
        namespace,
        settings,
        models,
    };
    write_item!(app, req, cmd, CurrentMaster => current_master)
}

pub async fn update_from_github(_app: App, req: Req) -> Result<Value, ApiError> {
    ns(&req)?;
    Err(ChatError::Unsupported {
        component: "checkoutSetting".into(),
        message: "chat.currentModelMaster.checkoutSetting.error.unsupported: this cluster does not reach GitHub; use updateCurrentModelMaster with mode \"direct\" (or \"preUpload\")".into(),
    }
    .into())
}
