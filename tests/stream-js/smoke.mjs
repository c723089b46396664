// Smoke check of the pinned official JS SDK (`stream-chat`, see package.json); needs no server.
// Run by tests/tests/stream_sdk.rs through chat_tests::sdk::run_script.
//
// Environment (README.md; all optional here, defaults below): STREAM_BASE_URL, STREAM_API_KEY,
// STREAM_API_SECRET. STREAM_BASE_URL_2 is not used.
//
// One step, "smoke": a server-side client `new StreamChat(key, secret, {baseURL})` mints
// `createToken('alice')`; the line reports the SDK's user agent (it carries the SDK version),
// the token, its decoded header and payload, whether its HS256 signature verifies with the
// secret (node:crypto), and the payload of the client's own server token. Then {"done": true}.

import { createHmac } from 'node:crypto';
import { StreamChat } from 'stream-chat';
import { decodeJwt, done, expect, step } from './harness.mjs';

const apiKey = process.env.STREAM_API_KEY || 'smoke-key';
const apiSecret = process.env.STREAM_API_SECRET || 'smoke-secret-0123456789abcdef0123456789';
const baseURL = process.env.STREAM_BASE_URL || 'http://127.0.0.1:9';

await step('smoke', () => {
  const server = new StreamChat(apiKey, apiSecret, { baseURL });
  const token = server.createToken('alice');
  const { header, payload } = decodeJwt(token);
  const [h, p, sig] = token.split('.');
  const expected = createHmac('sha256', apiSecret).update(`${h}.${p}`).digest('base64url');
  const serverToken = server.tokenManager.getToken();
  expect(typeof serverToken === 'string', 'a server-side client holds a server token');
  return {
    sdk: 'stream-chat',
    user_agent: server.getUserAgent(),
    base_url: server.baseURL,
    token,
    header,
    payload,
    signature_valid: sig === expected,
    server_token_payload: decodeJwt(serverToken).payload,
  };
});

done();
