#!/usr/bin/env python3
"""User lifecycle and guests through the official Python SDK (`getstream` 7.0.0, v2 family:
integer-nanosecond times): deactivate_user, reactivate_user, create_guest. Needs a node where
the ids `pia` and `py-guest` are free.

Environment (../stream-js/README.md): STREAM_BASE_URL, STREAM_API_KEY, STREAM_API_SECRET.

Steps (one JSON line each, then {"done": true}; the first failure exits 1):
  deactivate   upsert pia; deactivate_user("pia") -> user.deactivated_at a datetime
  reactivate   reactivate_user("pia") -> user.deactivated_at None; again: code 4
  guest        create_guest(UserRequest(id="py-guest")) -> access_token, user.role "guest"
"""

import datetime

from getstream import Stream, StreamApiException
from getstream.models import UserRequest

from harness import expect, done, step, stream_env

env = stream_env()
client = Stream(api_key=env.api_key, api_secret=env.api_secret, base_url=env.base_url)


def s_deactivate():
    client.upsert_users(UserRequest(id="pia", name="Pia"))
    user = client.deactivate_user("pia").data.user
    expect(user is not None and isinstance(user.deactivated_at, datetime.datetime),
           "deactivated_at decodes to a datetime", user and user.to_dict())
    return {"deactivated_at": user.deactivated_at.isoformat()}


def s_reactivate():
    user = client.reactivate_user("pia").data.user
    expect(user is not None and user.deactivated_at is None, "deactivated_at is cleared",
           user and user.to_dict())
    try:
        client.reactivate_user("pia")
    except StreamApiException as err:
        expect(err.code == 4, "reactivating an active user is code 4", err.code)
        return {"again_code": err.code}
    expect(False, "reactivating an active user must fail")


def s_guest():
    data = client.create_guest(UserRequest(id="py-guest", name="Py")).data
    expect(data.access_token and data.access_token.count(".") == 2, "a JWT access token", data)
    expect(data.user.id == "py-guest" and data.user.role == "guest", "a guest user",
           data.user.to_dict())
    return {"role": data.user.role}


step("deactivate", s_deactivate)
step("reactivate", s_reactivate)
step("guest", s_guest)
done()
