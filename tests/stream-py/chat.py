#!/usr/bin/env python3
"""Second slice of the Stream face through the official Python SDK (`getstream` 7.0.0, the
v2 API family: `/api/v2/...`, timestamps as integer nanoseconds, custom fields nested under
`custom`): channels, members and messages. Can be rerun against the same node (get-or-create
is idempotent; each run adds one more "hi").

Environment (../stream-js/README.md):
  STREAM_BASE_URL    e.g. http://127.0.0.1:41234 (the node's --api-addr; no trailing slash)
  STREAM_API_KEY     the app's API key   (node: --stream-api-key)
  STREAM_API_SECRET  the app's API secret (node: --stream-api-secret)
  STREAM_BASE_URL_2  optional: a second node of the same cluster (adds step "second_node")

Steps (one JSON line each, then {"done": true}; the first failure exits 1):
  client              Stream(api_key=..., api_secret=..., base_url=...) (no request)
  upsert_users        upsert_users(alice, bob, carol)
  get_or_create       client.chat.channel("messaging", "py-room").get_or_create(data=ChannelInput(
                      created_by_id="alice", members=[ChannelMemberRequest(user_id="alice"),
                      ChannelMemberRequest(user_id="bob")], custom={"name": "Py"})) -> channel.cid
                      "messaging:py-room", channel.custom["name"] == "Py", members alice and bob;
                      times are integers on the wire
  send_message        ch.send_message(MessageRequest(text="hi", user_id="alice")) -> message.id,
                      message.text "hi", message.user.id "alice"
  query_channels      client.chat.query_channels(filter_conditions={"members": {"$in": ["bob"]}},
                      sort=[SortParamRequest(field="last_message_at", direction=-1)], limit=10,
                      user_id="bob") -> holds messaging:py-room, whose messages hold the "hi"
  get_message         client.chat.get_message(id=...) -> the same id and text, and
                      message.channel.cid (GetMessageResponse.message is MessageWithChannelResponse)
  server_side_non_member_send
                      send_message by carol (upserted, not a member) with the server token
                      succeeds: server-side calls bypass permission checks, as on Stream
  invalid_channel_id  get_or_create of channel id "bad id!" raises StreamApiException, code 4
  second_node         (only with STREAM_BASE_URL_2) get_message and query_channels there
"""

import datetime

from getstream import Stream, StreamApiException
from getstream.models import (
    ChannelInput,
    ChannelMemberRequest,
    MessageRequest,
    SortParamRequest,
    UserRequest,
)

from harness import expect, done, step, stream_env

env = stream_env()
CID = "messaging:py-room"
client = None
state = {}


def make_client(base_url):
    return Stream(api_key=env.api_key, api_secret=env.api_secret, base_url=base_url)


def wire_body(resp):
    """The raw JSON body, through StreamResponse's private attribute (getstream 7.0.0)."""
    raw = getattr(resp, "_StreamResponse__response", None)
    return raw.json() if raw is not None else None


def expect_int_times(obj, fields, what):
    """Each of `fields` present (and not null) in the raw dict `obj` is an integer (nanoseconds)."""
    seen = []
    for field in fields:
        if obj.get(field) is None:
            continue
        expect(isinstance(obj[field], int), f"{what}.{field} is an integer on the wire", obj[field])
        seen.append(field)
    return seen


def expect_recent(value, what):
    expect(isinstance(value, datetime.datetime), f"{what} decodes to a datetime", repr(value))
    now = datetime.datetime.now(datetime.timezone.utc)
    expect(
        abs((now - value).total_seconds()) < 86400,
        f"{what} is within a day of now (nanoseconds since the epoch on the wire)",
        value.isoformat(),
    )
    return value.isoformat()


def expect_api_error(call, what):
    """`call()` must raise the SDK's StreamApiException; returns it."""
    try:
        resp = call()
    except StreamApiException as err:
        return err
    except KeyError as err:
        raise AssertionError(
            f"{what}: the SDK raised KeyError({err}) instead of StreamApiException: the error "
            "body lacks a key the SDK requires (code, message, StatusCode, duration, "
            "more_info, details), or a 2xx body has a wrongly typed field"
        ) from err
    expect(False, f"{what} must fail", wire_body(resp))


def error_fields(err):
    return {"status_code": err.status_code, "code": err.code, "message": err.message}


def s_client():
    global client
    client = make_client(env.base_url)
    return {"base_url": client.base_url}


def s_upsert_users():
    resp = client.upsert_users(
        UserRequest(id="alice", name="Alice"),
        UserRequest(id="bob", name="Bob"),
        UserRequest(id="carol", name="Carol"),
    )
    users = resp.data.users or {}
    expect(
        {"alice", "bob", "carol"} <= set(users), "users map holds alice, bob and carol", sorted(users)
    )
    return {"user_ids": sorted(users)}


def s_get_or_create():
    ch = client.chat.channel("messaging", "py-room")
    resp = ch.get_or_create(
        data=ChannelInput(
            created_by_id="alice",
            members=[ChannelMemberRequest(user_id="alice"), ChannelMemberRequest(user_id="bob")],
            custom={"name": "Py"},
        )
    )
    data = resp.data
    expect(data.channel is not None, "the response has a `channel`", wire_body(resp))
    channel = data.channel
    expect(channel.cid == CID, f"channel.cid == {CID!r}", channel.cid)
    expect(channel.id == "py-room" and channel.type == "messaging", "channel.id/type", channel.to_dict())
    expect(
        (channel.custom or {}).get("name") == "Py",
        'channel.custom["name"] == "Py" (v2 nests custom fields under `custom`)',
        wire_body(resp).get("channel"),
    )
    expect(ch.custom_data.get("name") == "Py", "the Channel wrapper copies channel.custom", ch.custom_data)
    members = sorted(m.user_id or (m.user.id if m.user else None) for m in data.members or [])
    expect(members == ["alice", "bob"], "members are alice and bob", members)
    expect(isinstance(data.messages, list), "`messages` is a list", data.messages)
    body = wire_body(resp)
    out = {
        "cid": channel.cid,
        "custom": channel.custom,
        "members": members,
        "messages": len(data.messages),
        "created_at": expect_recent(channel.created_at, "channel.created_at"),
        "created_by": channel.created_by.id if channel.created_by else None,
    }
    expect_int_times(body["channel"], ("created_at", "updated_at"), "channel")
    for m in body.get("members", []):
        expect_int_times(m, ("created_at", "updated_at"), f"members[{m.get('user_id')}]")
    out["wire_timestamps"] = "int"
    state["channel"] = ch
    return out


def s_send_message():
    resp = state["channel"].send_message(MessageRequest(text="hi", user_id="alice"))
    m = resp.data.message
    expect(m is not None, "the response has a `message`", wire_body(resp))
    expect(isinstance(m.id, str) and m.id, "message.id is a non-empty string", m.id)
    expect(m.text == "hi", 'message.text == "hi"', m.text)
    expect(m.user is not None and m.user.id == "alice", 'message.user.id == "alice"', m.to_dict())
    raw = wire_body(resp)["message"]
    expect_int_times(raw, ("created_at", "updated_at"), "message")
    state["message_id"] = m.id
    return {
        "message_id": m.id,
        "text": m.text,
        "user_id": m.user.id,
        "cid": m.cid,
        "type": m.type,
        "created_at": expect_recent(m.created_at, "message.created_at"),
        "wire_timestamps": "int",
    }


def query_bob(c):
    resp = c.chat.query_channels(
        filter_conditions={"members": {"$in": ["bob"]}},
        sort=[SortParamRequest(field="last_message_at", direction=-1)],
        limit=10,
        user_id="bob",
    )
    channels = resp.data.channels or []
    cids = [c.channel.cid if c.channel else None for c in channels]
    expect(CID in cids, f"query_channels returns {CID}", cids)
    room = channels[cids.index(CID)]
    ids = [m.id for m in room.messages or []]
    expect(state["message_id"] in ids, f'the messages of {CID} hold the "hi"', ids)
    hi = next(m for m in room.messages if m.id == state["message_id"])
    expect(hi.text == "hi", 'its text is "hi"', hi.to_dict())
    raw = next(c for c in wire_body(resp)["channels"] if (c.get("channel") or {}).get("cid") == CID)
    expect_int_times(raw["channel"], ("created_at", "updated_at", "last_message_at"), "channel")
    for m in raw.get("messages", []):
        expect_int_times(m, ("created_at", "updated_at"), f"messages[{m.get('id')}]")
    return {
        "cids": cids,
        "message_ids": ids,
        "last_message_at": expect_recent(room.channel.last_message_at, "channel.last_message_at")
        if room.channel.last_message_at
        else None,
        "wire_timestamps": "int",
    }


def s_query_channels():
    return query_bob(client)


def get_hi(c):
    resp = c.chat.get_message(id=state["message_id"])
    m = resp.data.message
    expect(m is not None and m.id == state["message_id"], "get_message returns the message", wire_body(resp))
    expect(m.text == "hi", 'its text is "hi"', m.to_dict())
    expect(m.user is not None and m.user.id == "alice", 'its user.id is "alice"', m.to_dict())
    # GetMessageResponse.message is a MessageWithChannelResponse: `channel` is a required key.
    expect(m.channel is not None and m.channel.cid == CID, f"message.channel.cid == {CID!r}",
           wire_body(resp)["message"].get("channel"))
    raw = wire_body(resp)["message"]
    expect_int_times(raw, ("created_at", "updated_at"), "message")
    expect_int_times(raw["channel"], ("created_at", "updated_at"), "message.channel")
    return {"message_id": m.id, "text": m.text, "cid": m.cid, "channel_cid": m.channel.cid}


def s_get_message():
    return get_hi(client)


def s_server_side_non_member_send():
    resp = state["channel"].send_message(MessageRequest(text="let me in", user_id="carol"))
    m = resp.data.message
    expect(m.text == "let me in" and m.user.id == "carol",
           "the server-side send by carol is stored as hers", {"text": m.text})
    return {"message_id": m.id}


def s_invalid_channel_id():
    bad = client.chat.channel("messaging", "bad id!")
    err = expect_api_error(
        lambda: bad.get_or_create(
            data=ChannelInput(created_by_id="alice", members=[ChannelMemberRequest(user_id="alice")])
        ),
        'get_or_create of channel id "bad id!"',
    )
    expect(err.code == 4, "the error decodes with code 4 (InputError)",
           {**error_fields(err), "body": err.raw_response_body})
    return error_fields(err)


def s_second_node():
    other = make_client(env.base_url_2)
    return {"base_url": env.base_url_2, "get_message": get_hi(other), "query_channels": query_bob(other)}


step("client", s_client)
step("upsert_users", s_upsert_users)
step("get_or_create", s_get_or_create)
step("send_message", s_send_message)
step("query_channels", s_query_channels)
step("get_message", s_get_message)
step("server_side_non_member_send", s_server_side_non_member_send)
step("invalid_channel_id", s_invalid_channel_id)
if env.base_url_2:
    step("second_node", s_second_node)
done()
