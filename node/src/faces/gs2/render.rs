//! Records to GS2 models: adds the GRNs (`grn:gs2:{region}:{ownerId}:chat:…`) and hides what
//! clients must not see (password hashes).

use crate::gateway::sessions::SessionInfo;
use proto::gs2::gateway::{FirebaseToken, GatewayNamespace, WebSocketSession};
use proto::gs2::models::{
    CategoryModel, CategoryModelMaster, CurrentModelMaster, Message, Namespace, Room, Subscribe,
};
use proto::gs2::records::{
    ActiveCategoryModel, CategoryMasterRecord, CurrentMasterRecord, MessageRecord, NamespaceRecord,
    RoomRecord, SubscribeRecord,
};
use proto::gs2::records::{FirebaseTokenRecord, GatewayNamespaceRecord};

#[derive(Clone)]
pub struct Renderer {
    base: String,
    gateway_base: String,
}

impl Renderer {
    pub fn new(region: &str, owner_id: &str) -> Self {
        Renderer {
            base: format!("grn:gs2:{region}:{owner_id}:chat"),
            gateway_base: format!("grn:gs2:{region}:{owner_id}:gateway"),
        }
    }

    pub fn gateway_namespace(&self, r: &GatewayNamespaceRecord) -> GatewayNamespace {
        let s = r.settings.clone();
        GatewayNamespace {
            namespace_id: format!("{}:{}", self.gateway_base, r.name),
            name: r.name.clone(),
            description: s.description,
            transaction_setting: s.transaction_setting,
            transaction_setting_v2: s.transaction_setting_v2,
            firebase_secret: s.firebase_secret,
            firebase_project_id: s.firebase_project_id,
            log_setting: s.log_setting,
            created_at: r.created_at,
            updated_at: r.updated_at,
            revision: r.revision,
        }
    }

    pub fn session(&self, s: &SessionInfo) -> WebSocketSession {
        WebSocketSession {
            web_socket_session_id: format!(
                "{}:{}:user:{}:session:{}",
                self.gateway_base, s.namespace, s.user_id, s.connection_id
            ),
            connection_id: s.connection_id.clone(),
            namespace_name: s.namespace.clone(),
            user_id: s.user_id.clone(),
            session_id: s.session_id.clone(),
            created_at: s.created_at,
            updated_at: s.updated_at,
            revision: 0,
        }
    }

    pub fn firebase_token(&self, t: &FirebaseTokenRecord) -> FirebaseToken {
        FirebaseToken {
            firebase_token_id: format!(
                "{}:{}:user:{}:firebase:token",
                self.gateway_base, t.namespace, t.user_id
            ),
            user_id: t.user_id.clone(),
            token: t.token.clone(),
            locale: t.locale.clone(),
            created_at: t.created_at,
            updated_at: t.updated_at,
            revision: t.revision,
        }
    }

    pub fn namespace_id(&self, ns: &str) -> String {
        format!("{}:{ns}", self.base)
    }

    pub fn namespace(&self, r: &NamespaceRecord) -> Namespace {
        let s = r.settings.clone();
        Namespace {
            namespace_id: self.namespace_id(&r.name),
            name: r.name.clone(),
            description: s.description,
            transaction_setting: s.transaction_setting,
            transaction_setting_v2: s.transaction_setting_v2,
            allow_create_room: s.allow_create_room,
            message_life_time_days: s.message_life_time_days,
            post_message_script: s.post_message_script,
            create_room_script: s.create_room_script,
            delete_room_script: s.delete_room_script,
            subscribe_room_script: s.subscribe_room_script,
            unsubscribe_room_script: s.unsubscribe_room_script,
            post_notification: s.post_notification,
            log_setting: s.log_setting,
            created_at: r.created_at,
            updated_at: r.updated_at,
            revision: r.revision,
        }
    }

    pub fn room(&self, r: &RoomRecord) -> Room {
        Room {
            room_id: format!("{}:{}:room:{}", self.base, r.namespace, r.name),
            name: r.name.clone(),
            user_id: r.user_id.clone(),
            metadata: r.metadata.clone(),
            password: None,
            white_list_user_ids: r.white_list_user_ids.clone(),
            created_at: r.created_at,
            updated_at: r.updated_at,
            revision: r.revision,
        }
    }

    pub fn message(&self, m: &MessageRecord) -> Message {
        Message {
            message_id: format!(
                "{}:{}:room:{}:message:{}",
                self.base, m.namespace, m.room, m.name
            ),
            room_name: m.room.clone(),
            name: m.name.clone(),
            user_id: m.user_id.clone(),
            category: m.category,
            metadata: m.metadata.clone(),
            created_at: m.created_at,
            revision: m.revision,
        }
    }

    pub fn subscribe(&self, s: &SubscribeRecord) -> Subscribe {
        Subscribe {
            subscribe_id: format!(
                "{}:{}:user:{}:subscribe:{}",
                self.base, s.namespace, s.user_id, s.room
            ),
            user_id: s.user_id.clone(),
            room_name: s.room.clone(),
            notification_types: s.notification_types.clone(),
            created_at: s.created_at,
            revision: s.revision,
        }
    }

    fn model_id(&self, ns: &str, category: i64) -> String {
        format!("{}:{ns}:model:{category}", self.base)
    }

    pub fn category_master(&self, c: &CategoryMasterRecord) -> CategoryModelMaster {
        CategoryModelMaster {
            category_model_id: self.model_id(&c.namespace, c.category),
            category: c.category,
            description: c.description.clone(),
            reject_access_token_post: c.reject_access_token_post.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            revision: c.revision,
        }
    }

    pub fn category_model(&self, ns: &str, m: &ActiveCategoryModel) -> CategoryModel {
        CategoryModel {
            category_model_id: self.model_id(ns, m.category),
            category: m.category,
            reject_access_token_post: Some(
                if m.reject_access_token_post {
                    "Enabled"
                } else {
                    "Disabled"
                }
                .to_string(),
            ),
        }
    }

    pub fn current_master(&self, c: &CurrentMasterRecord) -> CurrentModelMaster {
        CurrentModelMaster {
            namespace_id: self.namespace_id(&c.namespace),
            settings: c.settings.clone(),
        }
    }
}
