// Presence through the official JS SDK (`stream-chat` 9.53.0). Needs a fresh node.
//
// Environment (README.md): STREAM_BASE_URL (alice), STREAM_BASE_URL_2 (bob; default the same),
// STREAM_API_KEY, STREAM_API_SECRET.
//
// Steps (one JSON line each, then {"done": true}; the first failure exits 1):
//   offline_member   alice watches messaging:pres (members alice, bob); bob is not connected: his
//                    member entry says online false
//   comes_online     bob connects: alice gets `user.presence.changed` for bob with online true, and
//                    `queryUsers({id:'bob'}, {}, {presence:true})` says online
//   goes_offline     bob disconnects: alice gets `user.presence.changed` with online false

import { StreamChat } from 'stream-chat';
import { done, expect, nextEvent, step, streamEnv, userOptions } from './harness.mjs';

const env = streamEnv();
const options = userOptions;
const server = new StreamChat(env.apiKey, env.apiSecret, { baseURL: env.baseURL });
const alice = new StreamChat(env.apiKey, options(env.baseURL));
const bob = new StreamChat(env.apiKey, options(env.baseURL2 ?? env.baseURL));
const s = {};

await step('offline_member', async () => {
  await server.upsertUsers([{ id: 'alice' }, { id: 'bob' }]);
  await alice.connectUser({ id: 'alice' }, server.createToken('alice'));
  s.ch = alice.channel('messaging', 'pres', { members: ['alice', 'bob'] });
  const res = await s.ch.watch();
  const bobMember = res.members.find((m) => m.user_id === 'bob');
  const aliceMember = res.members.find((m) => m.user_id === 'alice');
  expect(bobMember?.user?.online === false, 'bob is offline', bobMember);
  expect(aliceMember?.user?.online === true, 'alice (connected) is online', aliceMember);
  return {};
});

await step('comes_online', async () => {
  const got = nextEvent(alice, 'user.presence.changed', (e) => e.user?.id === 'bob' && e.user?.online === true);
  await bob.connectUser({ id: 'bob' }, server.createToken('bob'));
  await got;
  const users = await alice.queryUsers({ id: 'bob' }, {}, { presence: true });
  expect(users.users?.[0]?.online === true, 'queryUsers with presence says bob is online', users.users);
  return {};
});

await step('goes_offline', async () => {
  const got = nextEvent(alice, 'user.presence.changed', (e) => e.user?.id === 'bob' && e.user?.online === false);
  await bob.disconnectUser();
  await got;
  return {};
});

await alice.disconnectUser();
done();
