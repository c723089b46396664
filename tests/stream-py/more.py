#!/usr/bin/env python3
"""Third slice of the Stream face through the official Python SDK (`getstream` 7.0.0, the v2
API family: `/api/v2/...`, integer-nanosecond times, custom fields under `custom`): every other
implemented method — reactions, reads, events, channel updates, truncation, message edits,
deletes and undeletes, thread replies, channel deletion and guests. Each run uses fresh ids,
so it can be rerun against the same node.

Strict decoding: the SDK decodes every answer with dataclasses_json, which only *warns*
(RuntimeWarning, "Missing X and was defaulted to None" or "'NoneType' object value of
non-optional type X") when the server leaves out a field the model requires, and checks no
types at all. Every step records those warnings and checks each decoded answer against its
model's annotations; a step with either fails (`warnings`, `mistyped`).

Environment (../stream-js/README.md): STREAM_BASE_URL, STREAM_API_KEY, STREAM_API_SECRET;
STREAM_PY_LENIENT=1 reports each step's warnings without failing it.

Steps (one JSON line each, then {"done": true}; the first failure exits 1):
  setup               upsert_users(alice, bob, carol); get_or_create messaging:<run> with alice
                      (creator) and bob; alice sends "hello"
  send_reaction       send_reaction(hello, ReactionRequest(type="like", user_id="bob")), then
                      type "love" with enforce_unique=True -> message.reaction_counts
                      {"love": 1} (the unique send replaces bob's like), reaction.type "love",
                      reaction_groups["love"].latest_reactions_by == [bob]
  get_message_reactions
                      get_message(hello) -> latest_reactions / own fields hold bob's "love"
  delete_reaction     delete_reaction(hello, "love", user_id="bob") -> reaction_counts empty
  mark_read           channel.mark_read(user_id="bob") -> event.type "message.read", integer
                      created_at on the wire
  send_event          channel.send_event(EventRequest(type="typing.start", user_id="alice"))
                      -> event.type "typing.start", event.user.id "alice"
  update_add_members  channel.update(add_members=[carol]) -> members alice, bob, carol
  update_remove_members
                      channel.update(remove_members=["carol"]) -> members alice, bob
  update_data         channel.update(data=ChannelInputRequest(custom={"color": "red"}))
                      -> channel.custom {"color": "red"}
  update_channel_partial
                      update_channel_partial(set={"topic": "t"}, unset=["color"]) -> channel
                      .custom {"topic": "t"}
  update_message      update_message(hello, MessageRequest(text="hello again", user_id="alice"))
                      -> text, message_text_updated_at set
  update_message_partial
                      update_message_partial(hello, set={"mood": "ok"}, user_id="alice")
                      -> message.custom {"mood": "ok"}
  reply_and_get_replies
                      send_message(parent_id=hello) by bob; get_replies(hello) -> the reply;
                      get_message(hello).reply_count == 1
  delete_message      delete_message(hello) -> type "deleted", deleted_at set (integer)
  undelete_message    undelete_message(hello, undeleted_by="alice") -> type "regular", text back
  hard_delete_message delete_message(reply, hard=True); get_message(reply) -> code 16
  truncate            channel.truncate() -> channel.truncated_at set; the channel has no messages
  delete_channel      channel.delete() -> channel.deleted_at set; get of the channel afterwards
                      makes a new, empty channel
  create_guest        create_guest(UserRequest(id=guest-<run>)) -> access_token, user.role
                      "guest"; again with the same id -> code 4
"""

import dataclasses
import enum
import os
import sys
import types
import typing
import uuid
import warnings

import getstream.base
from getstream import Stream, StreamApiException
from getstream.models import (
    ChannelInput,
    ChannelInputRequest,
    ChannelMemberRequest,
    EventRequest,
    MessageRequest,
    ReactionRequest,
    UserRequest,
)

import harness
from harness import expect, done, report, stream_env

env = stream_env()
RUN = uuid.uuid4().hex[:8]
CHANNEL_ID = f"py-more-{RUN}"
CID = f"messaging:{CHANNEL_ID}"
client = Stream(api_key=env.api_key, api_secret=env.api_secret, base_url=env.base_url)
state = {}
# STREAM_PY_LENIENT=1: report the warnings of each step without failing it (to see them all).
LENIENT = os.environ.get("STREAM_PY_LENIENT") == "1"


# Strict typing: every answer the SDK decodes is checked against its model's annotations
# (dataclasses_json does not check types: a string where an int belongs decodes silently).

_hints = {}


def hints(cls):
    if cls not in _hints:
        _hints[cls] = typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))
    return _hints[cls]


def check(value, tp, path, out):
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return check(value, inner[0], path, out)
        return
    if value is None:
        out.append(f"{path}: None for {tp}")
        return
    if tp is object or tp is typing.Any:
        return
    if origin is list:
        if not isinstance(value, list):
            out.append(f"{path}: {type(value).__name__} for {tp}")
            return
        for i, v in enumerate(value):
            check(v, args[0] if args else object, f"{path}[{i}]", out)
        return
    if origin is dict:
        if not isinstance(value, dict):
            out.append(f"{path}: {type(value).__name__} for {tp}")
            return
        for k, v in value.items():
            check(v, args[1] if len(args) > 1 else object, f"{path}.{k}", out)
        return
    if dataclasses.is_dataclass(tp):
        if not dataclasses.is_dataclass(value):
            out.append(f"{path}: {type(value).__name__} for {tp.__name__}")
            return
        h = hints(tp)
        for f in dataclasses.fields(tp):
            check(getattr(value, f.name), h[f.name], f"{path}.{f.name}", out)
        return
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        if not isinstance(value, tp) and value not in {e.value for e in tp}:
            out.append(f"{path}: {value!r:.60} is not a {tp.__name__}")
        return
    constants = {v for k, v in vars(tp).items() if k.isupper() and isinstance(v, str)} \
        if isinstance(tp, type) else set()
    if constants:
        # String "enums" (a class of Final constants, e.g. ChannelOwnCapability) stay strings.
        if value not in constants:
            out.append(f"{path}: {value!r:.60} is not one of {tp.__name__}")
        return
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return
    if tp is int and isinstance(value, bool):
        out.append(f"{path}: bool for int")
        return
    if isinstance(tp, type) and not isinstance(value, tp):
        out.append(f"{path}: {type(value).__name__} {value!r:.60} for {tp.__name__}")


def typing_problems(data):
    out = []
    check(data, type(data), type(data).__name__, out)
    return out


decoded_problems = []
_parse = getstream.base.ResponseParserMixin._parse_response


def _checked_parse(self, response, data_type):
    resp = _parse(self, response, data_type)
    if dataclasses.is_dataclass(resp.data):
        decoded_problems.extend(typing_problems(resp.data))
    return resp


getstream.base.ResponseParserMixin._parse_response = _checked_parse


def step(name, fn):
    """harness.step, failing the step when the SDK warned while decoding an answer."""

    def checked():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            extra = fn() or {}
        found = sorted({str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)})
        mistyped = sorted(set(decoded_problems))
        decoded_problems.clear()
        if LENIENT:
            return {**extra, "warnings": found, "mistyped": mistyped}
        expect(not found, "the SDK decoded every answer without a RuntimeWarning", found)
        expect(not mistyped, "every decoded field has its model's type", mistyped)
        return extra

    return harness.step(name, checked)


def wire_body(resp):
    """The raw JSON body, through StreamResponse's private attribute (getstream 7.0.0)."""
    raw = getattr(resp, "_StreamResponse__response", None)
    return raw.json() if raw is not None else None


def expect_int_times(obj, fields, what):
    """Each of `fields` present (and not null) in the raw dict `obj` is an integer (ns)."""
    for field in fields:
        if obj.get(field) is not None:
            expect(isinstance(obj[field], int), f"{what}.{field} is an integer on the wire", obj[field])


MESSAGE_TIMES = ("created_at", "updated_at", "deleted_at", "message_text_updated_at")
CHANNEL_TIMES = ("created_at", "updated_at", "deleted_at", "truncated_at", "last_message_at")


def expect_api_error(call, what):
    try:
        resp = call()
    except StreamApiException as err:
        return err
    expect(False, f"{what} must fail", wire_body(resp))


def error_fields(err):
    return {"status_code": err.status_code, "code": err.code, "message": err.message}


def channel():
    return client.chat.channel("messaging", CHANNEL_ID)


def s_setup():
    client.upsert_users(
        UserRequest(id="alice", name="Alice"),
        UserRequest(id="bob", name="Bob"),
        UserRequest(id="carol", name="Carol"),
    )
    resp = channel().get_or_create(
        data=ChannelInput(
            created_by_id="alice",
            members=[ChannelMemberRequest(user_id="alice"), ChannelMemberRequest(user_id="bob")],
        )
    )
    expect(resp.data.channel.cid == CID, "the channel is made", resp.data.channel.cid)
    resp = channel().send_message(MessageRequest(text="hello", user_id="alice"))
    state["hello"] = resp.data.message.id
    return {"cid": CID, "message_id": state["hello"]}


def s_send_reaction():
    hello = state["hello"]
    first = client.chat.send_reaction(hello, reaction=ReactionRequest(type="like", user_id="bob"))
    expect(first.data.reaction.type == "like", 'reaction.type == "like"', wire_body(first))
    expect(first.data.message.reaction_counts == {"like": 1}, "reaction_counts {like: 1}",
           first.data.message.reaction_counts)
    resp = client.chat.send_reaction(
        hello, reaction=ReactionRequest(type="love", user_id="bob"), enforce_unique=True
    )
    data = resp.data
    expect(data.reaction.type == "love" and data.reaction.user_id == "bob",
           'reaction.type "love" by bob', data.reaction.to_dict())
    expect(data.reaction.message_id == hello, "reaction.message_id", data.reaction.message_id)
    expect(data.message.reaction_counts == {"love": 1},
           "enforce_unique replaces bob's like: reaction_counts {love: 1}",
           data.message.reaction_counts)
    expect(data.message.reaction_scores == {"love": 1}, "reaction_scores {love: 1}",
           data.message.reaction_scores)
    group = (data.message.reaction_groups or {}).get("love")
    by = [u.user_id for u in group.latest_reactions_by] if group else None
    expect(group is not None and group.count == 1 and by == ["bob"],
           'reaction_groups["love"]: count 1, latest_reactions_by bob', wire_body(resp)["message"])
    raw = wire_body(resp)
    expect_int_times(raw["reaction"], ("created_at", "updated_at"), "reaction")
    raw_group = raw["message"]["reaction_groups"]["love"]
    expect_int_times(raw_group, ("first_reaction_at", "last_reaction_at"), "reaction_groups.love")
    expect_int_times(raw_group["latest_reactions_by"][0], ("created_at",), "latest_reactions_by[0]")
    expect_int_times(raw["message"], MESSAGE_TIMES, "message")
    return {"reaction_counts": data.message.reaction_counts, "type": data.reaction.type}


def s_get_message_reactions():
    resp = client.chat.get_message(state["hello"])
    m = resp.data.message
    latest = [(r.type, r.user_id) for r in m.latest_reactions]
    expect(("love", "bob") in latest, "latest_reactions hold bob's love", latest)
    expect(m.reaction_counts == {"love": 1}, "reaction_counts {love: 1}", m.reaction_counts)
    for r in wire_body(resp)["message"]["latest_reactions"]:
        expect_int_times(r, ("created_at", "updated_at"), "latest_reactions[]")
    return {"latest_reactions": latest, "reaction_counts": m.reaction_counts}


def s_delete_reaction():
    resp = client.chat.delete_reaction(state["hello"], "love", user_id="bob")
    data = resp.data
    expect(data.reaction.type == "love", "the deleted reaction is answered", wire_body(resp))
    expect(not data.message.reaction_counts, "reaction_counts is empty",
           data.message.reaction_counts)
    expect(not data.message.latest_reactions, "latest_reactions is empty",
           data.message.latest_reactions)
    return {"reaction_counts": data.message.reaction_counts}


def s_mark_read():
    resp = channel().mark_read(user_id="bob")
    ev = resp.data.event
    expect(ev is not None and ev.type == "message.read", 'event.type == "message.read"',
           wire_body(resp))
    expect_int_times(wire_body(resp)["event"], ("created_at",), "event")
    return {"event_type": ev.type, "user": ev.user.id if ev.user else None}


def s_send_event():
    resp = channel().send_event(EventRequest(type="typing.start", user_id="alice"))
    ev = resp.data.event
    expect(ev.type == "typing.start", 'event.type == "typing.start"', wire_body(resp))
    expect(ev.user is not None and ev.user.id == "alice", 'event.user.id == "alice"',
           wire_body(resp))
    expect_int_times(wire_body(resp)["event"], ("created_at",), "event")
    return {"event_type": ev.type, "cid": ev.cid}


def member_ids(data):
    return sorted(m.user_id for m in data.members)


def s_update_add_members():
    resp = channel().update(add_members=[ChannelMemberRequest(user_id="carol")])
    ids = member_ids(resp.data)
    expect(ids == ["alice", "bob", "carol"], "members alice, bob, carol", ids)
    expect(resp.data.channel.cid == CID, "channel.cid", wire_body(resp))
    for m in wire_body(resp)["members"]:
        expect_int_times(m, ("created_at", "updated_at"), "members[]")
    return {"members": ids}


def s_update_remove_members():
    resp = channel().update(remove_members=["carol"])
    ids = member_ids(resp.data)
    expect(ids == ["alice", "bob"], "members alice, bob", ids)
    return {"members": ids}


def s_update_data():
    resp = channel().update(data=ChannelInputRequest(custom={"color": "red"}))
    c = resp.data.channel
    expect(c.custom == {"color": "red"}, 'channel.custom == {"color": "red"}', wire_body(resp))
    expect_int_times(wire_body(resp)["channel"], CHANNEL_TIMES, "channel")
    return {"custom": c.custom}


def s_update_channel_partial():
    resp = channel().update_channel_partial(set={"topic": "t"}, unset=["color"])
    c = resp.data.channel
    expect(c.custom == {"topic": "t"}, 'channel.custom == {"topic": "t"}', wire_body(resp))
    expect(isinstance(resp.data.members, list), "members is a list", wire_body(resp))
    expect_int_times(wire_body(resp)["channel"], CHANNEL_TIMES, "channel")
    return {"custom": c.custom, "members": member_ids(resp.data)}


def s_update_message():
    resp = client.chat.update_message(
        state["hello"], message=MessageRequest(text="hello again", user_id="alice")
    )
    m = resp.data.message
    expect(m.text == "hello again", 'text == "hello again"', wire_body(resp))
    expect(m.message_text_updated_at is not None, "message_text_updated_at is set", wire_body(resp))
    expect_int_times(wire_body(resp)["message"], MESSAGE_TIMES, "message")
    return {"text": m.text}


def s_update_message_partial():
    resp = client.chat.update_message_partial(state["hello"], set={"mood": "ok"}, user_id="alice")
    m = resp.data.message
    expect(m.custom == {"mood": "ok"}, 'message.custom == {"mood": "ok"}', wire_body(resp))
    expect(m.text == "hello again", "the text is kept", m.text)
    return {"custom": m.custom}


def s_reply_and_get_replies():
    hello = state["hello"]
    sent = channel().send_message(MessageRequest(text="a reply", user_id="bob", parent_id=hello))
    reply = sent.data.message
    expect(reply.parent_id == hello and reply.type == "reply", "a reply to hello",
           wire_body(sent))
    state["reply"] = reply.id
    resp = client.chat.get_replies(hello)
    ids = [m.id for m in resp.data.messages]
    expect(ids == [reply.id], "get_replies holds the reply", ids)
    for m in wire_body(resp)["messages"]:
        expect_int_times(m, MESSAGE_TIMES, "messages[]")
    parent = client.chat.get_message(hello).data.message
    expect(parent.reply_count == 1, "the parent's reply_count == 1", parent.reply_count)
    return {"replies": ids, "reply_count": parent.reply_count}


def s_delete_message():
    resp = client.chat.delete_message(state["hello"])
    m = resp.data.message
    expect(m.type == "deleted" and m.deleted_at is not None, 'type "deleted", deleted_at set',
           wire_body(resp))
    expect_int_times(wire_body(resp)["message"], MESSAGE_TIMES, "message")
    return {"type": m.type, "deleted_at": m.deleted_at.isoformat()}


def s_undelete_message():
    resp = client.chat.undelete_message(state["hello"], undeleted_by="alice")
    m = resp.data.message
    expect(m.type == "regular" and m.deleted_at is None, 'type "regular" again', wire_body(resp))
    expect(m.text == "hello again", "the text is back", m.text)
    return {"type": m.type, "text": m.text}


def s_hard_delete_message():
    reply = state["reply"]
    resp = client.chat.delete_message(reply, hard=True)
    expect(resp.data.message.id == reply, "the hard-deleted message is answered", wire_body(resp))
    err = expect_api_error(lambda: client.chat.get_message(reply), "get_message of a hard-deleted id")
    expect(err.code == 16, "code 16 (NotFound)", error_fields(err))
    parent = client.chat.get_message(state["hello"]).data.message
    expect(parent.reply_count == 0, "the parent's reply_count is back to 0", parent.reply_count)
    return {"get_code": err.code, "reply_count": parent.reply_count}


def s_truncate():
    resp = channel().truncate()
    c = resp.data.channel
    expect(c is not None and c.truncated_at is not None, "channel.truncated_at is set",
           wire_body(resp))
    expect_int_times(wire_body(resp)["channel"], CHANNEL_TIMES, "channel")
    got = channel().get_or_create()
    expect(got.data.messages == [], "the channel has no messages", [m.id for m in got.data.messages])
    return {"truncated_at": c.truncated_at.isoformat()}


def s_delete_channel():
    resp = channel().delete()
    c = resp.data.channel
    expect(c is not None and c.cid == CID and c.deleted_at is not None,
           "the deleted channel is answered with deleted_at", wire_body(resp))
    expect_int_times(wire_body(resp)["channel"], CHANNEL_TIMES, "channel")
    again = channel().get_or_create(data=ChannelInput(created_by_id="alice"))
    expect(again.data.channel.deleted_at is None and again.data.messages == [],
           "a get afterwards makes a new, empty channel", wire_body(again))
    return {"deleted_at": c.deleted_at.isoformat()}


def s_create_guest():
    gid = f"guest-{RUN}"
    resp = client.create_guest(user=UserRequest(id=gid, name="Guest", role="admin"))
    data = resp.data
    expect(isinstance(data.access_token, str) and data.access_token, "access_token", wire_body(resp))
    expect(data.user.id == gid and data.user.role == "guest", 'user.role == "guest"',
           data.user.to_dict())
    expect(harness.decode_jwt(data.access_token)["payload"].get("user_id") == gid,
           "the token names the guest", data.access_token)
    expect_int_times(wire_body(resp)["user"], ("created_at", "updated_at"), "user")
    err = expect_api_error(lambda: client.create_guest(user=UserRequest(id=gid)),
                           "a second guest with the same id")
    expect(err.code == 4, "code 4", error_fields(err))
    return {"user_id": data.user.id, "role": data.user.role, "again_code": err.code}


report({"step": "run", "ok": True, "cid": CID})
step("setup", s_setup)
step("send_reaction", s_send_reaction)
step("get_message_reactions", s_get_message_reactions)
step("delete_reaction", s_delete_reaction)
step("mark_read", s_mark_read)
step("send_event", s_send_event)
step("update_add_members", s_update_add_members)
step("update_remove_members", s_update_remove_members)
step("update_data", s_update_data)
step("update_channel_partial", s_update_channel_partial)
step("update_message", s_update_message)
step("update_message_partial", s_update_message_partial)
step("reply_and_get_replies", s_reply_and_get_replies)
step("delete_message", s_delete_message)
step("undelete_message", s_undelete_message)
step("hard_delete_message", s_hard_delete_message)
step("truncate", s_truncate)
step("delete_channel", s_delete_channel)
step("create_guest", s_create_guest)
done()
