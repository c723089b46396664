// Second slice of the Stream face through the official JS SDK (`stream-chat` 9.53.0, pinned in
// package.json): channels, members and messages, as a Stream app calls them. Uses the official
// client only; `./harness.mjs` only reads the environment and prints. Needs a fresh node (the
// channel and message ids are fixed, and the first watch expects an empty channel).
//
// Environment (README.md):
//   STREAM_BASE_URL    alice's node, e.g. http://127.0.0.1:41234 (the node's --api-addr; no trailing slash)
//   STREAM_API_KEY     the app's API key   (node: --stream-api-key)
//   STREAM_API_SECRET  the app's API secret (node: --stream-api-secret)
//   STREAM_BASE_URL_2  optional: a second node of the same cluster; bob connects there (default:
//                      STREAM_BASE_URL), so his events come from the other node
//
// Steps (one JSON line each, then {"done": true}; the first failure exits 1):
//   upsert_users            server client `upsertUsers([{id:'alice'}, {id:'bob'}])`
//   connect_users           alice `connectUser` on STREAM_BASE_URL, bob on STREAM_BASE_URL_2 (or the same)
//   alice_watch_general     `alice.channel('messaging','general',{members:['alice','bob'],name:'General'}).watch()`:
//                           cid 'messaging:general', members alice+bob, data.name 'General', no messages
//   bob_watch_general       `bob.channel('messaging','general').watch()`: same channel, name, 2 members
//   send_message            alice `ch.sendMessage({text:'hello bob'})`: message.id a string, text, user.id 'alice'
//   bob_receives_message    bob's `ch.on('message.new')` fires within 10 s with that id and text, and the
//                           message is in bob's `ch.state.messages`
//   alice_receives_own_message  alice gets her own `message.new` too (the JS client adds its own
//                           messages from that event, not from the REST response)
//   send_message_with_id    `sendMessage({id:'m-fixed-1', text:'with id'})` returns id 'm-fixed-1'
//   duplicate_message_id    the same id again is rejected with code 4
//   distinct_channel        `alice.channel('messaging',{members:['alice','bob']}).watch()` twice: the same cid,
//                           not 'messaging:general'
//   distinct_channel_other_member  bob `channel('messaging',{members:['bob','alice']}).watch()`: the same cid
//   query_channels          bob `queryChannels({members:{$in:['bob']}}, {last_message_at:-1}, {limit:10})`:
//                           [general, distinct]; general's messages oldest first (wire and state)
//   get_message             `alice.getMessage(id)` and the server client's: the first message
//   disconnect_users        both `disconnectUser()`

import { StreamChat } from 'stream-chat';
import { done, expect, step, streamEnv } from './harness.mjs';

const env = streamEnv();
const bobURL = env.baseURL2 ?? env.baseURL;
const EVENT_TIMEOUT_MS = 10_000;
// `allowServerSideConnect` only silences the SDK's "do not use connectUser server side" warning;
// `timeout` (SDK default 3000 ms) leaves room for a loaded CI machine.
const userOptions = (baseURL) => ({ baseURL, allowServerSideConnect: true, timeout: 10_000 });

const sorted = (xs) => [...xs].sort();
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const memberIds = (res) => sorted((res.members ?? []).map((m) => m.user_id ?? m.user?.id));

/**
 * Records every REST response body the client receives (an axios interceptor: observation only,
 * the request and the SDK's handling are unchanged). Used to check the wire order of messages,
 * which the client's state re-sorts, and to report which requests a step sent.
 */
function recordWire(client) {
  const log = [];
  const entry = (res) => {
    let sent;
    try {
      sent = typeof res.config?.data === 'string' ? JSON.parse(res.config.data) : res.config?.data;
    } catch {
      sent = undefined;
    }
    return {
      method: res.config?.method?.toUpperCase(),
      path: (res.config?.url ?? '').replace(/^https?:\/\/[^/]+/, ''),
      body_keys: sent && typeof sent === 'object' ? Object.keys(sent) : [],
      status: res.status,
      body: res.data,
    };
  };
  client.axiosInstance.interceptors.response.use(
    (res) => {
      log.push(entry(res));
      return res;
    },
    (err) => {
      if (err.response) log.push(entry(err.response));
      return Promise.reject(err);
    },
  );
  return log;
}

/** Requests recorded since `mark` (an index into the log), without bodies. */
const sentSince = (log, mark) =>
  log.slice(mark).map((e) => `${e.method} ${e.path} {${e.body_keys.join(',')}} -> ${e.status}`);

/**
 * Buffers the `type` events of `channel` from now on (`channel.on`, as an app listens), so an
 * event that arrives before the REST response of the call that caused it is not missed.
 */
function collect(channel, type) {
  const events = [];
  const checks = new Set();
  channel.on(type, (event) => {
    events.push(event);
    for (const check of [...checks]) check();
  });
  return {
    events,
    /** The first buffered or future event matching `pred`, or a rejection after `timeoutMs`. */
    waitFor(pred, what, timeoutMs = EVENT_TIMEOUT_MS) {
      return new Promise((resolve, reject) => {
        let timer;
        const check = () => {
          const event = events.find(pred);
          if (!event) return;
          clearTimeout(timer);
          checks.delete(check);
          resolve(event);
        };
        timer = setTimeout(() => {
          checks.delete(check);
          const err = new Error(`no ${type} event ${what} within ${timeoutMs} ms`);
          err.detail = {
            [`${type}_events_seen`]: events.map((e) => ({ cid: e.cid, message_id: e.message?.id })),
          };
          reject(err);
        }, timeoutMs);
        checks.add(check);
        check();
      });
    },
  };
}

/** Every event a client dispatches (type and cid): an event without `cid` reaches no channel. */
function eventLog(client) {
  const log = [];
  client.on((event) => log.push({ type: event.type, cid: event.cid, message_id: event.message?.id }));
  return log;
}

const server = new StreamChat(env.apiKey, env.apiSecret, { baseURL: env.baseURL, timeout: 10_000 });
const serverWire = recordWire(server);

await step('upsert_users', async () => {
  const res = await server.upsertUsers([
    { id: 'alice', name: 'Alice' },
    { id: 'bob', name: 'Bob' },
  ]);
  expect(res.users?.alice?.id === 'alice' && res.users?.bob?.id === 'bob', 'users map holds alice and bob', res);
  return { user_ids: sorted(Object.keys(res.users)) };
});

const alice = new StreamChat(env.apiKey, userOptions(env.baseURL));
const bob = new StreamChat(env.apiKey, userOptions(bobURL));
const aliceWire = recordWire(alice);
const bobWire = recordWire(bob);
const aliceEvents = eventLog(alice);
const bobEvents = eventLog(bob);

await step('connect_users', async () => {
  const a = await alice.connectUser({ id: 'alice', name: 'Alice' }, server.createToken('alice'));
  const b = await bob.connectUser({ id: 'bob', name: 'Bob' }, server.createToken('bob'));
  expect(a?.me?.id === 'alice' && typeof a.connection_id === 'string', 'alice connected', a);
  expect(b?.me?.id === 'bob' && typeof b.connection_id === 'string', 'bob connected', b);
  return {
    alice_node: env.baseURL,
    bob_node: bobURL,
    alice_connection_id: a.connection_id,
    bob_connection_id: b.connection_id,
  };
});

/** The checks common to both watches of messaging:general. */
function expectGeneral(who, ch, res) {
  expect(res && typeof res === 'object' && res.channel, `${who}: watch() resolves with a channel state`, res);
  expect(res.channel.cid === 'messaging:general', `${who}: response channel.cid === 'messaging:general'`, res.channel);
  expect(res.channel.id === 'general' && res.channel.type === 'messaging', `${who}: channel.id/type`, res.channel);
  expect(ch.cid === 'messaging:general' && ch.id === 'general', `${who}: ch.cid === 'messaging:general'`, {
    cid: ch.cid,
    id: ch.id,
  });
  expect(ch.data?.name === 'General', `${who}: ch.data.name === 'General' (flat custom field on v1)`, ch.data);
  expect(same(memberIds(res), ['alice', 'bob']), `${who}: response members are alice and bob`, res.members);
  expect(
    same(sorted(Object.keys(ch.state.members)), ['alice', 'bob']),
    `${who}: ch.state.members is keyed alice, bob (the SDK keys members by member.user.id)`,
    res.members,
  );
  expect(Array.isArray(res.messages), `${who}: response messages is an array`, res.messages);
  return {
    cid: ch.cid,
    name: ch.data.name,
    members: memberIds(res),
    member_count: res.channel.member_count,
    watcher_count: res.watcher_count,
    read_events: res.channel.config?.read_events,
    own_capabilities: res.channel.own_capabilities,
    created_by: res.channel.created_by?.id,
  };
}

const aliceGeneral = alice.channel('messaging', 'general', { members: ['alice', 'bob'], name: 'General' });
await step('alice_watch_general', async () => {
  const mark = aliceWire.length;
  const res = await aliceGeneral.watch();
  const out = expectGeneral('alice', aliceGeneral, res);
  expect(res.messages.length === 0, 'alice: a new channel has no messages', res.messages);
  expect(aliceGeneral.state.messages.length === 0, 'alice: ch.state.messages is empty', aliceGeneral.state.messages);
  return { ...out, sent: sentSince(aliceWire, mark) };
});

const bobGeneral = bob.channel('messaging', 'general');
await step('bob_watch_general', async () => {
  const mark = bobWire.length;
  const res = await bobGeneral.watch();
  const out = expectGeneral('bob', bobGeneral, res);
  expect(res.messages.length === 0, 'bob: no messages yet', res.messages);
  return { ...out, sent: sentSince(bobWire, mark) };
});

// Listeners first: the events may arrive before sendMessage's REST response.
const bobNew = collect(bobGeneral, 'message.new');
const aliceNew = collect(aliceGeneral, 'message.new');
let first;
let sentAt;

await step('send_message', async () => {
  sentAt = Date.now();
  const res = await aliceGeneral.sendMessage({ text: 'hello bob' });
  const m = res?.message;
  expect(typeof m?.id === 'string' && m.id.length > 0, 'the returned message.id is a non-empty string', res);
  expect(m.text === 'hello bob', "message.text === 'hello bob'", m);
  expect(m.user?.id === 'alice', "message.user.id === 'alice'", m);
  first = m;
  return { message_id: m.id, text: m.text, user_id: m.user.id, cid: m.cid, type: m.type, created_at: m.created_at };
});

await step('bob_receives_message', async () => {
  let event;
  try {
    event = await bobNew.waitFor((e) => e.message?.id === first.id, `for ${first.id}`);
  } catch (err) {
    err.detail = { ...err.detail, bob_client_events: bobEvents };
    throw err;
  }
  const ms = Date.now() - sentAt;
  expect(event.message.text === 'hello bob', "the event's message.text === 'hello bob'", event);
  expect(event.cid === 'messaging:general', "the event's cid === 'messaging:general'", event);
  expect(event.user?.id === 'alice', "the event's user.id === 'alice' (the SDK's own-message test)", event);
  const ids = bobGeneral.state.messages.map((m) => m.id);
  expect(ids.includes(first.id), "the message is in bob's ch.state.messages", ids);
  return {
    within_ms: ms,
    from_other_node: bobURL !== env.baseURL,
    event_keys: sorted(Object.keys(event)),
    watcher_count: event.watcher_count,
    state_message_ids: ids,
    unread_count: bobGeneral.countUnread(),
  };
});

await step('alice_receives_own_message', async () => {
  let event;
  try {
    event = await aliceNew.waitFor((e) => e.message?.id === first.id, `for her own ${first.id}`);
  } catch (err) {
    err.detail = { ...err.detail, alice_client_events: aliceEvents };
    throw err;
  }
  expect(event.user?.id === 'alice', "the event's user.id === 'alice'", event);
  const ids = aliceGeneral.state.messages.map((m) => m.id);
  expect(ids.includes(first.id), "the message is in alice's ch.state.messages", ids);
  return { within_ms: Date.now() - sentAt, state_message_ids: ids };
});

await step('send_message_with_id', async () => {
  const res = await aliceGeneral.sendMessage({ id: 'm-fixed-1', text: 'with id' });
  expect(res?.message?.id === 'm-fixed-1', "the returned message.id === 'm-fixed-1'", res);
  expect(res.message.text === 'with id', "message.text === 'with id'", res.message);
  return { message_id: res.message.id };
});

await step('duplicate_message_id', async () => {
  let res;
  try {
    res = await aliceGeneral.sendMessage({ id: 'm-fixed-1', text: 'with id again' });
  } catch (err) {
    expect(err.code === 4, 'sending an existing message id is rejected with code 4', {
      code: err.code,
      status: err.status,
      message: err.message,
      response_data: err.response?.data,
    });
    return { code: err.code, status: err.status, message: err.response?.data?.message ?? err.message };
  }
  expect(false, 'sending m-fixed-1 twice must fail (code 4) but succeeded', res);
});

let distinctCid;
await step('distinct_channel', async () => {
  const mark = aliceWire.length;
  const d1 = alice.channel('messaging', { members: ['alice', 'bob'] });
  const r1 = await d1.watch();
  const d2 = alice.channel('messaging', { members: ['alice', 'bob'] });
  const r2 = await d2.watch();
  expect(typeof r1?.channel?.cid === 'string' && typeof r1.channel.id === 'string', 'watch() returns channel.cid and channel.id', r1);
  expect(r1.channel.cid === `messaging:${r1.channel.id}` && r1.channel.type === 'messaging', "cid === 'messaging:' + id", r1.channel);
  expect(/^[\w!_-]+$/.test(r1.channel.id), 'the id matches /^[\\w!_-]+$/ (the SDK rejects other ids when it builds the channel from a query)', r1.channel.id);
  expect(d1.cid === r1.channel.cid, 'the channel object takes its cid from the response', { ch_cid: d1.cid, cid: r1.channel.cid });
  expect(r2.channel.cid === r1.channel.cid && d2.cid === d1.cid, 'both watches resolve to the same cid', {
    first: r1.channel.cid,
    second: r2.channel.cid,
  });
  expect(r1.channel.cid !== 'messaging:general', "the distinct channel is not 'messaging:general'", r1.channel.cid);
  expect(same(memberIds(r1), ['alice', 'bob']), 'its members are alice and bob', r1.members);
  distinctCid = r1.channel.cid;
  return {
    cid: distinctCid,
    same_channel_object: d1 === d2,
    sent: sentSince(aliceWire, mark),
  };
});

await step('distinct_channel_other_member', async () => {
  const mark = bobWire.length;
  const d = bob.channel('messaging', { members: ['bob', 'alice'] });
  const res = await d.watch();
  expect(res?.channel?.cid === distinctCid, "bob's watch with the members in another order resolves to the same cid", {
    expected: distinctCid,
    got: res?.channel?.cid,
  });
  return { cid: res.channel.cid, sent: sentSince(bobWire, mark) };
});

await step('query_channels', async () => {
  const mark = bobWire.length;
  const channels = await bob.queryChannels({ members: { $in: ['bob'] } }, { last_message_at: -1 }, { limit: 10 });
  const cids = channels.map((c) => c.cid);
  expect(
    same(cids, ['messaging:general', distinctCid]),
    'queryChannels returns general (latest message) then the distinct channel (no message sorts last)',
    cids,
  );
  const general = channels[0];
  expect(general.data?.name === 'General', "general's data.name === 'General'", general.data);
  const wire = bobWire.slice(mark).find((e) => e.method === 'POST' && e.path === '/channels');
  const wireGeneral = wire?.body?.channels?.find((c) => c.channel?.cid === 'messaging:general');
  const wireIds = (wireGeneral?.messages ?? []).map((m) => m.id);
  expect(
    same(wireIds, [first.id, 'm-fixed-1']),
    "general's messages on the wire are exactly [first, m-fixed-1], oldest first",
    wireGeneral?.messages,
  );
  const stateIds = general.state.messages.map((m) => m.id);
  expect(same(stateIds, [first.id, 'm-fixed-1']), "general's state.messages are [first, m-fixed-1]", stateIds);
  return {
    cids,
    general_messages: stateIds,
    general_last_message_at: wireGeneral?.channel?.last_message_at,
    distinct_last_message_at: wire?.body?.channels?.[1]?.channel?.last_message_at ?? null,
    sent: sentSince(bobWire, mark),
  };
});

await step('get_message', async () => {
  const out = {};
  for (const [who, client] of [
    ['alice', alice],
    ['server', server],
  ]) {
    const res = await client.getMessage(first.id);
    const m = res?.message;
    expect(m?.id === first.id, `${who}: getMessage returns message.id ${first.id}`, res);
    expect(m.text === 'hello bob' && m.user?.id === 'alice', `${who}: text 'hello bob' by alice`, m);
    expect(m.cid === 'messaging:general', `${who}: message.cid === 'messaging:general'`, m);
    out[who] = { id: m.id, text: m.text, user_id: m.user.id, cid: m.cid };
  }
  out.server_requests = serverWire.length;
  return out;
});

await step('disconnect_users', async () => {
  await alice.disconnectUser();
  await bob.disconnectUser();
  return {};
});

done();
