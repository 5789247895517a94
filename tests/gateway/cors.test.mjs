// The local gateway's CORS rules (scripts/local-gateway.mjs), in front of GATEWAY_UPSTREAM
// (scripts/test points it at the running `cargo lambda watch`); without it, in front of a
// plain HTTP server that answers with CORS headers of its own (which the gateway must drop).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startGateway, parseOrigins } from '../../scripts/local-gateway.mjs';

const LISTED = 'http://localhost:3000';
let gateway, upstream, base;

before(async () => {
  let target = process.env.GATEWAY_UPSTREAM;
  if (!target) {
    upstream = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
      res.end('{"keys":[]}');
    });
    await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
    target = `http://127.0.0.1:${upstream.address().port}`;
  }
  gateway = await startGateway({ port: 0, upstream: target, origins: parseOrigins(`${LISTED}, https://app.example.com`) });
  base = `http://127.0.0.1:${gateway.address().port}`;
});
after(() => {
  gateway?.close();
  upstream?.close();
});

test('a listed origin gets its own origin back, with credentials, never *', async () => {
  const r = await fetch(`${base}/.well-known/jwks.json`, { headers: { origin: LISTED } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('access-control-allow-origin'), LISTED);
  assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
  assert.equal(r.headers.get('vary'), 'Origin');
  assert.ok((await r.json()).keys);
});

test('an unlisted origin gets no CORS header at all (the backend\'s own are dropped)', async () => {
  const r = await fetch(`${base}/.well-known/jwks.json`, { headers: { origin: 'http://evil.localhost:3000' } });
  assert.equal(r.headers.get('access-control-allow-origin'), null);
  assert.equal(r.headers.get('access-control-allow-credentials'), null);
  const none = await fetch(`${base}/.well-known/jwks.json`);
  assert.equal(none.headers.get('access-control-allow-origin'), null);
});

test('a preflight from a listed origin is answered with the methods and headers the client sends', async () => {
  const r = await fetch(`${base}/v2/change-password`, {
    method: 'OPTIONS',
    headers: { origin: LISTED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
  });
  assert.equal(r.status, 204);
  assert.equal(r.headers.get('access-control-allow-origin'), LISTED);
  assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
  assert.equal(r.headers.get('access-control-allow-methods'), 'GET,POST');
  assert.equal(r.headers.get('access-control-allow-headers'), 'content-type,authorization');
  const unlisted = await fetch(`${base}/v2/change-password`, {
    method: 'OPTIONS',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
  });
  assert.equal(unlisted.headers.get('access-control-allow-origin'), null);
  assert.equal(unlisted.headers.get('access-control-allow-methods'), null);
});

test('a wildcard or a path in CORS_ALLOWED_ORIGINS is refused with the variable named', () => {
  assert.throws(() => parseOrigins('*'), /CORS_ALLOWED_ORIGINS/);
  assert.throws(() => parseOrigins('https://*.example.com'), /CORS_ALLOWED_ORIGINS/);
  assert.throws(() => parseOrigins('https://app.example.com/path'), /CORS_ALLOWED_ORIGINS/);
  assert.deepEqual([...parseOrigins(' http://localhost:3000 ,https://a.example ')], ['http://localhost:3000', 'https://a.example']);
});
