// Shared plumbing of the Stream JS SDK scripts: the environment contract and the
// one-JSON-object-per-line reporting that `tests/src/sdk.rs` reads back.
// Nothing here talks to a server: every script drives the official `stream-chat`
// client itself, so what is tested is the SDK's own behaviour.
//
// Environment (see README.md):
//   STREAM_BASE_URL    e.g. http://127.0.0.1:41234 (the node's --api-addr; no trailing slash)
//   STREAM_API_KEY     the app's API key   (node: --stream-api-key)
//   STREAM_API_SECRET  the app's API secret (node: --stream-api-secret)
//   STREAM_BASE_URL_2  optional: a second node of the same cluster
//
// Output: one JSON object per stdout line: {"step": name, "ok": true, ...} per passed step,
// {"step": name, "ok": false, "error": {...}} for the failed one (then exit 1), and
// {"done": true} last when every step passed. Anything else (SDK warnings, stack traces)
// goes to stderr.

import { writeSync } from 'node:fs';

/** Writes one JSON line to stdout, synchronously (so `process.exit` cannot drop it). */
export function report(obj) {
  writeSync(1, JSON.stringify(obj) + '\n');
}

/** Reads the environment contract; a missing or malformed variable is reported as a failed step. */
export function streamEnv({ needServer = true } = {}) {
  const env = {
    baseURL: process.env.STREAM_BASE_URL,
    baseURL2: process.env.STREAM_BASE_URL_2 || undefined,
    apiKey: process.env.STREAM_API_KEY,
    apiSecret: process.env.STREAM_API_SECRET,
  };
  const problems = [];
  for (const [name, value] of [
    ['STREAM_BASE_URL', env.baseURL],
    ['STREAM_API_KEY', env.apiKey],
    ['STREAM_API_SECRET', env.apiSecret],
  ]) {
    if (needServer && !value) problems.push(`${name} is not set`);
  }
  for (const [name, value] of [
    ['STREAM_BASE_URL', env.baseURL],
    ['STREAM_BASE_URL_2', env.baseURL2],
  ]) {
    if (value && !/^https?:\/\/[^/]+(\/.*[^/])?$/.test(value)) {
      problems.push(`${name}=${value} must be an http(s) URL without a trailing slash`);
    }
  }
  if (problems.length) {
    fail('env', new Error(problems.join('; ')));
  }
  return env;
}

/**
 * What an SDK error carries: the message, `code`, `status`, `response.data` (REST errors,
 * `ErrorFromResponse`), and for WebSocket connect failures the `{code, StatusCode, message,
 * isWSFailure}` object that `StableWSConnection.connect` serialises into `err.message`.
 */
export function describeError(err) {
  if (!(err instanceof Error)) return { message: String(err) };
  const out = { name: err.name, message: err.message };
  if (err.code !== undefined) out.code = err.code;
  if (err.status !== undefined) out.status = err.status;
  if (err.StatusCode !== undefined) out.StatusCode = err.StatusCode;
  if (err.isWSFailure !== undefined) out.isWSFailure = err.isWSFailure;
  if (err.response?.data !== undefined) out.response_data = err.response.data;
  const ws = wsErrorOf(err);
  if (ws) {
    out.ws_error = ws;
    if (out.code === undefined && ws.code !== '' && ws.code !== undefined) out.code = ws.code;
  }
  return out;
}

/** The JSON object a failed `connectUser` puts into `err.message`, or undefined. */
export function wsErrorOf(err) {
  try {
    const parsed = JSON.parse(err?.message);
    return parsed && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Throws (failing the current step) unless `cond`; `detail` is reported with it. */
export function expect(cond, what, detail) {
  if (!cond) {
    const err = new Error(`expectation failed: ${what}`);
    if (detail !== undefined) err.detail = detail;
    throw err;
  }
}

/** Reports a failed step and exits 1. */
export function fail(name, err) {
  const error = describeError(err);
  if (err?.detail !== undefined) error.detail = err.detail;
  report({ step: name, ok: false, error });
  if (err instanceof Error && err.stack) process.stderr.write(`${name}: ${err.stack}\n`);
  process.exit(1);
}

/**
 * Runs one step: `fn` returns an object of extra fields to report (or nothing). A throw
 * reports the step as failed and ends the script with exit status 1.
 */
export async function step(name, fn) {
  let extra;
  try {
    extra = await fn();
  } catch (err) {
    fail(name, err);
  }
  report({ step: name, ok: true, ...(extra ?? {}) });
  return extra;
}

/** Final line; exits 0 (the SDK keeps keep-alive agents and timers that would delay exit). */
export function done(extra = {}) {
  report({ done: true, ...extra });
  process.exit(0);
}

/** Decodes a JWT's header and payload (base64url JSON), without verifying it. */
export function decodeJwt(token) {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')),
  };
}

process.on('unhandledRejection', (err) => fail('unhandled_rejection', err));
process.on('uncaughtException', (err) => fail('uncaught_exception', err));

/**
 * Resolves with the first event of `type` on `target` (a client or a channel) that `pred`
 * accepts, or rejects after `ms` (default 10 s).
 */
export function nextEvent(target, type, pred = () => true, ms = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.unsubscribe();
      reject(new Error(`no ${type} event within ${ms / 1000} s`));
    }, ms);
    const sub = target.on(type, (e) => {
      if (pred(e)) {
        clearTimeout(timer);
        sub.unsubscribe();
        resolve(e);
      }
    });
  });
}

/** Options of a user client: the base URL, and room for a loaded CI machine. */
export const userOptions = (baseURL) => ({ baseURL, allowServerSideConnect: true, timeout: 10_000 });
