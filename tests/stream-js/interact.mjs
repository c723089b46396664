// Third slice of the Stream face through the official JS SDK (`stream-chat` 9.53.0): what
// members do besides posting. Needs a fresh node (fixed ids).
//
// Environment (README.md): STREAM_BASE_URL (alice), STREAM_BASE_URL_2 (bob; default the same),
// STREAM_API_KEY, STREAM_API_SECRET.
//
// Steps (one JSON line each, then {"done": true}; the first failure exits 1):
//   setup               alice and bob connected, both watching messaging:room (members alice, bob),
//                       carol upserted, not a member; alice posts "react to me"
//   reaction_new        bob `sendReaction(id, {type:'like'})`: the answer's message has
//                       reaction_counts.like 1 and bob's own reaction; alice gets `reaction.new`
//                       and her state's message shows the like
//   reaction_unique     bob `sendReaction(id, {type:'love'}, {enforce_unique:true})`: counts
//                       {love:1} (the like is gone); alice gets `reaction.updated`
//   reaction_deleted    bob `deleteReaction(id, 'love')`: no counts left; alice gets `reaction.deleted`
//   mark_read           alice posts; bob's read state and `getUnreadCount()` show 2 unread; bob `markRead()`: the request
//                       is sent (config.read_events and own_capabilities allow it), alice gets
//                       `message.read` from bob, and bob's unread count is 0 after a re-query
//   unread_on_connect   alice posts once more: a new connection of bob's gets `me.total_unread_count`
//                       1 and `me.unread_channels` 1 in its handshake
//   typing              bob `keystroke()`: alice gets `typing.start` with user bob; `stopTyping()`:
//                       `typing.stop`
//   notification        a new channel messaging:side with alice and bob, alice not watching it
//                       (a fresh client): a post there reaches her as `notification.message_new`
//   not_member          carol (user token) cannot post to messaging:room: code 17

import { StreamChat } from 'stream-chat';
import { done, expect, nextEvent, step, streamEnv, userOptions } from './harness.mjs';

const env = streamEnv();
const options = userOptions;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const server = new StreamChat(env.apiKey, env.apiSecret, { baseURL: env.baseURL });
const alice = new StreamChat(env.apiKey, options(env.baseURL));
const bob = new StreamChat(env.apiKey, options(env.baseURL2 ?? env.baseURL));
const s = {};

await step('setup', async () => {
  await server.upsertUsers([{ id: 'alice' }, { id: 'bob' }, { id: 'carol' }]);
  await alice.connectUser({ id: 'alice' }, server.createToken('alice'));
  await bob.connectUser({ id: 'bob' }, server.createToken('bob'));
  s.a = alice.channel('messaging', 'room', { members: ['alice', 'bob'] });
  await s.a.watch();
  s.b = bob.channel('messaging', 'room');
  await s.b.watch();
  const got = nextEvent(s.b, 'message.new');
  s.msg = (await s.a.sendMessage({ text: 'react to me' })).message;
  await got;
  return { message_id: s.msg.id };
});

await step('reaction_new', async () => {
  const got = nextEvent(s.a, 'reaction.new');
  const res = await s.b.sendReaction(s.msg.id, { type: 'like' });
  expect(res.message?.reaction_counts?.like === 1, 'the answer counts one like', res.message);
  expect(res.message?.own_reactions?.[0]?.type === 'like', "the answer carries bob's own like", res.message);
  expect(res.reaction?.type === 'like' && res.reaction?.user_id === 'bob', 'the answer carries the reaction', res.reaction);
  const e = await got;
  expect(e.reaction?.type === 'like' && e.user?.id === 'bob', 'reaction.new names the like and bob', e);
  const inState = s.a.state.messages.find((m) => m.id === s.msg.id);
  expect(inState?.reaction_counts?.like === 1, "alice's state shows the like", inState);
  return { counts: res.message.reaction_counts };
});

await step('reaction_unique', async () => {
  const got = nextEvent(s.a, 'reaction.updated');
  const res = await s.b.sendReaction(s.msg.id, { type: 'love' }, { enforce_unique: true });
  const counts = res.message?.reaction_counts;
  expect(JSON.stringify(counts) === '{"love":1}', 'enforce_unique leaves only the love', counts);
  await got;
  return { counts };
});

await step('reaction_deleted', async () => {
  const got = nextEvent(s.a, 'reaction.deleted');
  const res = await s.b.deleteReaction(s.msg.id, 'love');
  const counts = res.message?.reaction_counts ?? {};
  expect(Object.keys(counts).length === 0, 'no reaction is left', counts);
  await got;
  return { counts };
});

await step('mark_read', async () => {
  const got = nextEvent(s.b, 'message.new');
  await s.a.sendMessage({ text: 'unread for bob' });
  await got;
  const before = await bob.channel('messaging', 'room').query({});
  const bobRead = before.read?.find((r) => r.user?.id === 'bob');
  expect(bobRead?.unread_messages === 2, 'bob has the two posts unread', before.read);
  const counts = await bob.getUnreadCount();
  const roomCount = counts.channels?.find((c) => c.channel_id === 'messaging:room');
  expect(counts.total_unread_count === 2 && roomCount?.unread_count === 2, 'getUnreadCount says 2', counts);
  const seen = nextEvent(s.a, 'message.read', (e) => e.user?.id === 'bob');
  const res = await s.b.markRead();
  expect(res !== null && res?.event?.type === 'message.read', 'markRead sent the request', res);
  await seen;
  const after = await bob.channel('messaging', 'room').query({});
  const readAfter = after.read?.find((r) => r.user?.id === 'bob');
  expect(readAfter?.unread_messages === 0, 'nothing is unread for bob after markRead', after.read);
  const countsAfter = await bob.getUnreadCount();
  expect(countsAfter.total_unread_count === 0, 'getUnreadCount says 0 after markRead', countsAfter);
  return { unread_before: bobRead.unread_messages, unread_after: readAfter.unread_messages };
});

await step('unread_on_connect', async () => {
  const got = nextEvent(s.b, 'message.new');
  await s.a.sendMessage({ text: 'one more for bob' });
  await got;
  const again = new StreamChat(env.apiKey, options(env.baseURL2 ?? env.baseURL));
  const health = await again.connectUser({ id: 'bob' }, server.createToken('bob'));
  await again.disconnectUser();
  expect(health?.me?.total_unread_count === 1 && health?.me?.unread_channels === 1,
    "the handshake's me counts the one unread message", health?.me);
  return { total_unread_count: health.me.total_unread_count };
});

await step('typing', async () => {
  const start = nextEvent(s.a, 'typing.start', (e) => e.user?.id === 'bob');
  await s.b.keystroke();
  const e = await start;
  const stop = nextEvent(s.a, 'typing.stop', (e) => e.user?.id === 'bob');
  await s.b.stopTyping();
  await stop;
  return { start_cid: e.cid };
});

await step('notification', async () => {
  await server.channel('messaging', 'side', { members: ['alice', 'bob'], created_by_id: 'bob' }).create();
  const got = nextEvent(alice, 'notification.message_new', (e) => e.cid === 'messaging:side');
  const side = bob.channel('messaging', 'side');
  await side.watch();
  await side.sendMessage({ text: 'psst' });
  const e = await got;
  expect(e.message?.text === 'psst' && e.channel?.cid === 'messaging:side', 'the notification carries the message and its channel', e);
  return { type: e.type };
});

await step('not_member', async () => {
  const carol = new StreamChat(env.apiKey, options(env.baseURL));
  await carol.connectUser({ id: 'carol' }, server.createToken('carol'));
  let code;
  try {
    await carol.channel('messaging', 'room').sendMessage({ text: 'let me in' });
  } catch (err) {
    code = err?.code;
  }
  await carol.disconnectUser();
  expect(code === 17, 'a non-member is refused with code 17', { code });
  return { code };
});

await alice.disconnectUser();
await bob.disconnectUser();
await sleep(10);
done();
