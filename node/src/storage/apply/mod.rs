//! Apply: a deterministic function of (log entry, current view) to writes and a reply.
//!
//! Everything nondeterministic (names, clocks, password hashes) is in the entry. Business
//! rejections are [`Reply::Rejected`]; only storage failures are errors. The caller puts the
//! writes of a whole batch, with `last_applied`, into one `WriteBatch`.

use proto::command::{
    Actor, Command, EntryMeta, EntryV1, LogEntry, Outcome, PasswordChange, Reply,
};
use proto::event::{Envelope, Event, ENVELOPE_VERSION};
use proto::gs2::records::{
    CategoryMasterRecord, CurrentMasterRecord, FirebaseTokenRecord, GatewayNamespaceRecord,
    MessageRecord, NamespaceRecord, RoomRecord, SubscribeRecord, UserDump,
};
use proto::gs2::ChatError;

use super::cf;
use super::db::{decode, StoreError};
use super::keys::{self, KeyBuf, KeyReader};
use super::txn::Txn;

mod gateway;
#[cfg(test)]
mod tests;

/// How long a duplication-avoider record answers retries.
pub const DEDUP_TTL_MS: i64 = 24 * 3600 * 1000;
/// How long the internal key of a forwarded write (retried only by the forwarding node) lives.
pub const INTERNAL_DEDUP_TTL_MS: i64 = 10 * 60 * 1000;

type Applied = Result<Reply, StoreError>;

/// Applies the entry at log `index`: one write, or a batch of them (then the reply is
/// [`Reply::Many`]).
pub fn apply_entry(txn: &mut Txn, index: u64, entry: &LogEntry) -> Applied {
    txn.start_entry(index);
    match entry {
        LogEntry::V1(e) => apply_write(txn, index, e),
        LogEntry::Batch(parts) => {
            let mut replies = Vec::with_capacity(parts.len());
            for e in parts {
                replies.push(apply_write(txn, index, e)?);
            }
            Ok(Reply::Many(replies))
        }
    }
}

/// Applies one write, answering a retried write (same duplication avoider) with its first
/// reply, and writes the events it emitted to the outbox.
fn apply_write(txn: &mut Txn, index: u64, entry: &EntryV1) -> Applied {
    let meta = &entry.meta;
    let dedup_key = meta.dedup.as_ref().map(|key| keys::token(txn.group, key));
    if let Some(k) = &dedup_key {
        if let Some((_, reply)) = txn.get::<(i64, Reply)>(cf::DEDUP, k)? {
            return Ok(reply);
        }
    }
    let reply = apply_command(txn, meta, &entry.cmd)?;
    if let Some(k) = dedup_key {
        txn.put(cf::DEDUP, k, &(meta.now_ms, reply.clone()));
    }
    write_outbox(txn, index, meta.now_ms);
    Ok(reply)
}

fn write_outbox(txn: &mut Txn, index: u64, at: i64) {
    let g = txn.group;
    for (namespace_name, room_name, event) in txn.take_events() {
        let seq = txn.next_outbox_seq();
        let envelope = Envelope {
            version: ENVELOPE_VERSION,
            id: format!("{g}-{index}-{seq}"),
            index,
            seq,
            at,
            namespace_name,
            room_name,
            event,
        };
        let json = serde_json::to_vec(&envelope).expect("envelopes always encode");
        txn.put_raw(cf::OUTBOX, keys::outbox(g, index, seq), json);
    }
}

fn ok(o: Outcome) -> Applied {
    Ok(Reply::Ok(o))
}

fn rejected(e: ChatError) -> Applied {
    Ok(Reply::Rejected(e))
}

macro_rules! load_or_reject {
    ($txn:expr, $cf:expr, $key:expr, $ty:ty, $err:expr) => {
        match $txn.get::<$ty>($cf, &$key)? {
            Some(v) => v,
            None => return rejected($err),
        }
    };
}

/// The namespace's record, or a rejection "namespace not found".
macro_rules! load_namespace {
    ($txn:expr, $key:expr) => {
        load_or_reject!(
            $txn,
            cf::NAMESPACES,
            $key,
            NamespaceRecord,
            ChatError::not_found("namespace", "namespace")
        )
    };
}

pub fn apply_command(txn: &mut Txn, meta: &EntryMeta, cmd: &Command) -> Applied {
    let g = txn.group;
    let now = meta.now_ms;
    match cmd {
        Command::CreateNamespace { name, settings } => {
            let k = keys::namespace(g, name);
            if txn.get_raw(cf::NAMESPACES, &k)?.is_some() {
                return rejected(ChatError::already_exists("namespace"));
            }
            let rec = NamespaceRecord {
                name: name.clone(),
                settings: settings.clone(),
                created_at: now,
                updated_at: now,
                revision: 0,
            };
            txn.put(cf::NAMESPACES, k, &rec);
            txn.emit(name, None, Event::NamespaceUpdated {});
            ok(Outcome::Namespace(Box::new(rec)))
        }
        Command::UpdateNamespace { name, settings } => {
            let k = keys::namespace(g, name);
            let mut rec = load_namespace!(txn, k);
            rec.settings = settings.clone();
            rec.updated_at = now;
            rec.revision += 1;
            txn.put(cf::NAMESPACES, k, &rec);
            txn.emit(name, None, Event::NamespaceUpdated {});
            ok(Outcome::Namespace(Box::new(rec)))
        }
        Command::DeleteNamespace { name } => {
            let k = keys::namespace(g, name);
            let rec = load_namespace!(txn, k);
            for (rk, _) in txn.scan(cf::ROOMS, &k)? {
                let mut r = KeyReader::new(&rk);
                let (_, room) = (r.s(), r.s());
                if let Some(room) = room {
                    delete_room_data(txn, name, &room)?;
                }
            }
            for (ck, _) in txn.scan(cf::CATEGORY_MASTERS, &k)? {
                txn.delete(cf::CATEGORY_MASTERS, ck);
            }
            txn.delete(cf::CURRENT_MASTERS, k.clone());
            txn.delete(cf::NAMESPACES, k);
            txn.emit(name, None, Event::NamespaceDeleted {});
            ok(Outcome::Namespace(Box::new(rec)))
        }
        Command::CreateRoom {
            namespace,
            name,
            actor,
            metadata,
            password_hash,
            white_list_user_ids,
        } => {
            let ns = load_namespace!(txn, keys::namespace(g, namespace));
            if matches!(actor, Actor::Player(_)) && !ns.settings.allow_create_room {
                return rejected(ChatError::RoomCreationDisabled);
            }
            let k = keys::room(g, namespace, name);
            if txn.get_raw(cf::ROOMS, &k)?.is_some() {
                return rejected(ChatError::already_exists("room"));
            }
            let rec = RoomRecord {
                namespace: namespace.clone(),
                name: name.clone(),
                user_id: actor.user_id().map(str::to_string),
                metadata: metadata.clone(),
                password_hash: password_hash.clone(),
                white_list_user_ids: white_list_user_ids.clone(),
                created_at: now,
                updated_at: now,
                revision: 0,
            };
            txn.put(cf::ROOMS, k, &rec);
            ok(Outcome::Room(rec))
        }
        Command::UpdateRoom {
            namespace,
            name,
            actor,
            metadata,
            password,
            white_list_user_ids,
        } => {
            let k = keys::room(g, namespace, name);
            let mut rec = load_or_reject!(
                txn,
                cf::ROOMS,
                k,
                RoomRecord,
                ChatError::not_found("room", "room")
            );
            if let Err(e) = check_room_admin(&rec, actor) {
                return rejected(e);
            }
            rec.metadata = metadata.clone();
            match password {
                PasswordChange::Keep => {}
                PasswordChange::Clear => rec.password_hash = None,
                PasswordChange::Set(h) => rec.password_hash = Some(h.clone()),
            }
            rec.white_list_user_ids = white_list_user_ids.clone();
            rec.updated_at = now;
            rec.revision += 1;
            txn.put(cf::ROOMS, k, &rec);
            ok(Outcome::Room(rec))
        }
        Command::DeleteRoom {
            namespace,
            name,
            actor,
        } => {
            let k = keys::room(g, namespace, name);
            let rec = load_or_reject!(
                txn,
                cf::ROOMS,
                k,
                RoomRecord,
                ChatError::not_found("room", "room")
            );
            if let Err(e) = check_room_admin(&rec, actor) {
                return rejected(e);
            }
            delete_room_data(txn, namespace, name)?;
            txn.emit(namespace, Some(name), Event::RoomDeleted {});
            ok(Outcome::Room(rec))
        }
        Command::Post {
            namespace,
            room,
            name,
            actor,
            user_id,
            category,
            metadata,
            checked_room_revision,
        } => {
            let ns = load_namespace!(txn, keys::namespace(g, namespace));
            let r = load_or_reject!(
                txn,
                cf::ROOMS,
                keys::room(g, namespace, room),
                RoomRecord,
                ChatError::not_found("room", "room")
            );
            if r.password_hash.is_some() {
                match checked_room_revision {
                    None => return rejected(ChatError::PasswordRequired),
                    // The password was checked against an older room: it may have changed.
                    Some(rev) if *rev != r.revision => return rejected(ChatError::PasswordInvalid),
                    Some(_) => {}
                }
            }
            if !r.white_list_user_ids.is_empty() && !r.white_list_user_ids.contains(user_id) {
                return rejected(ChatError::NotInWhiteList);
            }
            if matches!(actor, Actor::Player(_)) {
                let current: Option<CurrentMasterRecord> =
                    txn.get(cf::CURRENT_MASTERS, &keys::namespace(g, namespace))?;
                if current.is_some_and(|c| c.rejects_player_post(*category)) {
                    return rejected(ChatError::PostRejected {
                        category: *category,
                    });
                }
            }
            if txn
                .get_raw(
                    cf::MESSAGE_NAMES,
                    &keys::message_name(g, namespace, room, name),
                )?
                .is_some()
            {
                return rejected(ChatError::already_exists("message"));
            }
            let rec = MessageRecord {
                namespace: namespace.clone(),
                room: room.clone(),
                name: name.clone(),
                user_id: user_id.clone(),
                category: *category,
                metadata: metadata.clone(),
                created_at: now,
                revision: 0,
            };
            put_message(txn, &rec);
            txn.emit(
                namespace,
                Some(room),
                Event::MessagePosted {
                    message_name: rec.name.clone(),
                    user_id: rec.user_id.clone(),
                    category: rec.category,
                    metadata: rec.metadata.clone(),
                    created_at: rec.created_at,
                },
            );
            let mobile = ns.settings.post_notification.as_ref().is_some_and(|n| {
                n.enable_transfer_mobile_notification == Some(true)
                    && n.enable.as_deref() != Some("Disabled")
            });
            if mobile {
                txn.emit(
                    namespace,
                    Some(room),
                    Event::MobilePushRequested {
                        message_name: rec.name.clone(),
                        user_id: rec.user_id.clone(),
                        category: rec.category,
                        created_at: rec.created_at,
                    },
                );
            }
            ok(Outcome::Message(rec))
        }
        Command::DeleteMessage {
            namespace,
            room,
            name,
        } => {
            let nk = keys::message_name(g, namespace, room, name);
            let Some(created) = txn.get::<i64>(cf::MESSAGE_NAMES, &nk)? else {
                return rejected(ChatError::not_found("message", "message"));
            };
            let mk = keys::message(g, namespace, room, created, name);
            let Some(rec) = txn.get::<MessageRecord>(cf::MESSAGES, &mk)? else {
                return rejected(ChatError::not_found("message", "message"));
            };
            delete_message(txn, &rec);
            txn.emit(
                namespace,
                Some(room),
                Event::MessageDeleted {
                    message_name: name.clone(),
                },
            );
            ok(Outcome::Message(rec))
        }
        Command::Subscribe {
            namespace,
            room,
            user_id,
            notification_types,
        } => {
            if txn
                .get_raw(cf::ROOMS, &keys::room(g, namespace, room))?
                .is_none()
            {
                return rejected(ChatError::not_found("room", "room"));
            }
            let k = keys::sub_by_room(g, namespace, room, user_id);
            if txn.get_raw(cf::SUBS_BY_ROOM, &k)?.is_some() {
                return rejected(ChatError::already_exists("subscribe"));
            }
            let rec = SubscribeRecord {
                namespace: namespace.clone(),
                user_id: user_id.clone(),
                room: room.clone(),
                notification_types: notification_types.clone(),
                created_at: now,
                revision: 0,
            };
            put_subscribe(txn, &rec);
            txn.emit(
                namespace,
                Some(room),
                Event::Subscribed {
                    user_id: user_id.clone(),
                    notification_types: notification_types.clone(),
                },
            );
            ok(Outcome::Subscribe(rec))
        }
        Command::UpdateNotificationType {
            namespace,
            room,
            user_id,
            notification_types,
        } => {
            let k = keys::sub_by_room(g, namespace, room, user_id);
            let mut rec = load_or_reject!(
                txn,
                cf::SUBS_BY_ROOM,
                k,
                SubscribeRecord,
                ChatError::not_found("subscribe", "subscribe")
            );
            rec.notification_types = notification_types.clone();
            rec.revision += 1;
            put_subscribe(txn, &rec);
            txn.emit(
                namespace,
                Some(room),
                Event::SubscriptionUpdated {
                    user_id: user_id.clone(),
                    notification_types: notification_types.clone(),
                },
            );
            ok(Outcome::Subscribe(rec))
        }
        Command::Unsubscribe {
            namespace,
            room,
            user_id,
        } => {
            let k = keys::sub_by_room(g, namespace, room, user_id);
            let rec = load_or_reject!(
                txn,
                cf::SUBS_BY_ROOM,
                k,
                SubscribeRecord,
                ChatError::not_found("subscribe", "subscribe")
            );
            delete_subscribe(txn, &rec);
            txn.emit(
                namespace,
                Some(room),
                Event::Unsubscribed {
                    user_id: user_id.clone(),
                },
            );
            ok(Outcome::Subscribe(rec))
        }
        Command::CreateCategoryMaster {
            namespace,
            category,
            description,
            reject_access_token_post,
        } => {
            if txn
                .get_raw(cf::NAMESPACES, &keys::namespace(g, namespace))?
                .is_none()
            {
                return rejected(ChatError::not_found("namespace", "namespace"));
            }
            let k = keys::category_master(g, namespace, *category);
            if txn.get_raw(cf::CATEGORY_MASTERS, &k)?.is_some() {
                return rejected(ChatError::already_exists("categoryModelMaster"));
            }
            let rec = CategoryMasterRecord {
                namespace: namespace.clone(),
                category: *category,
                description: description.clone(),
                reject_access_token_post: reject_access_token_post.clone(),
                created_at: now,
                updated_at: now,
                revision: 0,
            };
            txn.put(cf::CATEGORY_MASTERS, k, &rec);
            ok(Outcome::CategoryMaster(rec))
        }
        Command::UpdateCategoryMaster {
            namespace,
            category,
            description,
            reject_access_token_post,
        } => {
            let k = keys::category_master(g, namespace, *category);
            let mut rec = load_or_reject!(
                txn,
                cf::CATEGORY_MASTERS,
                k,
                CategoryMasterRecord,
                ChatError::not_found("categoryModelMaster", "categoryModel")
            );
            rec.description = description.clone();
            rec.reject_access_token_post = reject_access_token_post.clone();
            rec.updated_at = now;
            rec.revision += 1;
            txn.put(cf::CATEGORY_MASTERS, k, &rec);
            ok(Outcome::CategoryMaster(rec))
        }
        Command::DeleteCategoryMaster {
            namespace,
            category,
        } => {
            let k = keys::category_master(g, namespace, *category);
            let rec = load_or_reject!(
                txn,
                cf::CATEGORY_MASTERS,
                k,
                CategoryMasterRecord,
                ChatError::not_found("categoryModelMaster", "categoryModel")
            );
            txn.delete(cf::CATEGORY_MASTERS, k);
            ok(Outcome::CategoryMaster(rec))
        }
        Command::UpdateCurrentMaster {
            namespace,
            settings,
            models,
        } => {
            let k = keys::namespace(g, namespace);
            if txn.get_raw(cf::NAMESPACES, &k)?.is_none() {
                return rejected(ChatError::not_found("namespace", "namespace"));
            }
            let rec = CurrentMasterRecord {
                namespace: namespace.clone(),
                settings: settings.clone(),
                models: models.clone(),
            };
            txn.put(cf::CURRENT_MASTERS, k, &rec);
            ok(Outcome::CurrentMaster(rec))
        }
        Command::StoreUpload { token, body } => {
            txn.put(cf::UPLOADS, keys::token(g, token), &(now, body.clone()));
            ok(Outcome::Done)
        }
        Command::DumpUser { user_id } => {
            let dump = collect_user(txn, user_id)?;
            let json = serde_json::to_string(&dump).expect("dumps always encode");
            txn.put(cf::DUMPS, keys::token(g, user_id), &json);
            ok(Outcome::Done)
        }
        Command::CleanUser { user_id } => {
            let dump = collect_user(txn, user_id)?;
            for room in &dump.rooms {
                delete_room_data(txn, &room.namespace, &room.name)?;
            }
            for m in &dump.messages {
                delete_message(txn, m);
            }
            for s in &dump.subscribes {
                delete_subscribe(txn, s);
            }
            for t in &dump.firebase_tokens {
                txn.delete(
                    cf::FIREBASE_TOKENS,
                    keys::firebase_token(g, &t.namespace, &t.user_id),
                );
            }
            ok(Outcome::Done)
        }
        Command::ImportUser {
            user_id,
            upload_token,
        } => {
            let Some((_, body)) =
                txn.get::<(i64, String)>(cf::UPLOADS, &keys::token(g, upload_token))?
            else {
                return rejected(ChatError::not_found("upload", "uploadToken"));
            };
            let dump: UserDump = match serde_json::from_str(&body) {
                Ok(d) => d,
                Err(_) => {
                    return rejected(ChatError::invalid(
                        "uploadToken",
                        "chat.user.dump.error.invalid",
                    ))
                }
            };
            if dump.user_id != *user_id {
                return rejected(ChatError::invalid(
                    "userId",
                    "chat.user.userId.error.mismatch",
                ));
            }
            import_user(txn, &dump)?;
            txn.delete(cf::UPLOADS, keys::token(g, upload_token));
            ok(Outcome::Done)
        }
        Command::Sweep { dedup_before_ms } => {
            sweep(txn, now, *dedup_before_ms)?;
            ok(Outcome::Done)
        }
        Command::TrimOutbox {
            upto_index,
            from_index,
        } => {
            // Point deletes: a range tombstone would make every later outbox read of this
            // memtable pay for RocksDB's per-core tombstone cache (a CPUID, slow in VMs).
            let start = keys::outbox(g, *from_index, 0);
            let end = keys::outbox(g, upto_index.saturating_add(1), 0);
            // Keys only: copying every relayed envelope to delete it made a trim take up to
            // 30 ms, and every write applied behind it waited.
            for k in txn.keys_until(cf::OUTBOX, &start, &end)? {
                txn.delete(cf::OUTBOX, k);
            }
            ok(Outcome::Done)
        }
        Command::CreateGatewayNamespace { .. }
        | Command::UpdateGatewayNamespace { .. }
        | Command::DeleteGatewayNamespace { .. }
        | Command::SetFirebaseToken { .. }
        | Command::DeleteFirebaseToken { .. } => gateway::apply(txn, now, cmd),
    }
}

/// Owner and white-list rules for updating or deleting a room.
fn check_room_admin(room: &RoomRecord, actor: &Actor) -> Result<(), ChatError> {
    let Some(user) = actor.user_id() else {
        return Ok(());
    };
    if matches!(actor, Actor::Player(_))
        && !room.white_list_user_ids.is_empty()
        && !room.white_list_user_ids.iter().any(|u| u == user)
    {
        return Err(ChatError::NotInWhiteList);
    }
    match &room.user_id {
        Some(owner) if owner != user => Err(ChatError::NotOwner),
        _ => Ok(()),
    }
}

fn put_message(txn: &mut Txn, m: &MessageRecord) {
    let g = txn.group;
    txn.put(
        cf::MESSAGES,
        keys::message(g, &m.namespace, &m.room, m.created_at, &m.name),
        m,
    );
    txn.put(
        cf::MESSAGE_NAMES,
        keys::message_name(g, &m.namespace, &m.room, &m.name),
        &m.created_at,
    );
    txn.put_raw(
        cf::MESSAGES_BY_USER,
        keys::message_by_user(g, &m.user_id, &m.namespace, &m.room, m.created_at, &m.name),
        Vec::new(),
    );
}

fn delete_message(txn: &mut Txn, m: &MessageRecord) {
    let g = txn.group;
    txn.delete(
        cf::MESSAGES,
        keys::message(g, &m.namespace, &m.room, m.created_at, &m.name),
    );
    txn.delete(
        cf::MESSAGE_NAMES,
        keys::message_name(g, &m.namespace, &m.room, &m.name),
    );
    txn.delete(
        cf::MESSAGES_BY_USER,
        keys::message_by_user(g, &m.user_id, &m.namespace, &m.room, m.created_at, &m.name),
    );
}

fn put_subscribe(txn: &mut Txn, s: &SubscribeRecord) {
    let g = txn.group;
    txn.put(
        cf::SUBS_BY_ROOM,
        keys::sub_by_room(g, &s.namespace, &s.room, &s.user_id),
        s,
    );
    txn.put_raw(
        cf::SUBS_BY_USER,
        keys::sub_by_user(g, &s.namespace, &s.user_id, &s.room),
        Vec::new(),
    );
}

fn delete_subscribe(txn: &mut Txn, s: &SubscribeRecord) {
    let g = txn.group;
    txn.delete(
        cf::SUBS_BY_ROOM,
        keys::sub_by_room(g, &s.namespace, &s.room, &s.user_id),
    );
    txn.delete(
        cf::SUBS_BY_USER,
        keys::sub_by_user(g, &s.namespace, &s.user_id, &s.room),
    );
}

/// Deletes a room with its messages and subscriptions.
fn delete_room_data(txn: &mut Txn, ns: &str, room: &str) -> Result<(), StoreError> {
    let g = txn.group;
    for (_, v) in txn.scan(cf::MESSAGES, &keys::message_room_prefix(g, ns, room))? {
        let m: MessageRecord = decode(cf::MESSAGES, &v)?;
        delete_message(txn, &m);
    }
    for (_, v) in txn.scan(cf::SUBS_BY_ROOM, &keys::message_room_prefix(g, ns, room))? {
        let s: SubscribeRecord = decode(cf::SUBS_BY_ROOM, &v)?;
        delete_subscribe(txn, &s);
    }
    txn.delete(cf::ROOMS, keys::room(g, ns, room));
    Ok(())
}

/// Everything held about a user: rooms they own, messages they posted, their subscriptions.
pub fn collect_user(txn: &Txn, user: &str) -> Result<UserDump, StoreError> {
    let g = txn.group;
    let mut dump = UserDump {
        user_id: user.to_string(),
        ..Default::default()
    };
    let namespaces = txn.scan(cf::NAMESPACES, &KeyBuf::new(g).build())?;
    for (_, v) in &namespaces {
        let ns: NamespaceRecord = decode(cf::NAMESPACES, v)?;
        for (_, v) in txn.scan(cf::ROOMS, &keys::namespace(g, &ns.name))? {
            let r: RoomRecord = decode(cf::ROOMS, &v)?;
            if r.user_id.as_deref() == Some(user) {
                dump.rooms.push(r);
            }
        }
        for (k, _) in txn.scan(
            cf::SUBS_BY_USER,
            &KeyBuf::new(g).s(&ns.name).s(user).build(),
        )? {
            let mut r = KeyReader::new(&k);
            let (_, _, room) = (r.s(), r.s(), r.s());
            if let Some(room) = room {
                let sk = keys::sub_by_room(g, &ns.name, &room, user);
                if let Some(s) = txn.get::<SubscribeRecord>(cf::SUBS_BY_ROOM, &sk)? {
                    dump.subscribes.push(s);
                }
            }
        }
    }
    for (_, v) in txn.scan(cf::GATEWAY_NAMESPACES, &KeyBuf::new(g).build())? {
        let ns: GatewayNamespaceRecord = decode(cf::GATEWAY_NAMESPACES, &v)?;
        let k = keys::firebase_token(g, &ns.name, user);
        if let Some(t) = txn.get::<FirebaseTokenRecord>(cf::FIREBASE_TOKENS, &k)? {
            dump.firebase_tokens.push(t);
        }
    }
    for (k, _) in txn.scan(cf::MESSAGES_BY_USER, &KeyBuf::new(g).s(user).build())? {
        let mut r = KeyReader::new(&k);
        let (_, ns, room, created, name) = (r.s(), r.s(), r.s(), r.u64(), r.tail());
        if let (Some(ns), Some(room), Some(created), Some(name)) = (ns, room, created, name) {
            let mk = keys::message(g, &ns, &room, created as i64, &name);
            if let Some(m) = txn.get::<MessageRecord>(cf::MESSAGES, &mk)? {
                dump.messages.push(m);
            }
        }
    }
    Ok(dump)
}

/// Restores a dump; records whose namespace or room no longer exists are skipped.
fn import_user(txn: &mut Txn, dump: &UserDump) -> Result<(), StoreError> {
    let g = txn.group;
    for r in &dump.rooms {
        if txn
            .get_raw(cf::NAMESPACES, &keys::namespace(g, &r.namespace))?
            .is_some()
        {
            txn.put(cf::ROOMS, keys::room(g, &r.namespace, &r.name), r);
        }
    }
    for m in &dump.messages {
        if m.user_id == dump.user_id
            && txn
                .get_raw(cf::ROOMS, &keys::room(g, &m.namespace, &m.room))?
                .is_some()
        {
            put_message(txn, m);
        }
    }
    for t in &dump.firebase_tokens {
        if t.user_id == dump.user_id
            && txn
                .get_raw(cf::GATEWAY_NAMESPACES, &keys::namespace(g, &t.namespace))?
                .is_some()
        {
            txn.put(
                cf::FIREBASE_TOKENS,
                keys::firebase_token(g, &t.namespace, &t.user_id),
                t,
            );
        }
    }
    for s in &dump.subscribes {
        if s.user_id == dump.user_id
            && txn
                .get_raw(cf::ROOMS, &keys::room(g, &s.namespace, &s.room))?
                .is_some()
        {
            put_subscribe(txn, s);
        }
    }
    Ok(())
}

/// Deletes expired messages and idempotency records, identically on every replica.
fn sweep(txn: &mut Txn, now: i64, dedup_before_ms: i64) -> Result<(), StoreError> {
    let g = txn.group;
    let namespaces = txn.scan(cf::NAMESPACES, &KeyBuf::new(g).build())?;
    for (_, v) in &namespaces {
        let ns: NamespaceRecord = decode(cf::NAMESPACES, v)?;
        let Some(cutoff) = ns.expiry_cutoff(now) else {
            continue;
        };
        for (rk, _) in txn.scan(cf::ROOMS, &keys::namespace(g, &ns.name))? {
            let mut r = KeyReader::new(&rk);
            let (_, room) = (r.s(), r.s());
            let Some(room) = room else { continue };
            let prefix = keys::message_room_prefix(g, &ns.name, &room);
            let end = KeyBuf::new(g).s(&ns.name).s(&room).ts(cutoff).build();
            for (_, v) in txn.scan_until(cf::MESSAGES, &prefix, &end)? {
                let m: MessageRecord = decode(cf::MESSAGES, &v)?;
                delete_message(txn, &m);
            }
        }
    }
    // Internal keys (`~<time hex><uuid>`, one per forwarded write) sort by time: delete a range.
    let internal = KeyBuf::new(g).prefix("~").build();
    let internal_end = KeyBuf::new(g)
        .prefix(&format!(
            "~{:016x}",
            now.saturating_sub(INTERNAL_DEDUP_TTL_MS).max(0)
        ))
        .build();
    for (k, _) in txn.scan_until(cf::DEDUP, &internal, &internal_end)? {
        txn.delete(cf::DEDUP, k);
    }
    // Client keys (`p:…`, `u:…`) live a day.
    for scope in ["p:", "u:"] {
        for (k, v) in txn.scan(cf::DEDUP, &KeyBuf::new(g).prefix(scope).build())? {
            let (at, _): (i64, Reply) = decode(cf::DEDUP, &v)?;
            if at < dedup_before_ms {
                txn.delete(cf::DEDUP, k);
            }
        }
    }
    for (k, v) in txn.scan(cf::UPLOADS, &KeyBuf::new(g).build())? {
        let (at, _): (i64, String) = decode(cf::UPLOADS, &v)?;
        if at < dedup_before_ms {
            txn.delete(cf::UPLOADS, k);
        }
    }
    Ok(())
}
