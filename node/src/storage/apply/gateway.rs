//! Apply of the GS2-Gateway commands: gateway namespaces and firebase tokens. Sessions are
//! not replicated (they live with their socket); see `gateway/DESIGN.md`.

use proto::command::{Command, Outcome, Reply};
use proto::gs2::records::{FirebaseTokenRecord, GatewayNamespaceRecord};
use proto::gs2::ChatError;

use crate::storage::cf;
use crate::storage::db::StoreError;
use crate::storage::keys;
use crate::storage::txn::Txn;

fn ok(o: Outcome) -> Result<Reply, StoreError> {
    Ok(Reply::Ok(o))
}

fn rejected(e: ChatError) -> Result<Reply, StoreError> {
    Ok(Reply::Rejected(e))
}

fn ns_not_found() -> ChatError {
    ChatError::NotFound {
        component: "namespace".into(),
        message: "gateway.namespace.namespace.error.notFound".into(),
    }
}

pub fn apply(txn: &mut Txn, now: i64, cmd: &Command) -> Result<Reply, StoreError> {
    let g = txn.group;
    match cmd {
        Command::CreateGatewayNamespace { name, settings } => {
            let k = keys::namespace(g, name);
            if txn.get_raw(cf::GATEWAY_NAMESPACES, &k)?.is_some() {
                return rejected(ChatError::AlreadyExists {
                    component: "namespace".into(),
                    message: "gateway.namespace.namespace.error.alreadyExists".into(),
                });
            }
            let rec = GatewayNamespaceRecord {
                name: name.clone(),
                settings: settings.clone(),
                created_at: now,
                updated_at: now,
                revision: 0,
            };
            txn.put(cf::GATEWAY_NAMESPACES, k, &rec);
            ok(Outcome::GatewayNamespace(Box::new(rec)))
        }
        Command::UpdateGatewayNamespace { name, settings } => {
            let k = keys::namespace(g, name);
            let Some(mut rec) = txn.get::<GatewayNamespaceRecord>(cf::GATEWAY_NAMESPACES, &k)?
            else {
                return rejected(ns_not_found());
            };
            rec.settings = settings.clone();
            rec.updated_at = now;
            rec.revision += 1;
            txn.put(cf::GATEWAY_NAMESPACES, k, &rec);
            ok(Outcome::GatewayNamespace(Box::new(rec)))
        }
        Command::DeleteGatewayNamespace { name } => {
            let k = keys::namespace(g, name);
            let Some(rec) = txn.get::<GatewayNamespaceRecord>(cf::GATEWAY_NAMESPACES, &k)? else {
                return rejected(ns_not_found());
            };
            for (tk, _) in txn.scan(cf::FIREBASE_TOKENS, &k)? {
                txn.delete(cf::FIREBASE_TOKENS, tk);
            }
            txn.delete(cf::GATEWAY_NAMESPACES, k);
            ok(Outcome::GatewayNamespace(Box::new(rec)))
        }
        Command::SetFirebaseToken {
            namespace,
            user_id,
            token,
            locale,
        } => {
            if txn
                .get_raw(cf::GATEWAY_NAMESPACES, &keys::namespace(g, namespace))?
                .is_none()
            {
                return rejected(ns_not_found());
            }
            let k = keys::firebase_token(g, namespace, user_id);
            let previous: Option<FirebaseTokenRecord> = txn.get(cf::FIREBASE_TOKENS, &k)?;
            let rec = FirebaseTokenRecord {
                namespace: namespace.clone(),
                user_id: user_id.clone(),
                token: token.clone(),
                locale: locale.clone(),
                created_at: previous.as_ref().map_or(now, |p| p.created_at),
                updated_at: now,
                revision: previous.map_or(0, |p| p.revision + 1),
            };
            txn.put(cf::FIREBASE_TOKENS, k, &rec);
            ok(Outcome::FirebaseToken(rec))
        }
        Command::DeleteFirebaseToken { namespace, user_id } => {
            let k = keys::firebase_token(g, namespace, user_id);
            let Some(rec) = txn.get::<FirebaseTokenRecord>(cf::FIREBASE_TOKENS, &k)? else {
                return rejected(ChatError::NotFound {
                    component: "firebaseToken".into(),
                    message: "gateway.firebaseToken.firebaseToken.error.notFound".into(),
                });
            };
            txn.delete(cf::FIREBASE_TOKENS, k);
            ok(Outcome::FirebaseToken(rec))
        }
        other => unreachable!("not a gateway command: {}", other.kind()),
    }
}
