// First slice of the Stream face through the official JS SDK (`stream-chat` 9.53.0, pinned in
// package.json): upsert users, user tokens, WebSocket connect, query users, token rejections.
// Uses the official client only; `./harness.mjs` only reads the environment and prints.
//
// Environment (README.md):
//   STREAM_BASE_URL    e.g. http://127.0.0.1:41234 (the node's --api-addr; no trailing slash)
//   STREAM_API_KEY     the app's API key   (node: --stream-api-key)
//   STREAM_API_SECRET  the app's API secret (node: --stream-api-secret)
//   STREAM_BASE_URL_2  optional: a second node of the same cluster (adds step "second_node")
//
// Steps (one JSON line each, then {"done": true}; the first failure exits 1):
//   upsert_users          server client `new StreamChat(key, secret, {baseURL})`,
//                         `upsertUsers([{id:'alice',name:'Alice'}, {id:'bob',name:'Bob'}])`
//   create_tokens         `createToken('alice')`, `createToken('bob')` (local, HS256)
//   connect_user          user client `new StreamChat(key, {baseURL})`,
//                         `connectUser({id:'alice',name:'Alice'}, token)` resolves with the first
//                         WS frame: it must carry `connection_id` and `me.id === 'alice'`
//   query_users           `queryUsers({id: {$in: ['alice','bob']}})` returns both
//   connect_wrong_secret  a token signed with another secret: `connectUser` rejects, code 43
//   connect_expired_token `createToken('alice', now - 60)`: `connectUser` rejects, code 40
//   second_node           (only with STREAM_BASE_URL_2) bob connects there and sees both users
//   disconnect_user       `disconnectUser()` resolves and clears the user

import { StreamChat } from 'stream-chat';
import { decodeJwt, done, expect, step, streamEnv, wsErrorOf } from './harness.mjs';

const env = streamEnv();
// `allowServerSideConnect` only silences the SDK's "do not use connectUser server side" warning.
const userOptions = (baseURL) => ({ baseURL, allowServerSideConnect: true });

const server = new StreamChat(env.apiKey, env.apiSecret, { baseURL: env.baseURL });

await step('upsert_users', async () => {
  const res = await server.upsertUsers([
    { id: 'alice', name: 'Alice' },
    { id: 'bob', name: 'Bob' },
  ]);
  expect(res && typeof res.users === 'object', 'response has a `users` map', res);
  expect(res.users.alice?.id === 'alice', 'users.alice.id === "alice"', res.users);
  expect(res.users.bob?.id === 'bob', 'users.bob.id === "bob"', res.users);
  expect(res.users.alice.name === 'Alice', 'users.alice.name === "Alice"', res.users.alice);
  return { user_ids: Object.keys(res.users).sort(), alice: res.users.alice };
});

const tokens = {};
await step('create_tokens', () => {
  tokens.alice = server.createToken('alice');
  tokens.bob = server.createToken('bob');
  return {
    alice_payload: decodeJwt(tokens.alice).payload,
    bob_payload: decodeJwt(tokens.bob).payload,
  };
});

const alice = new StreamChat(env.apiKey, userOptions(env.baseURL));
await step('connect_user', async () => {
  const health = await alice.connectUser({ id: 'alice', name: 'Alice' }, tokens.alice);
  expect(health && typeof health === 'object', 'connectUser resolves with the first WS frame', health);
  expect(
    typeof health.connection_id === 'string' && health.connection_id.length > 0,
    'the first frame carries a non-empty connection_id',
    health,
  );
  expect(health.me?.id === 'alice', "the first frame's me.id === 'alice'", health);
  return {
    type: health.type,
    connection_id: health.connection_id,
    me_id: health.me.id,
    me_name: health.me.name,
  };
});

await step('query_users', async () => {
  const res = await alice.queryUsers({ id: { $in: ['alice', 'bob'] } });
  const ids = (res.users ?? []).map((u) => u.id).sort();
  expect(
    JSON.stringify(ids) === JSON.stringify(['alice', 'bob']),
    'queryUsers returns exactly alice and bob',
    res,
  );
  return { user_ids: ids };
});

/**
 * `connectUser` with `token` must reject with Stream error `code`. A server rejection arrives
 * as the first WS frame `{error: {code, ...}}`; the SDK rethrows it as an Error whose message
 * is the JSON `{code, StatusCode, message, isWSFailure}` (static tokens are never refreshed).
 */
async function expectConnectRejected(token, code) {
  const client = new StreamChat(env.apiKey, userOptions(env.baseURL));
  let health;
  try {
    health = await client.connectUser({ id: 'alice' }, token);
  } catch (err) {
    const ws = wsErrorOf(err);
    const got = err.code ?? ws?.code;
    expect(got === code, `connectUser rejects with code ${code}`, {
      got,
      message: err.message,
      ws_error: ws,
    });
    return { code: got, status_code: ws?.StatusCode, message: ws?.message ?? err.message };
  }
  await client.disconnectUser();
  expect(false, `connectUser must reject (code ${code}) but resolved`, health);
}

await step('connect_wrong_secret', async () => {
  const other = new StreamChat(env.apiKey, `not-${env.apiSecret}`, { baseURL: env.baseURL });
  return await expectConnectRejected(other.createToken('alice'), 43);
});

await step('connect_expired_token', async () => {
  const expired = server.createToken('alice', Math.floor(Date.now() / 1000) - 60);
  return await expectConnectRejected(expired, 40);
});

if (env.baseURL2) {
  await step('second_node', async () => {
    const bob = new StreamChat(env.apiKey, userOptions(env.baseURL2));
    const health = await bob.connectUser({ id: 'bob', name: 'Bob' }, tokens.bob);
    expect(health?.me?.id === 'bob', "second node: me.id === 'bob'", health);
    const res = await bob.queryUsers({ id: { $in: ['alice', 'bob'] } });
    const ids = (res.users ?? []).map((u) => u.id).sort();
    expect(
      JSON.stringify(ids) === JSON.stringify(['alice', 'bob']),
      'second node: queryUsers returns alice and bob',
      res,
    );
    await bob.disconnectUser();
    return { connection_id: health.connection_id, user_ids: ids };
  });
}

await step('disconnect_user', async () => {
  await alice.disconnectUser();
  expect(alice.userID === undefined, 'disconnectUser clears the user', alice.userID);
  return {};
});

done();
