"""Shared plumbing of the Stream Python SDK scripts: the environment contract and the
one-JSON-object-per-line reporting that `tests/src/sdk.rs` reads back. Nothing here talks
to a server: every script drives the official `getstream` package itself.

Environment (see ../stream-js/README.md):
  STREAM_BASE_URL    e.g. http://127.0.0.1:41234 (the node's --api-addr; no trailing slash)
  STREAM_API_KEY     the app's API key   (node: --stream-api-key)
  STREAM_API_SECRET  the app's API secret (node: --stream-api-secret)
  STREAM_BASE_URL_2  optional: a second node of the same cluster

Output: one JSON object per stdout line: {"step": name, "ok": true, ...} per passed step,
{"step": name, "ok": false, "error": {...}} for the failed one (then exit 1), and
{"done": true} last when every step passed. Tracebacks go to stderr.
"""

import base64
import json
import os
import re
import sys
import traceback

_URL = re.compile(r"^https?://[^/]+(/.*[^/])?$")


def report(obj):
    """Writes one JSON line to stdout and flushes it."""
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()


class Env:
    def __init__(self, base_url, base_url_2, api_key, api_secret):
        self.base_url = base_url
        self.base_url_2 = base_url_2
        self.api_key = api_key
        self.api_secret = api_secret


def stream_env(need_server=True):
    """Reads the environment contract; a missing or malformed variable fails step "env"."""
    env = Env(
        os.environ.get("STREAM_BASE_URL"),
        os.environ.get("STREAM_BASE_URL_2") or None,
        os.environ.get("STREAM_API_KEY"),
        os.environ.get("STREAM_API_SECRET"),
    )
    problems = []
    if need_server:
        for name, value in (
            ("STREAM_BASE_URL", env.base_url),
            ("STREAM_API_KEY", env.api_key),
            ("STREAM_API_SECRET", env.api_secret),
        ):
            if not value:
                problems.append(f"{name} is not set")
    for name, value in (("STREAM_BASE_URL", env.base_url), ("STREAM_BASE_URL_2", env.base_url_2)):
        if value and not _URL.match(value):
            problems.append(f"{name}={value} must be an http(s) URL without a trailing slash")
    if problems:
        fail("env", RuntimeError("; ".join(problems)))
    return env


class ExpectationFailed(AssertionError):
    def __init__(self, what, detail=None):
        super().__init__(f"expectation failed: {what}")
        self.detail = detail


def expect(cond, what, detail=None):
    """Raises (failing the current step) unless `cond`; `detail` is reported with it."""
    if not cond:
        raise ExpectationFailed(what, detail)


def describe_error(err):
    """Type, message, and for the SDK's StreamApiException its status, code and raw body."""
    out = {"type": f"{type(err).__module__}.{type(err).__qualname__}", "str": str(err)}
    for attr in ("status_code", "code", "message", "more_info", "details", "exception_fields",
                 "unrecoverable", "raw_response_body", "error_type"):
        if hasattr(err, attr):
            out[attr] = getattr(err, attr)
    if isinstance(err, KeyError):
        out["hint"] = (
            "getstream raises a bare KeyError when it cannot decode a response: a 2xx body "
            "with a wrongly typed field (e.g. a timestamp that is not integer nanoseconds) "
            "or an error body missing one of code, message, StatusCode, duration, "
            "more_info, details"
        )
    if getattr(err, "detail", None) is not None:
        out["detail"] = err.detail
    if err.__cause__ is not None:
        out["cause"] = f"{type(err.__cause__).__qualname__}: {err.__cause__}"
    return out


def fail(name, err):
    """Reports a failed step, prints the traceback to stderr and exits 1."""
    report({"step": name, "ok": False, "error": describe_error(err)})
    traceback.print_exception(err, file=sys.stderr)
    sys.exit(1)


def step(name, fn):
    """Runs one step: `fn()` returns a dict of extra fields to report (or None)."""
    try:
        extra = fn() or {}
    except Exception as err:  # noqa: BLE001 - every failure is reported the same way
        fail(name, err)
    report({"step": name, "ok": True, **extra})
    return extra


def done(**extra):
    report({"done": True, **extra})
    sys.exit(0)


def decode_jwt(token):
    """The header and payload of a JWT (base64url JSON), not verified."""
    def part(s):
        return json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))

    h, p, _ = token.split(".")
    return {"header": part(h), "payload": part(p)}
