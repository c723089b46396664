// Fourth slice of the Stream face through the official JS SDK (`stream-chat` 9.53.0): what
// happens to a message after its send. Needs a fresh node (fixed ids).
//
// Environment (README.md): STREAM_BASE_URL (alice), STREAM_BASE_URL_2 (bob; default the same),
// STREAM_API_KEY, STREAM_API_SECRET.
//
// Steps (one JSON line each, then {"done": true}; the first failure exits 1):
//   setup            alice and bob connected, both watching messaging:edits; alice posts "first"
//   update           alice `updateMessage({...message, text})`: the answer has the new text, the
//                    same id and created_at, a later updated_at; bob gets `message.updated`
//   partial          alice `partialUpdateMessage(id, {set: {text, color}})`: text and the custom
//                    field set; bob gets `message.updated`; `unset: ['color']` removes it
//   not_author       bob `updateMessage` and `deleteMessage` of alice's message: code 17
//   soft_delete      alice `deleteMessage(id)`: bob gets `message.deleted` (hard_delete false);
//                    `channel.query()` shows the message with type 'deleted'; an edit or a
//                    reaction of it is refused (code 4)
//   hard_delete      alice `deleteMessage(id2, {hardDelete: true})`: bob gets `message.deleted`
//                    with hard_delete true; the message is gone from the channel and
//                    `getMessage` answers code 16
//   replies          bob replies with `parent_id`: alice gets `message.new` carrying parent_id;
//                    `getReplies(parent, {limit: 10})` holds it; the channel's messages do not;
//                    the parent's reply_count is 1; a reply to a missing parent: code 4

import { StreamChat } from 'stream-chat';
import { done, expect, nextEvent, step, streamEnv, userOptions } from './harness.mjs';

const env = streamEnv();
const options = userOptions;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const server = new StreamChat(env.apiKey, env.apiSecret, { baseURL: env.baseURL });
const alice = new StreamChat(env.apiKey, options(env.baseURL));
const bob = new StreamChat(env.apiKey, options(env.baseURL2 ?? env.baseURL));
const s = {};

/** The Stream error code a call fails with (undefined if it succeeds). */
async function codeOf(call) {
  try {
    await call();
  } catch (err) {
    return err?.code;
  }
  return undefined;
}

/** The channel's messages as a fresh query returns them. */
async function channelMessages(client) {
  const state = await client.channel('messaging', 'edits').query({});
  return state.messages;
}

await step('setup', async () => {
  await server.upsertUsers([{ id: 'alice' }, { id: 'bob' }]);
  await alice.connectUser({ id: 'alice' }, server.createToken('alice'));
  await bob.connectUser({ id: 'bob' }, server.createToken('bob'));
  s.a = alice.channel('messaging', 'edits', { members: ['alice', 'bob'] });
  await s.a.watch();
  s.b = bob.channel('messaging', 'edits');
  await s.b.watch();
  const got = nextEvent(s.b, 'message.new');
  s.msg = (await s.a.sendMessage({ text: 'first' })).message;
  await got;
  return { message_id: s.msg.id };
});

await step('update', async () => {
  const got = nextEvent(s.b, 'message.updated');
  const res = await alice.updateMessage({ ...s.msg, text: 'first, edited' });
  const m = res.message;
  expect(m?.text === 'first, edited' && m?.id === s.msg.id, 'the answer has the new text', m);
  expect(m.created_at === s.msg.created_at, 'created_at is kept', { before: s.msg.created_at, after: m.created_at });
  expect(new Date(m.updated_at) > new Date(s.msg.updated_at), 'updated_at moved', m);
  expect(m.user?.id === 'alice', 'the author is kept', m.user);
  const e = await got;
  expect(e.message?.text === 'first, edited', 'message.updated carries the new text', e);
  const inState = s.b.state.messages.find((x) => x.id === s.msg.id);
  expect(inState?.text === 'first, edited', "bob's state shows the edit", inState);
  return { text: m.text, message_text_updated_at: m.message_text_updated_at ?? null };
});

await step('partial', async () => {
  const got = nextEvent(s.b, 'message.updated', (e) => e.message?.text === 'partly');
  const res = await alice.partialUpdateMessage(s.msg.id, { set: { text: 'partly', color: 'blue' } });
  expect(res.message?.text === 'partly' && res.message?.color === 'blue', 'set text and a custom field', res.message);
  await got;
  const unset = await alice.partialUpdateMessage(s.msg.id, { unset: ['color'] });
  expect(unset.message?.text === 'partly' && unset.message?.color === undefined, 'unset removes the custom field only', unset.message);
  return { text: res.message.text, color: res.message.color };
});

await step('not_author', async () => {
  const edit = await codeOf(() => bob.updateMessage({ id: s.msg.id, text: 'mine now' }));
  const del = await codeOf(() => bob.deleteMessage(s.msg.id));
  expect(edit === 17 && del === 17, "bob may not edit or delete alice's message", { edit, del });
  return { edit_code: edit, delete_code: del };
});

await step('soft_delete', async () => {
  const got = nextEvent(s.b, 'message.deleted');
  const res = await alice.deleteMessage(s.msg.id);
  expect(res.message?.type === 'deleted' && res.message?.deleted_at, 'the answer is the deleted message', res.message);
  const e = await got;
  expect(e.hard_delete === false && e.message?.id === s.msg.id, 'message.deleted, soft', e);
  const messages = await channelMessages(bob);
  const kept = messages.find((x) => x.id === s.msg.id);
  expect(kept?.type === 'deleted', 'the query shows the message as deleted', messages);
  const edit = await codeOf(() => alice.updateMessage({ id: s.msg.id, text: 'back' }));
  const react = await codeOf(() => s.b.sendReaction(s.msg.id, { type: 'like' }));
  expect(edit === 4 && react === 4, 'a deleted message takes no edit or reaction', { edit, react });
  return { type: kept.type, edit_code: edit, reaction_code: react };
});

await step('hard_delete', async () => {
  const posted = nextEvent(s.b, 'message.new');
  const m = (await s.a.sendMessage({ text: 'to vanish' })).message;
  await posted;
  const got = nextEvent(s.b, 'message.deleted', (e) => e.message?.id === m.id);
  await alice.deleteMessage(m.id, { hardDelete: true });
  const e = await got;
  expect(e.hard_delete === true, 'message.deleted, hard', e);
  const messages = await channelMessages(bob);
  expect(!messages.some((x) => x.id === m.id), 'the message is gone from the channel', messages);
  const code = await codeOf(() => alice.getMessage(m.id));
  expect(code === 16, 'getMessage of a hard-deleted message: code 16', { code });
  return { hard_delete: e.hard_delete, get_code: code };
});

await step('replies', async () => {
  const posted = nextEvent(s.b, 'message.new');
  const parent = (await s.a.sendMessage({ text: 'thread start' })).message;
  await posted;
  const got = nextEvent(s.a, 'message.new', (e) => e.message?.parent_id === parent.id);
  const reply = (await s.b.sendMessage({ text: 'a reply', parent_id: parent.id })).message;
  expect(reply?.parent_id === parent.id && reply?.type === 'reply', 'the answer is a reply', reply);
  await got;
  const res = await s.a.getReplies(parent.id, { limit: 10 });
  const ids = res.messages.map((x) => x.id);
  expect(ids.length === 1 && ids[0] === reply.id, 'getReplies holds the reply', ids);
  const messages = await channelMessages(alice);
  expect(!messages.some((x) => x.id === reply.id), "the reply is not among the channel's messages", messages.map((x) => x.id));
  const p = messages.find((x) => x.id === parent.id);
  expect(p?.reply_count === 1, "the parent's reply_count is 1", p);
  const missing = await codeOf(() => s.b.sendMessage({ text: 'orphan', parent_id: 'no-such-message' }));
  expect(missing === 4, 'a reply to a missing parent: code 4', { missing });
  return { replies: ids.length, reply_count: p.reply_count, missing_parent_code: missing };
});

await alice.disconnectUser();
await bob.disconnectUser();
await sleep(10);
done();
