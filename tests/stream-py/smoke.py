#!/usr/bin/env python3
"""Smoke check of the pinned official Python SDK (`getstream` 7.0.0); needs no server.

Run by tests/tests/stream_sdk.rs through chat_tests::sdk::run_script.

Environment (../stream-js/README.md; all optional here, defaults below): STREAM_BASE_URL,
STREAM_API_KEY, STREAM_API_SECRET. STREAM_BASE_URL_2 is not used.

One step, "smoke": `Stream(api_key, api_secret, base_url=...)` mints `create_token("alice")`;
the line reports the installed SDK version, the token, its decoded header and payload,
whether its HS256 signature verifies with the secret (hmac), and the payload of the
client's own server token (`client.token`). Then {"done": true}.
"""

import base64
import hashlib
import hmac
import os

import getstream
from getstream import Stream
from getstream.version import VERSION

from harness import decode_jwt, done, expect, step

API_KEY = os.environ.get("STREAM_API_KEY") or "smoke-key"
API_SECRET = os.environ.get("STREAM_API_SECRET") or "smoke-secret-0123456789abcdef0123456789"
BASE_URL = os.environ.get("STREAM_BASE_URL") or "http://127.0.0.1:9"


def smoke():
    client = Stream(api_key=API_KEY, api_secret=API_SECRET, base_url=BASE_URL)
    token = client.create_token("alice")
    decoded = decode_jwt(token)
    h, p, sig = token.split(".")
    mac = hmac.new(API_SECRET.encode(), f"{h}.{p}".encode(), hashlib.sha256).digest()
    expected = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    expect(isinstance(client.token, str), "the client holds a server token")
    return {
        "sdk": "getstream",
        "version": VERSION,
        "module": getstream.__file__,
        "base_url": client.base_url,
        "token": token,
        "header": decoded["header"],
        "payload": decoded["payload"],
        "signature_valid": hmac.compare_digest(sig, expected),
        "server_token_payload": decode_jwt(client.token)["payload"],
    }


step("smoke", smoke)
done()
