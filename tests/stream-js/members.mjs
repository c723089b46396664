// Channel updates through the official JS SDK (`stream-chat` 9.53.0): data, members, delete.
// Needs a fresh node (fixed ids).
//
// Environment (README.md): STREAM_BASE_URL, STREAM_API_KEY, STREAM_API_SECRET.
//
// Steps (one JSON line each, then {"done": true}; the first failure exits 1):
//   setup            alice (owner) and bob watch messaging:team (members alice, bob); carol is
//                    connected and watches nothing
//   query_members    alice `queryMembers({name:{$autocomplete:'bo'}})`: bob only; `{}`: both
//   update_data      alice `channel.update({name:'Renamed'})`: bob gets `channel.updated` and his
//                    `channel.data.name` is 'Renamed'
//   add_member       alice `addMembers(['carol'])`: bob gets `member.added` for carol, carol gets
//                    `notification.added_to_channel` with the channel
//   member_refused   bob (a plain member) `addMembers(['dave'])`: code 17
//   remove_member    alice `removeMembers(['carol'])`: bob gets `member.removed` for carol
//   update_partial   alice `updatePartial({set:{topic:'rust'}})`: bob's `data.topic` is 'rust'
//   slow_mode        alice `enableSlowMode(30)`: bob's second post is refused with code 60, the
//                    owner posts freely; `disableSlowMode()` lets bob post again
//   hide_show        bob `hide()`: `channel.hidden`, the channel leaves his queryChannels (but
//                    `{hidden:true}` finds it); alice's next post brings it back; `show()`:
//                    `channel.visible`
//   truncate         alice posts, then `truncate()`: bob gets `channel.truncated`, a re-query holds
//                    no message and `truncated_at`
//   stop_watching    bob `stopWatching()`: alice's next post reaches him as
//                    `notification.message_new` (a member who does not watch)
//   delete           alice `channel.delete()`: bob (a member, no longer watching) gets
//                    `notification.channel_deleted`; bob's queryChannels
//                    for the cid then returns nothing

import { StreamChat } from 'stream-chat';
import { done, expect, nextEvent, step, streamEnv, userOptions } from './harness.mjs';

const env = streamEnv();
const options = userOptions;
const server = new StreamChat(env.apiKey, env.apiSecret, { baseURL: env.baseURL });
const clients = {};
const s = {};

await step('setup', async () => {
  await server.upsertUsers([
    { id: 'alice', name: 'Alice' },
    { id: 'bob', name: 'Bob' },
    { id: 'carol' },
    { id: 'dave' },
  ]);
  for (const id of ['alice', 'bob', 'carol']) {
    clients[id] = new StreamChat(env.apiKey, options(env.baseURL));
    await clients[id].connectUser({ id }, server.createToken(id));
  }
  s.a = clients.alice.channel('messaging', 'team', { members: ['alice', 'bob'] });
  await s.a.watch();
  s.b = clients.bob.channel('messaging', 'team');
  await s.b.watch();
  return { members: Object.keys(s.b.state.members).sort() };
});

await step('query_members', async () => {
  const byName = await s.a.queryMembers({ name: { $autocomplete: 'bo' } });
  const ids = byName.members.map((m) => m.user_id);
  expect(JSON.stringify(ids) === '["bob"]', "autocomplete on 'bo' finds bob only", ids);
  const all = await s.a.queryMembers({}, { created_at: 1 });
  expect(all.members.length === 2, 'both members are listed', all.members.map((m) => m.user_id));
  return { autocomplete: ids };
});

await step('update_data', async () => {
  const got = nextEvent(s.b, 'channel.updated');
  await s.a.update({ name: 'Renamed' });
  await got;
  expect(s.b.data?.name === 'Renamed', "bob's channel data shows the new name", s.b.data);
  return { name: s.b.data.name };
});

await step('add_member', async () => {
  const added = nextEvent(s.b, 'member.added', (e) => e.member?.user?.id === 'carol' || e.member?.user_id === 'carol');
  const note = nextEvent(clients.carol, 'notification.added_to_channel', (e) => e.channel?.cid === 'messaging:team');
  await s.a.addMembers(['carol']);
  await added;
  const n = await note;
  expect(Boolean(s.b.state.members.carol), "carol is in bob's member list", Object.keys(s.b.state.members));
  return { notification_cid: n.channel.cid };
});

await step('member_refused', async () => {
  let code;
  try {
    await s.b.addMembers(['dave']);
  } catch (err) {
    code = err?.code;
  }
  expect(code === 17, 'a plain member may not add members', { code });
  return { code };
});

await step('remove_member', async () => {
  const removed = nextEvent(s.b, 'member.removed', (e) => e.user?.id === 'carol');
  await s.a.removeMembers(['carol']);
  await removed;
  expect(!s.b.state.members.carol, "carol left bob's member list", Object.keys(s.b.state.members));
  return { members: Object.keys(s.b.state.members).sort() };
});

await step('update_partial', async () => {
  const got = nextEvent(s.b, 'channel.updated');
  await s.a.updatePartial({ set: { topic: 'rust' } });
  await got;
  expect(s.b.data?.topic === 'rust', "bob's channel data shows the topic", s.b.data);
  return { topic: s.b.data.topic };
});

await step('slow_mode', async () => {
  await s.a.enableSlowMode(30);
  await s.b.sendMessage({ text: 'first' });
  let code;
  try {
    await s.b.sendMessage({ text: 'too soon' });
  } catch (err) {
    code = err?.code;
  }
  expect(code === 60, 'a second message within the cooldown is refused with code 60', { code });
  await s.a.sendMessage({ text: 'owner one' });
  await s.a.sendMessage({ text: 'owner two' });
  await s.a.disableSlowMode();
  await s.b.sendMessage({ text: 'after slow mode' });
  return { code };
});

await step('hide_show', async () => {
  const hiddenEvent = nextEvent(clients.bob, 'channel.hidden', (e) => e.cid === 'messaging:team');
  await s.b.hide();
  await hiddenEvent;
  const cids = async (filter) =>
    (await clients.bob.queryChannels(filter, {}, { watch: false })).map((c) => c.cid);
  const listed = await cids({ members: { $in: ['bob'] } });
  expect(!listed.includes('messaging:team'), "a hidden channel leaves bob's list", listed);
  const asked = await cids({ members: { $in: ['bob'] }, hidden: true });
  expect(asked.includes('messaging:team'), 'the filter hidden:true finds it', asked);
  const got = nextEvent(s.b, 'message.new');
  await s.a.sendMessage({ text: 'wake up' });
  await got;
  const back = await cids({ members: { $in: ['bob'] } });
  expect(back.includes('messaging:team'), 'a new message shows the channel again', back);
  await s.b.hide();
  const visible = nextEvent(clients.bob, 'channel.visible', (e) => e.cid === 'messaging:team');
  await s.b.show();
  await visible;
  return { hidden_listed: listed.length, shown: back.length };
});

await step('truncate', async () => {
  const got = nextEvent(s.b, 'message.new');
  await s.a.sendMessage({ text: 'before the truncation' });
  await got;
  const truncated = nextEvent(s.b, 'channel.truncated');
  await s.a.truncate();
  await truncated;
  const res = await clients.bob.channel('messaging', 'team').query({ messages: { limit: 10 } });
  expect((res.messages ?? []).length === 0, 'no message is left after the truncation', res.messages);
  expect(Boolean(res.channel?.truncated_at), 'the channel says when it was truncated', res.channel);
  return { messages: res.messages.length };
});

await step('stop_watching', async () => {
  await s.b.stopWatching();
  const note = nextEvent(clients.bob, 'notification.message_new', (e) => e.cid === 'messaging:team');
  await s.a.sendMessage({ text: 'after bob stopped watching' });
  const e = await note;
  return { type: e.type };
});

await step('delete', async () => {
  // bob stopped watching: as a member he gets the notification form.
  const got = nextEvent(clients.bob, 'notification.channel_deleted', (e) => e.cid === 'messaging:team');
  await s.a.delete();
  await got;
  const left = await clients.bob.queryChannels({ cid: 'messaging:team' }, {}, { watch: false });
  expect(left.length === 0, 'the deleted channel is not listed', left.map((c) => c.cid));
  return { listed: left.length };
});

for (const c of Object.values(clients)) await c.disconnectUser();
done();
