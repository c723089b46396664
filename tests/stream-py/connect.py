#!/usr/bin/env python3
"""First slice of the Stream face through the official Python SDK (`getstream` 7.0.0, the
v2 API family: `/api/v2/...`, timestamps as integer nanoseconds): upsert users, query
users, get app, and an error that must decode as the SDK's own exception.

Environment (../stream-js/README.md):
  STREAM_BASE_URL    e.g. http://127.0.0.1:41234 (the node's --api-addr; no trailing slash)
  STREAM_API_KEY     the app's API key   (node: --stream-api-key)
  STREAM_API_SECRET  the app's API secret (node: --stream-api-secret)
  STREAM_BASE_URL_2  optional: a second node of the same cluster (adds step "second_node")

Steps (one JSON line each, then {"done": true}; the first failure exits 1):
  client           Stream(api_key=..., api_secret=..., base_url=...) (no request)
  upsert_users     upsert_users(UserRequest(id="alice", name="Alice", role="user"),
                   UserRequest(id="bob", name="Bob")) -> users map holds both
  query_users      query_users(QueryUsersPayload(filter_conditions={"id": {"$in": [...]}}))
                   -> exactly alice and bob; created_at/updated_at decoded to datetimes
                   within a day of now, and integers on the wire
  get_app          get_app() -> GetApplicationResponse with an `app`
  bad_filter       query_users with filter {"id": {"$bogus": 1}} raises StreamApiException
                   with .code == 4 (a KeyError here means the error body lacks one of
                   code, message, StatusCode, duration, more_info, details)
  partial_missing  update_users_partial([UpdateUserPartialRequest(id=<missing>, set=...)])
                   raises StreamApiException with a non-zero .code (reported)
  second_node      (only with STREAM_BASE_URL_2) query_users there returns both users
"""

import datetime
import uuid

from getstream import Stream, StreamApiException
from getstream.models import QueryUsersPayload, UpdateUserPartialRequest, UserRequest

from harness import expect, done, step, stream_env

env = stream_env()
client = None


def make_client(base_url):
    return Stream(api_key=env.api_key, api_secret=env.api_secret, base_url=base_url)


def s_client():
    global client
    client = make_client(env.base_url)
    return {"base_url": client.base_url}


def s_upsert_users():
    resp = client.upsert_users(
        UserRequest(id="alice", name="Alice", role="user"),
        UserRequest(id="bob", name="Bob"),
    )
    users = resp.data.users or {}
    expect("alice" in users and "bob" in users, "users map holds alice and bob", sorted(users))
    alice = users["alice"]
    expect(alice.id == "alice", "users['alice'].id == 'alice'", alice.to_dict())
    expect(alice.name == "Alice", "users['alice'].name == 'Alice'", alice.to_dict())
    return {"user_ids": sorted(users), "alice_role": alice.role, "duration": resp.data.duration}


def wire_body(resp):
    """The raw JSON body, through StreamResponse's private attribute (getstream 7.0.0)."""
    raw = getattr(resp, "_StreamResponse__response", None)
    return raw.json() if raw is not None else None


def check_timestamp(user, field):
    value = getattr(user, field)
    expect(
        isinstance(value, datetime.datetime),
        f"{user.id}.{field} decodes to a datetime",
        repr(value),
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    expect(
        abs((now - value).total_seconds()) < 86400,
        f"{user.id}.{field} is within a day of now (nanoseconds since the epoch on the wire)",
        value.isoformat(),
    )
    return value.isoformat()


def query_both(c):
    resp = c.query_users(
        QueryUsersPayload(filter_conditions={"id": {"$in": ["alice", "bob"]}})
    )
    users = resp.data.users or []
    ids = sorted(u.id for u in users)
    expect(ids == ["alice", "bob"], "query_users returns exactly alice and bob", ids)
    return resp, users, ids


def s_query_users():
    resp, users, ids = query_both(client)
    out = {"user_ids": ids}
    for u in users:
        out[f"{u.id}_created_at"] = check_timestamp(u, "created_at")
        out[f"{u.id}_updated_at"] = check_timestamp(u, "updated_at")
    body = wire_body(resp)
    if body is not None:
        for u in body.get("users", []):
            for field in ("created_at", "updated_at"):
                expect(
                    isinstance(u.get(field), int),
                    f"{field} of {u.get('id')} is an integer on the wire",
                    u.get(field),
                )
        out["wire_timestamps"] = "int"
    return out


def s_get_app():
    resp = client.get_app()
    expect(resp.data.app is not None, "get_app returns an `app`", wire_body(resp))
    return {"duration": resp.data.duration}


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
            "more_info, details)"
        ) from err
    expect(False, f"{what} must fail", wire_body(resp))


def s_bad_filter():
    err = expect_api_error(
        lambda: client.query_users(QueryUsersPayload(filter_conditions={"id": {"$bogus": 1}})),
        "query_users with operator $bogus",
    )
    expect(err.code == 4, "the error decodes with code 4 (InputError)",
           {"status_code": err.status_code, "code": err.code, "body": err.raw_response_body})
    expect(err.status_code >= 400, "the HTTP status is an error status", err.status_code)
    return {"status_code": err.status_code, "code": err.code, "message": err.message}


def s_partial_missing():
    missing = f"missing-{uuid.uuid4().hex[:12]}"
    err = expect_api_error(
        lambda: client.update_users_partial(
            [UpdateUserPartialRequest(id=missing, set={"name": "Nobody"})]
        ),
        f"update_users_partial of the missing user {missing}",
    )
    expect(err.code != 0, "the error body decodes (non-zero code)",
           {"status_code": err.status_code, "body": err.raw_response_body})
    return {"user_id": missing, "status_code": err.status_code, "code": err.code,
            "message": err.message}


def s_second_node():
    _, _, ids = query_both(make_client(env.base_url_2))
    return {"base_url": env.base_url_2, "user_ids": ids}


step("client", s_client)
step("upsert_users", s_upsert_users)
step("query_users", s_query_users)
step("get_app", s_get_app)
step("bad_filter", s_bad_filter)
step("partial_missing", s_partial_missing)
if env.base_url_2:
    step("second_node", s_second_node)
done()
