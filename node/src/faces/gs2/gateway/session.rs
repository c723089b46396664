//! WebSocket sessions: listing (cluster-wide), binding a connection to a user (`setUserId`),
//! notifications and disconnections on every node.

use proto::gs2::gateway::{MobilePush, Notification};
use proto::gs2::models::MobileNotificationMessage;
use proto::gs2::validate;
use proto::gs2::ChatError;
use serde_json::{json, Value};

use super::{not_found, ns_name, user};
use crate::clock::now_ms;
use crate::faces::gs2::chat::{item, page, read, text_field};
use crate::faces::gs2::error::ApiError;
use crate::faces::gs2::request::Req;
use crate::faces::gs2::App;
use crate::gateway::mobile::MobileError;

/// Issuer of notifications sent through `sendNotification`.
pub const SEND_NOTIFICATION_ISSUER: &str = "Gs2Gateway:SendNotification";

async fn require_namespace(
    app: &App,
    req: &Req,
    ns: &str,
) -> Result<proto::gs2::records::GatewayNamespaceRecord, ApiError> {
    Ok(read(app, req)
        .await?
        .gateway_namespace(ns)?
        .ok_or_else(|| not_found("namespace"))?)
}

/// Sessions of a user on every node, paged by position (`pageToken` = connection id to start at).
pub async fn describe(app: App, req: Req) -> Result<Value, ApiError> {
    let ns = ns_name(&req)?;
    let user = user(&req)?;
    let (token, limit) = page(&req, "webSocketSession")?;
    require_namespace(&app, &req, &ns).await?;
    let all = app.gateway.sessions(&ns, Some(&user)).await;
    let start = match &token {
        Some(t) => all
            .iter()
            .position(|s| &s.connection_id == t)
            .ok_or_else(|| ChatError::invalid("pageToken", "gateway.pageToken.error.invalid"))?,
        None => 0,
    };
    let page: Vec<_> = all.iter().skip(start).take(limit).collect();
    let next = all.get(start + limit).map(|s| s.connection_id.clone());
    let items: Vec<_> = page.into_iter().map(|s| app.render.session(s)).collect();
    Ok(json!({ "items": items, "nextPageToken": next }))
}

/// Binds the calling WebSocket connection (or `connectionId`) to the user, applying the
/// concurrent-access rules: with `allowConcurrentAccess: false`, other sessions of the user
/// (except those with the same `sessionId`) make the call fail with 409, or, with `force`,
/// are disconnected first.
pub async fn set_user_id(app: App, req: Req) -> Result<Value, ApiError> {
    let ns = ns_name(&req)?;
    let user = user(&req)?;
    let connection = match (&req.connection, req.opt_str("connectionId")?) {
        (Some(c), _) => c.clone(),
        (None, Some(c)) => c,
        (None, None) => {
            return Err(ChatError::invalid(
                "connectionId",
                "gateway.webSocketSession.connectionId.error.require: call setUserId over the WebSocket connection to bind",
            )
            .into())
        }
    };
    let allow_concurrent = req.opt_bool("allowConcurrentAccess")?.unwrap_or(true);
    let force = req.opt_bool("force")?.unwrap_or(false);
    let session_id = text_field(&req, "webSocketSession", "sessionId", 128)?;
    require_namespace(&app, &req, &ns).await?;
    if !allow_concurrent {
        let existing = app.gateway.sessions(&ns, Some(&user)).await;
        let (others, keep): (Vec<_>, Vec<_>) = existing.into_iter().partition(|s| {
            s.connection_id != connection && !(session_id.is_some() && s.session_id == session_id)
        });
        if !others.is_empty() {
            if !force {
                return Err(ChatError::AlreadyExists {
                    component: "webSocketSession".into(),
                    message: "gateway.webSocketSession.userId.error.conflict".into(),
                }
                .into());
            }
            let mut keep: Vec<String> = keep.into_iter().map(|s| s.connection_id).collect();
            keep.push(connection.clone());
            app.gateway.disconnect(&ns, Some(&user), keep).await;
        }
    }
    let info = app
        .gateway
        .bind(&connection, &ns, &user, session_id, now_ms())
        .await
        .ok_or_else(|| not_found("webSocketSession"))?;
    Ok(item(app.render.session(&info)))
}

fn mobile(req: &Req) -> Result<MobilePush, ChatError> {
    let sound = text_field(req, "notification", "sound", 1024)?;
    let messages: Vec<MobileNotificationMessage> =
        req.opt("mobileNotificationMessages")?.unwrap_or_default();
    Ok(MobilePush { sound, messages })
}

fn notification(req: &Req) -> Result<Notification, ChatError> {
    let subject = req.opt_str("subject")?.unwrap_or_default();
    validate::text("notification", "subject", Some(&subject), 128)?;
    let payload = req.opt_str("payload")?.unwrap_or_default();
    validate::text("notification", "payload", Some(&payload), 1024)?;
    Ok(Notification {
        issuer: SEND_NOTIFICATION_ISSUER.into(),
        subject,
        payload,
        mobile: Some(mobile(req)?),
    })
}

/// Queues a push to the user's firebase token through the namespace's firebase settings (the
/// gateway sends it, with retries, off the request path).
async fn push_to_mobile(
    app: &App,
    req: &Req,
    ns: &str,
    user: &str,
    n: Notification,
) -> Result<(), ApiError> {
    let view = read(app, req).await?;
    app.gateway
        .push_to_mobile(view, ns, user, n)
        .map_err(|e| match e {
            MobileError::NoNamespace => not_found("namespace").into(),
            MobileError::NoToken => not_found("firebaseToken").into(),
            MobileError::NotConfigured => ApiError::from(ChatError::invalid(
                "namespace",
                "gateway.namespace.firebaseSecret.error.require",
            )),
            MobileError::QueueFull => ApiError::Unavailable(e.to_string()),
            MobileError::Read(e) => e.into(),
        })
}

pub async fn send_notification(app: App, req: Req) -> Result<Value, ApiError> {
    let ns = ns_name(&req)?;
    let user = user(&req)?;
    let n = notification(&req)?;
    let transfer = req
        .opt_bool("enableTransferMobileNotification")?
        .unwrap_or(false);
    require_namespace(&app, &req, &ns).await?;
    let reached = app.gateway.notify(&ns, &user, n.frame().to_string()).await;
    if reached.is_empty() && transfer {
        push_to_mobile(&app, &req, &ns, &user, n).await?;
        return Ok(json!({ "protocol": "firebase", "sendConnectionIds": reached }));
    }
    Ok(json!({ "protocol": "websocket", "sendConnectionIds": reached }))
}

pub async fn send_mobile_notification(app: App, req: Req) -> Result<Value, ApiError> {
    let ns = ns_name(&req)?;
    let user = user(&req)?;
    let n = notification(&req)?;
    push_to_mobile(&app, &req, &ns, &user, n).await?;
    Ok(json!({}))
}

pub async fn disconnect_by_user_id(app: App, req: Req) -> Result<Value, ApiError> {
    let ns = ns_name(&req)?;
    let user = user(&req)?;
    require_namespace(&app, &req, &ns).await?;
    let closed = app.gateway.disconnect(&ns, Some(&user), Vec::new()).await;
    let items: Vec<_> = closed.iter().map(|s| app.render.session(s)).collect();
    Ok(json!({ "items": items }))
}

pub async fn disconnect_all(app: App, req: Req) -> Result<Value, ApiError> {
    let ns = ns_name(&req)?;
    require_namespace(&app, &req, &ns).await?;
    app.gateway.disconnect(&ns, None, Vec::new()).await;
    Ok(json!({}))
}
