#!/usr/bin/env python3
"""Push delivery through the official GS2 Python SDK's WebSocket session (`pip install gs2`).

Run by tests/tests/push.rs against a real chat-node. Environment:
  CHAT_ENDPOINT       e.g. http://127.0.0.1:41234 (the SDK's steady_endpoint)
  CHAT_CLIENT_ID      project client id
  CHAT_CLIENT_SECRET  project client secret

Steps: a gateway namespace and a chat namespace whose postNotification points at it;
a `Gs2WebSocketSession` subclass (overriding `on_notification`) connects with
BasicGs2Credential, binds its player with `Gs2GatewayWebSocketClient.set_user_id`,
subscribes over the socket with `Gs2ChatWebSocketClient.subscribe`; another player
posts over REST; the notification must arrive with issuer/subject `Gs2Chat:Post` and
the §10 payload. Exits 0 when every step passed; a failed step raises (exit status 1)
after printing which step failed.
"""

import json
import os
import queue
import uuid

from gs2 import auth, chat, core, gateway

NOTIFICATION_TIMEOUT_S = 15


def step(name):
    print(f"--- {name}", flush=True)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


class RecordingSession(core.Gs2WebSocketSession):
    """Keeps every notification body the SDK hands to `on_notification`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.received = queue.Queue()

    def on_notification(self, message):
        self.received.put(message)


def main():
    endpoint = os.environ["CHAT_ENDPOINT"]
    client_id = os.environ["CHAT_CLIENT_ID"]
    client_secret = os.environ["CHAT_CLIENT_SECRET"]
    credential = core.BasicGs2Credential(client_id, client_secret)

    rest = core.Gs2RestSession(
        credential, region=core.Region.AP_NORTHEAST_1, steady_endpoint=endpoint
    )
    step("REST project login (session.connect)")
    rest.connect()
    ws = RecordingSession(credential, core.Region.AP_NORTHEAST_1, steady_endpoint=endpoint)
    try:
        run(rest, ws)
    finally:
        ws.disconnect()
        rest.disconnect()
    print("ALL WS SDK STEPS PASSED", flush=True)


def run(rest, ws):
    chat_rest = chat.Gs2ChatRestClient(rest)
    gateway_rest = gateway.Gs2GatewayRestClient(rest)
    auth_rest = auth.Gs2AuthRestClient(rest)
    suffix = uuid.uuid4().hex[:8]
    gw = "sdk-gw-" + suffix
    ns = "sdk-push-" + suffix
    room = "sdk-room"

    step("create gateway namespace")
    gw_item = gateway_rest.create_namespace(
        gateway.CreateNamespaceRequest().with_name(gw)
    ).item
    expect(gw_item.name == gw, f"gateway namespace name {gw_item.name!r}")
    expect(
        gw_item.namespace_id and gw_item.namespace_id.endswith(":gateway:" + gw),
        f"gateway namespaceId {gw_item.namespace_id!r}",
    )

    step("create chat namespace with postNotification -> gateway namespace")
    chat_rest.create_namespace(
        chat.CreateNamespaceRequest()
        .with_name(ns)
        .with_allow_create_room(True)
        .with_post_notification(
            chat.NotificationSetting()
            .with_gateway_namespace_id(gw_item.namespace_id)
            .with_enable("Enabled")
        )
    )

    step("create room from backend")
    chat_rest.create_room_from_backend(
        chat.CreateRoomFromBackendRequest()
        .with_namespace_name(ns)
        .with_name(room)
        .with_user_id("sdk-owner")
    )

    step("auth login of the subscriber and the poster")
    sub_token = auth_rest.login(
        auth.LoginRequest().with_user_id("sdk-sub").with_time_offset(0)
    ).token
    poster_token = auth_rest.login(
        auth.LoginRequest().with_user_id("sdk-poster").with_time_offset(0)
    ).token
    expect(sub_token and poster_token, "auth login returned no token")

    step("WebSocket session connect (BasicGs2Credential, steady_endpoint)")
    ws.connect()
    expect(ws.project_token, "the WebSocket session login gave no project token")

    step("gateway set_user_id over the socket")
    gateway_ws = gateway.Gs2GatewayWebSocketClient(ws)
    bound = gateway_ws.set_user_id(
        gateway.SetUserIdRequest()
        .with_namespace_name(gw)
        .with_access_token(sub_token)
        .with_allow_concurrent_access(True)
    ).item
    expect(bound is not None, "set_user_id returned no item")
    expect(bound.user_id == "sdk-sub", f"set_user_id userId {bound.user_id!r}")
    expect(bound.connection_id, f"set_user_id connectionId {bound.connection_id!r}")

    step("the session is listed over REST")
    sessions = gateway_rest.describe_web_socket_sessions_by_user_id(
        gateway.DescribeWebSocketSessionsByUserIdRequest()
        .with_namespace_name(gw)
        .with_user_id("sdk-sub")
    ).items
    expect(
        [s.connection_id for s in sessions or []] == [bound.connection_id],
        f"sessions of sdk-sub {[s.connection_id for s in sessions or []]}",
    )

    step("subscribe over the socket (Gs2ChatWebSocketClient)")
    sub = chat.Gs2ChatWebSocketClient(ws).subscribe(
        chat.SubscribeRequest()
        .with_namespace_name(ns)
        .with_room_name(room)
        .with_access_token(sub_token)
        .with_notification_types(
            [
                chat.NotificationType()
                .with_category(0)
                .with_enable_transfer_mobile_push_notification(False)
            ]
        )
    ).item
    expect(sub.user_id == "sdk-sub", f"subscribe userId {sub.user_id!r}")

    step("another player posts over REST")
    posted = chat_rest.post(
        chat.PostRequest()
        .with_namespace_name(ns)
        .with_room_name(room)
        .with_access_token(poster_token)
        .with_category(0)
        .with_metadata("hello over push")
    ).item
    expect(posted.user_id == "sdk-poster", f"message userId {posted.user_id!r}")

    step(f"on_notification receives Gs2Chat:Post within {NOTIFICATION_TIMEOUT_S}s")
    try:
        note = ws.received.get(timeout=NOTIFICATION_TIMEOUT_S)
    except queue.Empty:
        raise AssertionError("no notification reached on_notification")
    print(f"notification body: {note!r}", flush=True)
    expect(isinstance(note, dict), f"notification body is not a dict: {note!r}")
    expect(note.get("issuer") == "Gs2Chat:Post", f"issuer {note.get('issuer')!r}")
    expect(note.get("subject") == "Gs2Chat:Post", f"subject {note.get('subject')!r}")
    expect(isinstance(note.get("payload"), str), f"payload {note.get('payload')!r}")
    payload = json.loads(note["payload"])
    want = {
        "namespaceName": ns,
        "roomName": room,
        "userId": "sdk-poster",
        "category": 0,
        "createdAt": posted.created_at,
    }
    expect(payload == want, f"payload {payload!r} != {want!r}")

    step("the session still works after the notification (calls are answered)")
    again = chat.Gs2ChatWebSocketClient(ws).get_subscribe(
        chat.GetSubscribeRequest()
        .with_namespace_name(ns)
        .with_room_name(room)
        .with_access_token(sub_token)
    ).item
    expect(again.room_name == room, f"get_subscribe roomName {again.room_name!r}")

    step("no second notification for the same post")
    try:
        extra = ws.received.get(timeout=1.0)
        raise AssertionError(f"unexpected extra notification {extra!r}")
    except queue.Empty:
        pass


if __name__ == "__main__":
    try:
        main()
    except Exception:
        import traceback

        traceback.print_exc()
        raise SystemExit(1)
