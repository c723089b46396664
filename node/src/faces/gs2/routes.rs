//! The dispatch table: every GS2 method this node serves (`gs2-protocol.md` §6), and the
//! matcher that picks one for a path (literal segments win over parameters, so
//! `/message/latest` is not read as a message named `latest`).

use std::sync::LazyLock;

use axum::http::Method;
use futures::future::BoxFuture;
use serde_json::{Map, Value};

use super::chat::{master, message, namespace, room, subscribe, user_data};
use super::error::ApiError;
use super::gateway as gw;
use super::request::Req;
use super::{identity, App};

/// Which token a method requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token (logins, capability URLs).
    Public,
    /// A project token (`Authorization: Bearer`).
    Project,
    /// A player access token (`X-GS2-ACCESS-TOKEN`); the call acts as that user.
    Player,
}

pub type Handler = fn(App, Req) -> BoxFuture<'static, Result<Value, ApiError>>;

pub struct Route {
    pub method: Method,
    pub service: &'static str,
    pub path: &'static str,
    pub component: &'static str,
    pub function: &'static str,
    pub access: Access,
    /// Body is passed raw instead of parsed as JSON (upload URLs).
    pub raw_body: bool,
    pub handler: Handler,
    /// `path` split at `/`, `service.component.function` (the REST metrics label) and
    /// `ws:service.component.function` (the WebSocket one): filled once when the table is
    /// built, not per request.
    pub segments: Vec<&'static str>,
    pub name: String,
    pub ws_name: String,
}

impl Route {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn ws_name(&self) -> &str {
        &self.ws_name
    }
}

/// Metrics label of a WebSocket request naming no route (never the client's strings).
pub const WS_UNKNOWN: &str = "ws:unknown";

/// Whether any route of the table uses `method` (a request with another method answers 405).
pub fn method_known(method: &Method) -> bool {
    ROUTES.iter().any(|r| r.method == *method)
}

macro_rules! route {
    ($m:ident $svc:literal $path:literal => $comp:literal . $func:literal, $access:ident, $h:path) => {
        Route {
            method: Method::$m,
            service: $svc,
            path: $path,
            component: $comp,
            function: $func,
            access: Access::$access,
            raw_body: false,
            handler: |a, r| Box::pin($h(a, r)),
            segments: Vec::new(),
            name: String::new(),
            ws_name: String::new(),
        }
    };
}

/// `getServiceVersion` and the per-user data methods: the same handlers under chat and gateway
/// (one dump holds both).
macro_rules! system_routes {
    ($svc:literal) => {
        [
            route!(GET $svc "/system/version" => "namespace"."getServiceVersion", Project, namespace::version),
            route!(POST $svc "/system/dump/user/{userId}" => "namespace"."dumpUserDataByUserId", Project, user_data::dump),
            route!(GET $svc "/system/dump/user/{userId}" => "namespace"."checkDumpUserDataByUserId", Project, user_data::check_dump),
            route!(POST $svc "/system/clean/user/{userId}" => "namespace"."cleanUserDataByUserId", Project, user_data::clean),
            route!(GET $svc "/system/clean/user/{userId}" => "namespace"."checkCleanUserDataByUserId", Project, user_data::check_clean),
            route!(POST $svc "/system/import/user/{userId}/prepare" => "namespace"."prepareImportUserDataByUserId", Project, user_data::prepare_import),
            route!(POST $svc "/system/import/user/{userId}" => "namespace"."importUserDataByUserId", Project, user_data::import),
            route!(GET $svc "/system/import/user/{userId}/{uploadToken}" => "namespace"."checkImportUserDataByUserId", Project, user_data::check_import),
        ]
    };
}

pub static ROUTES: LazyLock<Vec<Route>> = LazyLock::new(|| {
    let mut v = vec![
        // identifier / auth
        route!(POST "identifier" "/projectToken/login" => "projectToken"."login", Public, identity::project_login),
        route!(POST "auth" "/login" => "accessToken"."login", Project, identity::access_login),
        // namespaces and system
        route!(GET "chat" "/" => "namespace"."describeNamespaces", Project, namespace::describe),
        route!(POST "chat" "/" => "namespace"."createNamespace", Project, namespace::create),
        route!(GET "chat" "/{namespaceName}/status" => "namespace"."getNamespaceStatus", Project, namespace::status),
        route!(GET "chat" "/{namespaceName}" => "namespace"."getNamespace", Project, namespace::get),
        route!(PUT "chat" "/{namespaceName}" => "namespace"."updateNamespace", Project, namespace::update),
        route!(DELETE "chat" "/{namespaceName}" => "namespace"."deleteNamespace", Project, namespace::delete),
    ];
    v.extend(system_routes!("chat"));
    v.extend([
        route!(GET "chat" "/system/download/{userId}/{tag}" => "system"."download", Public, user_data::download),
        // rooms
        route!(GET "chat" "/{namespaceName}/room" => "room"."describeRooms", Project, room::describe),
        route!(POST "chat" "/{namespaceName}/room/user" => "room"."createRoom", Player, room::create),
        route!(POST "chat" "/{namespaceName}/room" => "room"."createRoomFromBackend", Project, room::create),
        route!(GET "chat" "/{namespaceName}/room/{roomName}" => "room"."getRoom", Project, room::get),
        route!(PUT "chat" "/{namespaceName}/room/{roomName}/user" => "room"."updateRoom", Player, room::update),
        route!(PUT "chat" "/{namespaceName}/room/{roomName}" => "room"."updateRoomFromBackend", Project, room::update),
        route!(DELETE "chat" "/{namespaceName}/room/{roomName}/user" => "room"."deleteRoom", Player, room::delete),
        route!(DELETE "chat" "/{namespaceName}/room/{roomName}" => "room"."deleteRoomFromBackend", Project, room::delete),
        // messages
        route!(GET "chat" "/{namespaceName}/room/{roomName}/message" => "message"."describeMessages", Player, message::describe),
        route!(GET "chat" "/{namespaceName}/room/{roomName}/message/get" => "message"."describeMessagesByUserId", Project, message::describe),
        route!(GET "chat" "/{namespaceName}/room/{roomName}/message/latest" => "message"."describeLatestMessages", Player, message::latest),
        route!(GET "chat" "/{namespaceName}/room/{roomName}/message/latest/get" => "message"."describeLatestMessagesByUserId", Project, message::latest),
        route!(POST "chat" "/{namespaceName}/room/{roomName}/message" => "message"."post", Player, message::post),
        route!(POST "chat" "/{namespaceName}/room/{roomName}/message/user/{userId}" => "message"."postByUserId", Project, message::post),
        route!(GET "chat" "/{namespaceName}/room/{roomName}/message/{messageName}" => "message"."getMessage", Player, message::get),
        route!(GET "chat" "/{namespaceName}/room/{roomName}/message/{messageName}/get" => "message"."getMessageByUserId", Project, message::get),
        route!(DELETE "chat" "/{namespaceName}/room/{roomName}/message/{messageName}" => "message"."deleteMessage", Project, message::delete),
        // subscriptions
        route!(GET "chat" "/{namespaceName}/user/me/room/subscribe" => "subscribe"."describeSubscribes", Player, subscribe::describe),
        route!(GET "chat" "/{namespaceName}/user/{userId}/room/subscribe" => "subscribe"."describeSubscribesByUserId", Project, subscribe::describe),
        route!(GET "chat" "/{namespaceName}/room/{roomName}/subscribe" => "subscribe"."describeSubscribesByRoomName", Project, subscribe::describe_by_room),
        route!(POST "chat" "/{namespaceName}/user/me/room/{roomName}/subscribe" => "subscribe"."subscribe", Player, subscribe::subscribe),
        route!(POST "chat" "/{namespaceName}/user/{userId}/room/{roomName}/subscribe" => "subscribe"."subscribeByUserId", Project, subscribe::subscribe),
        route!(GET "chat" "/{namespaceName}/user/me/room/{roomName}/subscribe" => "subscribe"."getSubscribe", Player, subscribe::get),
        route!(GET "chat" "/{namespaceName}/user/{userId}/room/{roomName}/subscribe" => "subscribe"."getSubscribeByUserId", Project, subscribe::get),
        route!(POST "chat" "/{namespaceName}/user/me/room/{roomName}/subscribe/notification" => "subscribe"."updateNotificationType", Player, subscribe::update_notification_type),
        route!(POST "chat" "/{namespaceName}/user/{userId}/room/{roomName}/subscribe/notification" => "subscribe"."updateNotificationTypeByUserId", Project, subscribe::update_notification_type),
        route!(DELETE "chat" "/{namespaceName}/user/me/room/{roomName}/subscribe" => "subscribe"."unsubscribe", Player, subscribe::unsubscribe),
        route!(DELETE "chat" "/{namespaceName}/user/{userId}/room/{roomName}/subscribe" => "subscribe"."unsubscribeByUserId", Project, subscribe::unsubscribe),
        // category models and master data
        route!(GET "chat" "/{namespaceName}/model" => "categoryModel"."describeCategoryModels", Project, master::describe_models),
        route!(GET "chat" "/{namespaceName}/model/{category}" => "categoryModel"."getCategoryModel", Project, master::get_model),
        route!(GET "chat" "/{namespaceName}/master/model" => "categoryModelMaster"."describeCategoryModelMasters", Project, master::describe_masters),
        route!(POST "chat" "/{namespaceName}/master/model" => "categoryModelMaster"."createCategoryModelMaster", Project, master::create_master),
        route!(GET "chat" "/{namespaceName}/master/model/{category}" => "categoryModelMaster"."getCategoryModelMaster", Project, master::get_master),
        route!(PUT "chat" "/{namespaceName}/master/model/{category}" => "categoryModelMaster"."updateCategoryModelMaster", Project, master::update_master),
        route!(DELETE "chat" "/{namespaceName}/master/model/{category}" => "categoryModelMaster"."deleteCategoryModelMaster", Project, master::delete_master),
        route!(GET "chat" "/{namespaceName}/master/export" => "currentModelMaster"."exportMaster", Project, master::export),
        route!(GET "chat" "/{namespaceName}/master" => "currentModelMaster"."getCurrentModelMaster", Project, master::get_current),
        route!(POST "chat" "/{namespaceName}/master" => "currentModelMaster"."preUpdateCurrentModelMaster", Project, master::pre_update),
        route!(PUT "chat" "/{namespaceName}/master" => "currentModelMaster"."updateCurrentModelMaster", Project, master::update_current),
        route!(PUT "chat" "/{namespaceName}/master/from_git_hub" => "currentModelMaster"."updateCurrentModelMasterFromGitHub", Project, master::update_from_github),
        // gateway
        route!(GET "gateway" "/" => "namespace"."describeNamespaces", Project, gw::namespace::describe),
        route!(POST "gateway" "/" => "namespace"."createNamespace", Project, gw::namespace::create),
        route!(GET "gateway" "/{namespaceName}/status" => "namespace"."getNamespaceStatus", Project, gw::namespace::status),
        route!(GET "gateway" "/{namespaceName}" => "namespace"."getNamespace", Project, gw::namespace::get),
        route!(PUT "gateway" "/{namespaceName}" => "namespace"."updateNamespace", Project, gw::namespace::update),
        route!(DELETE "gateway" "/{namespaceName}" => "namespace"."deleteNamespace", Project, gw::namespace::delete),
    ]);
    v.extend(system_routes!("gateway"));
    v.extend([
        route!(GET "gateway" "/{namespaceName}/session/user/me" => "webSocketSession"."describeWebSocketSessions", Player, gw::session::describe),
        route!(GET "gateway" "/{namespaceName}/session/user/{userId}" => "webSocketSession"."describeWebSocketSessionsByUserId", Project, gw::session::describe),
        route!(POST "gateway" "/{namespaceName}/session/user/me/user" => "webSocketSession"."setUserId", Player, gw::session::set_user_id),
        route!(POST "gateway" "/{namespaceName}/session/user/{userId}/user" => "webSocketSession"."setUserIdByUserId", Project, gw::session::set_user_id),
        route!(POST "gateway" "/{namespaceName}/session/user/{userId}/notification" => "webSocketSession"."sendNotification", Project, gw::session::send_notification),
        route!(DELETE "gateway" "/{namespaceName}/session/user/{userId}" => "webSocketSession"."disconnectByUserId", Project, gw::session::disconnect_by_user_id),
        route!(DELETE "gateway" "/{namespaceName}/session" => "webSocketSession"."disconnectAll", Project, gw::session::disconnect_all),
        route!(PUT "gateway" "/{namespaceName}/user/me/firebase/token" => "firebaseToken"."setFirebaseToken", Player, gw::firebase::set),
        route!(PUT "gateway" "/{namespaceName}/user/{userId}/firebase/token" => "firebaseToken"."setFirebaseTokenByUserId", Project, gw::firebase::set),
        route!(GET "gateway" "/{namespaceName}/user/me/firebase/token" => "firebaseToken"."getFirebaseToken", Player, gw::firebase::get),
        route!(GET "gateway" "/{namespaceName}/user/{userId}/firebase/token" => "firebaseToken"."getFirebaseTokenByUserId", Project, gw::firebase::get),
        route!(DELETE "gateway" "/{namespaceName}/user/me/firebase/token" => "firebaseToken"."deleteFirebaseToken", Player, gw::firebase::delete),
        route!(DELETE "gateway" "/{namespaceName}/user/{userId}/firebase/token" => "firebaseToken"."deleteFirebaseTokenByUserId", Project, gw::firebase::delete),
        route!(POST "gateway" "/{namespaceName}/user/{userId}/firebase/token/notification" => "firebaseToken"."sendMobileNotificationByUserId", Project, gw::session::send_mobile_notification),
    ]);
    let mut upload = route!(PUT "chat" "/system/upload/{uploadToken}" => "system"."upload", Public, user_data::upload);
    upload.raw_body = true;
    v.push(upload);
    for r in &mut v {
        r.segments = r.path.split('/').filter(|s| !s.is_empty()).collect();
        r.name = format!("{}.{}.{}", r.service, r.component, r.function);
        r.ws_name = format!("ws:{}", r.name);
    }
    v
});

/// Finds the route for `method` on `service` and the path segments after it; fills `params`
/// with the path parameters (the literal segment `null` means "absent").
pub fn find(
    method: &Method,
    service: &str,
    segments: &[String],
) -> Option<(&'static Route, Map<String, Value>)> {
    // Specificity: bit (63 - i) is set when segment i is a literal, so for equal lengths a
    // larger number is a literal earlier in the path.
    let mut best: Option<(&'static Route, u64)> = None;
    for route in ROUTES.iter() {
        if route.method != *method
            || route.service != service
            || route.segments.len() != segments.len()
        {
            continue;
        }
        let mut literal = 0u64;
        let matched = route
            .segments
            .iter()
            .zip(segments)
            .enumerate()
            .all(|(i, (t, s))| {
                let is_param = t.starts_with('{');
                if !is_param {
                    literal |= 1u64 << (63 - i.min(63));
                }
                is_param || t == s
            });
        if matched && best.is_none_or(|(_, b)| literal > b) {
            best = Some((route, literal));
        }
    }
    let (route, _) = best?;
    let mut params = Map::new();
    for (t, s) in route.segments.iter().zip(segments) {
        if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            let v = if s == "null" || s.is_empty() {
                Value::Null
            } else {
                Value::String(s.clone())
            };
            params.insert(name.to_string(), v);
        }
    }
    Some((route, params))
}

/// The route of a WebSocket `x_gs2` header (`service`, `component`, `function`).
pub fn find_by_name(service: &str, component: &str, function: &str) -> Option<&'static Route> {
    ROUTES
        .iter()
        .find(|r| r.service == service && r.component == component && r.function == function)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &str) -> Vec<String> {
        p.split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    }

    #[test]
    fn literals_win_over_parameters() {
        let (r, p) = find(&Method::GET, "chat", &segs("ns/room/r/message/latest")).unwrap();
        assert_eq!(r.function, "describeLatestMessages");
        assert_eq!(p["roomName"], "r");
        let (r, p) = find(&Method::GET, "chat", &segs("ns/room/r/message/m1")).unwrap();
        assert_eq!(r.function, "getMessage");
        assert_eq!(p["messageName"], "m1");
        let (r, _) = find(&Method::GET, "chat", &segs("ns/user/me/room/subscribe")).unwrap();
        assert_eq!(r.function, "describeSubscribes");
        let (r, p) = find(&Method::GET, "chat", &segs("ns/user/u1/room/subscribe")).unwrap();
        assert_eq!(r.function, "describeSubscribesByUserId");
        assert_eq!(p["userId"], "u1");
        let (r, _) = find(&Method::GET, "chat", &segs("system/version")).unwrap();
        assert_eq!(r.function, "getServiceVersion");
        let (r, _) = find(&Method::GET, "chat", &[]).unwrap();
        assert_eq!(r.function, "describeNamespaces");
        let (_, p) = find(&Method::GET, "chat", &segs("null")).unwrap();
        assert!(p["namespaceName"].is_null());
        assert!(find(&Method::PATCH, "chat", &segs("ns")).is_none());
        assert!(!method_known(&Method::PATCH));
        assert!(method_known(&Method::DELETE));
    }

    #[test]
    fn every_chat_method_of_the_reference_is_routed() {
        let chat = ROUTES
            .iter()
            .filter(|r| r.service == "chat" && r.component != "system")
            .count();
        assert_eq!(chat, 54);
        let gateway = ROUTES.iter().filter(|r| r.service == "gateway").count();
        assert_eq!(gateway, 28);
    }
}
