#!/usr/bin/env python3
"""Main GS2-Chat flow through the official GS2 Python SDK (`pip install gs2`).

Run by tests/tests/python_sdk.rs against a real chat-node. Environment:
  CHAT_ENDPOINT       e.g. http://127.0.0.1:41234 (the SDK's steady_endpoint)
  CHAT_CLIENT_ID      project client id
  CHAT_CLIENT_SECRET  project client secret
Exits 0 when every step passed; any failed step raises (exit status 1) after
printing which step failed.
"""

import os
import sys
import traceback
import uuid

from gs2 import auth, chat, core


def step(name):
    print(f"--- {name}", flush=True)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def main():
    endpoint = os.environ["CHAT_ENDPOINT"]
    client_id = os.environ["CHAT_CLIENT_ID"]
    client_secret = os.environ["CHAT_CLIENT_SECRET"]

    session = core.Gs2RestSession(
        core.BasicGs2Credential(client_id, client_secret),
        region=core.Region.AP_NORTHEAST_1,
        steady_endpoint=endpoint,
    )
    step("project login (session.connect)")
    session.connect()
    try:
        run(session)
    finally:
        session.disconnect()


def run(session):
    chat_client = chat.Gs2ChatRestClient(session)
    auth_client = auth.Gs2AuthRestClient(session)
    ns = "sdk-" + uuid.uuid4().hex[:8]

    step("create namespace")
    created = chat_client.create_namespace(
        chat.CreateNamespaceRequest()
        .with_name(ns)
        .with_description("python sdk test")
        .with_allow_create_room(True)
    )
    expect(created.item.name == ns, f"namespace name {created.item.name!r}")
    expect(
        created.item.namespace_id.endswith(":chat:" + ns),
        f"namespaceId {created.item.namespace_id!r}",
    )

    step("auth login for a player token")
    login = auth_client.login(
        auth.LoginRequest().with_user_id("sdk-alice").with_time_offset(0)
    )
    token = login.token
    expect(token, "auth login returned no token")
    expect(login.user_id == "sdk-alice", f"auth login userId {login.user_id!r}")

    step("create room (player)")
    room = chat_client.create_room(
        chat.CreateRoomRequest()
        .with_namespace_name(ns)
        .with_access_token(token)
        .with_name("sdk-room")
        .with_metadata("room meta")
    ).item
    expect(room.name == "sdk-room", f"room name {room.name!r}")
    expect(room.user_id == "sdk-alice", f"room owner {room.user_id!r}")

    step("subscribe")
    sub = chat_client.subscribe(
        chat.SubscribeRequest()
        .with_namespace_name(ns)
        .with_room_name("sdk-room")
        .with_access_token(token)
        .with_notification_types(
            [
                chat.NotificationType()
                .with_category(0)
                .with_enable_transfer_mobile_push_notification(False)
            ]
        )
    ).item
    expect(sub.room_name == "sdk-room", f"subscribe roomName {sub.room_name!r}")
    expect(sub.user_id == "sdk-alice", f"subscribe userId {sub.user_id!r}")

    step("post with the access token")
    posted = []
    for i in range(3):
        m = chat_client.post(
            chat.PostRequest()
            .with_namespace_name(ns)
            .with_room_name("sdk-room")
            .with_access_token(token)
            .with_category(0)
            .with_metadata(f"hello {i}")
        ).item
        expect(m.user_id == "sdk-alice", f"message userId {m.user_id!r}")
        expect(m.metadata == f"hello {i}", f"message metadata {m.metadata!r}")
        posted.append(m)

    step("describe messages")
    msgs = chat_client.describe_messages(
        chat.DescribeMessagesRequest()
        .with_namespace_name(ns)
        .with_room_name("sdk-room")
        .with_access_token(token)
        .with_start_at(0)
        .with_limit(100)
    ).items
    expect(
        [m.name for m in msgs] == [m.name for m in posted],
        f"describe_messages order {[m.metadata for m in msgs]}",
    )

    step("describe latest messages")
    latest = chat_client.describe_latest_messages(
        chat.DescribeLatestMessagesRequest()
        .with_namespace_name(ns)
        .with_room_name("sdk-room")
        .with_access_token(token)
        .with_limit(2)
    )
    expect(len(latest.items) == 2, f"latest page size {len(latest.items)}")
    expect(
        latest.items[0].name == posted[-1].name,
        f"newest first: got {latest.items[0].metadata!r}",
    )
    expect(latest.next_page_token, "a second page should exist")
    rest = chat_client.describe_latest_messages(
        chat.DescribeLatestMessagesRequest()
        .with_namespace_name(ns)
        .with_room_name("sdk-room")
        .with_access_token(token)
        .with_limit(2)
        .with_page_token(latest.next_page_token)
    )
    seen = [m.name for m in latest.items] + [m.name for m in rest.items]
    expect(
        sorted(seen) == sorted(m.name for m in posted),
        f"latest pages cover every message once: {seen}",
    )

    step("get message")
    got = chat_client.get_message(
        chat.GetMessageRequest()
        .with_namespace_name(ns)
        .with_room_name("sdk-room")
        .with_message_name(posted[0].name)
        .with_access_token(token)
    ).item
    expect(got.metadata == "hello 0", f"get_message metadata {got.metadata!r}")

    step("wrong password -> BadRequestException room.password.invalid")
    chat_client.create_room_from_backend(
        chat.CreateRoomFromBackendRequest()
        .with_namespace_name(ns)
        .with_name("sdk-locked")
        .with_user_id("sdk-alice")
        .with_password("right-password")
    )
    try:
        chat_client.post(
            chat.PostRequest()
            .with_namespace_name(ns)
            .with_room_name("sdk-locked")
            .with_access_token(token)
            .with_category(0)
            .with_metadata("x")
            .with_password("wrong-password")
        )
        raise AssertionError("post with a wrong password succeeded")
    except core.BadRequestException as e:
        codes = [err.code for err in e.errors]
        expect(codes and codes[0] == "room.password.invalid", f"error codes {codes}")

    step("delete room")
    deleted = chat_client.delete_room(
        chat.DeleteRoomRequest()
        .with_namespace_name(ns)
        .with_room_name("sdk-room")
        .with_access_token(token)
    ).item
    expect(deleted.name == "sdk-room", f"deleted room {deleted.name!r}")
    try:
        chat_client.get_room(
            chat.GetRoomRequest().with_namespace_name(ns).with_room_name("sdk-room")
        )
        raise AssertionError("deleted room is still readable")
    except core.NotFoundException:
        pass

    step("delete namespace")
    chat_client.delete_namespace(chat.DeleteNamespaceRequest().with_namespace_name(ns))
    print("ALL SDK STEPS PASSED", flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception:  # noqa: BLE001 - report any failure with its step
        traceback.print_exc()
        sys.exit(1)
