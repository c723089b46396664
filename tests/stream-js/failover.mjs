// The leader of a 3-node cluster is killed (kill -9, by the Rust test) while alice sends
// messages through the official JS client (`stream-chat` 9.53.0). Nothing acknowledged may be
// lost or duplicated, and bob, watching on another node, must receive every `message.new`
// exactly once.
//
// Environment (README.md): STREAM_BASE_URL (alice's node), STREAM_BASE_URL_2 (bob's node; both
// followers when the test starts), STREAM_API_KEY, STREAM_API_SECRET, and
//   FAILOVER_MESSAGES  how many messages alice sends (default 60), about 20 a second.
//
// Steps (one JSON line each, then {"done": true}; the first failure exits 1):
//   setup          users upserted, alice and bob connected and watching messaging:failover
//   send_all       alice sends f-0 … f-(N-1) one after the other with client ids. A send that
//                  fails (leader gone, timeout) is retried with the same id until it is
//                  acknowledged or answered "already exists" (code 4: an earlier try was stored);
//                  reports the slowest send (the one that waited for the new leader)
//   bob_receives   bob's `message.new` events: every id exactly once, within 30 s of the last send
//   history        `channel.query({messages:{limit:N+10}})` on bob's node: every id exactly once

import { StreamChat } from 'stream-chat';
import { done, expect, step, streamEnv } from './harness.mjs';

const env = streamEnv();
const N = Number(process.env.FAILOVER_MESSAGES ?? 60);
const CID_ID = 'failover';
const options = (baseURL) => ({ baseURL, allowServerSideConnect: true, timeout: 5_000 });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const server = new StreamChat(env.apiKey, env.apiSecret, { baseURL: env.baseURL });
const alice = new StreamChat(env.apiKey, options(env.baseURL));
const bob = new StreamChat(env.apiKey, options(env.baseURL2 ?? env.baseURL));
const state = {};

await step('setup', async () => {
  await server.upsertUsers([{ id: 'alice' }, { id: 'bob' }]);
  await alice.connectUser({ id: 'alice' }, server.createToken('alice'));
  await bob.connectUser({ id: 'bob' }, server.createToken('bob'));
  state.aliceChannel = alice.channel('messaging', CID_ID, { members: ['alice', 'bob'] });
  await state.aliceChannel.watch();
  state.bobChannel = bob.channel('messaging', CID_ID);
  await state.bobChannel.watch();
  state.seen = new Map();
  state.bobChannel.on('message.new', (e) => {
    const id = e.message?.id;
    if (id) state.seen.set(id, (state.seen.get(id) ?? 0) + 1);
  });
  return { messages: N };
});

await step('send_all', async () => {
  let retries = 0;
  let maxSendMs = 0;
  const errors = [];
  for (let i = 0; i < N; i++) {
    const id = `f-${i}`;
    const started = Date.now();
    const deadline = started + 30_000;
    for (;;) {
      try {
        await state.aliceChannel.sendMessage({ id, text: `message ${i}` });
        break;
      } catch (err) {
        if (err?.code === 4 && String(err?.message).includes('already exists')) break;
        retries += 1;
        if (errors.length < 5) errors.push({ id, code: err?.code, status: err?.status, message: String(err?.message) });
        expect(Date.now() < deadline, `message ${id} acknowledged within 30 s`, { errors });
        await sleep(200);
      }
    }
    maxSendMs = Math.max(maxSendMs, Date.now() - started);
    await sleep(50);
  }
  return { sent: N, retries, max_send_ms: maxSendMs, first_errors: errors };
});

await step('bob_receives', async () => {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && [...Array(N).keys()].some((i) => !state.seen.has(`f-${i}`))) {
    await sleep(100);
  }
  const missing = [...Array(N).keys()].map((i) => `f-${i}`).filter((id) => !state.seen.has(id));
  const duplicated = [...state.seen].filter(([, n]) => n > 1).map(([id, n]) => ({ id, n }));
  expect(missing.length === 0, 'bob received every message', { missing });
  expect(duplicated.length === 0, 'bob received each message once', { duplicated });
  return { received: state.seen.size };
});

await step('history', async () => {
  const res = await state.bobChannel.query({ messages: { limit: N + 10 } });
  const ids = (res.messages ?? []).map((m) => m.id).filter((id) => id.startsWith('f-'));
  const counts = new Map();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  const missing = [...Array(N).keys()].map((i) => `f-${i}`).filter((id) => !counts.has(id));
  const duplicated = [...counts].filter(([, n]) => n > 1);
  expect(missing.length === 0, 'the channel holds every acknowledged message', { missing });
  expect(duplicated.length === 0, 'the channel holds each message once', { duplicated });
  return { stored: ids.length };
});

await alice.disconnectUser();
await bob.disconnectUser();
done();
