// User lifecycle and guests through the official JS SDK (`stream-chat` 9.53.0): deactivate,
// reactivate, delete, and `setGuestUser`. Needs a fresh node (fixed ids).
//
// Environment (README.md): STREAM_BASE_URL, STREAM_API_KEY, STREAM_API_SECRET.
//
// Steps (one JSON line each, then {"done": true}; the first failure exits 1):
//   setup           server `upsertUsers` dave and erin
//   deactivate      server `deactivateUser('dave')`: the answer's user has `deactivated_at`;
//                   dave's `connectUser` is refused (code 17)
//   reactivate      server `reactivateUser('dave')`: `deactivated_at` gone; dave connects
//   delete          server `deleteUser('erin')` (soft): the answer has `deleted_at`;
//                   `queryUsers({id: 'erin'})` returns nothing; erin's `connectUser` is refused
//   hard_delete     server `deleteUser('dave', {hard_delete: true})`; a second delete is code 16
//   guest           `setGuestUser({id: 'guest-1', name: 'G'})` connects; `client.user.role` is
//                   `guest`; the server sees guest-1 with role guest; the same id again: code 4

import { StreamChat } from 'stream-chat';
import { done, expect, step, streamEnv, wsErrorOf } from './harness.mjs';

const env = streamEnv();
const userOptions = () => ({ baseURL: env.baseURL, allowServerSideConnect: true, timeout: 10_000 });
const server = new StreamChat(env.apiKey, env.apiSecret, { baseURL: env.baseURL });

/** Connects `id` with a fresh client; the error code when refused, else `undefined`. */
async function connectCode(id) {
  const client = new StreamChat(env.apiKey, userOptions());
  try {
    await client.connectUser({ id }, server.createToken(id));
  } catch (err) {
    return err.code ?? wsErrorOf(err)?.code ?? `no code: ${err.message}`;
  }
  await client.disconnectUser();
  return undefined;
}

/** The code of a rejected SDK call, or fails the step when it resolves. */
async function codeOf(promise) {
  try {
    const res = await promise;
    expect(false, 'the call must be refused', res);
  } catch (err) {
    if (err.message?.startsWith('expectation failed')) throw err;
    return err.code ?? err.response?.data?.code;
  }
}

await step('setup', async () => {
  const res = await server.upsertUsers([{ id: 'dave' }, { id: 'erin' }]);
  expect(res.users?.dave && res.users?.erin, 'both users made', res);
  return {};
});

await step('deactivate', async () => {
  const res = await server.deactivateUser('dave');
  expect(res.user?.id === 'dave' && res.user?.deactivated_at, 'the user has deactivated_at', res);
  const code = await connectCode('dave');
  expect(code === 17, 'a deactivated user cannot connect (code 17)', { code });
  return { code, deactivated_at: res.user.deactivated_at };
});

await step('reactivate', async () => {
  const res = await server.reactivateUser('dave');
  expect(res.user?.id === 'dave' && !res.user?.deactivated_at, 'deactivated_at is cleared', res);
  const code = await connectCode('dave');
  expect(code === undefined, 'dave connects again', { code });
  return {};
});

await step('delete', async () => {
  const res = await server.deleteUser('erin');
  expect(res.user?.id === 'erin' && res.user?.deleted_at, 'the user has deleted_at', res);
  const q = await server.queryUsers({ id: 'erin' });
  expect(Array.isArray(q.users) && q.users.length === 0, 'erin is hidden from queryUsers', q);
  const code = await connectCode('erin');
  expect(code === 17, 'a deleted user cannot connect (code 17)', { code });
  return { code };
});

await step('hard_delete', async () => {
  const res = await server.deleteUser('dave', { hard_delete: true });
  expect(res.user?.id === 'dave', 'the answer names dave', res);
  const again = await codeOf(server.deleteUser('dave', { hard_delete: true }));
  expect(again === 16, 'dave is gone (code 16)', { again });
  return { again };
});

await step('guest', async () => {
  const client = new StreamChat(env.apiKey, userOptions());
  const health = await client.setGuestUser({ id: 'guest-1', name: 'G' });
  expect(health?.me?.id === 'guest-1', 'the guest connects', health);
  const role = client.user?.role;
  expect(role === 'guest', 'client.user.role is guest', client.user);
  const q = await server.queryUsers({ id: 'guest-1' });
  expect(q.users?.[0]?.role === 'guest' && q.users[0].name === 'G', 'stored as a guest', q);
  await client.disconnectUser();
  const other = new StreamChat(env.apiKey, userOptions());
  const taken = await codeOf(other.setGuestUser({ id: 'guest-1' }));
  expect(taken === 4, 'a taken id is refused (code 4)', { taken });
  return { role, taken };
});

done();
