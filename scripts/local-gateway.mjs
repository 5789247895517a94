#!/usr/bin/env node
// A local stand-in for the HTTP API's CorsConfiguration (template.yaml), in front of
// `cargo lambda watch --disable-cors`: the same rules API Gateway applies. Origins come from
// CORS_ALLOWED_ORIGINS (exact, comma-separated, never *); a listed origin gets
// Access-Control-Allow-Origin: <origin> with credentials, an unlisted one no CORS header at all;
// preflights are answered here with the allowed methods and headers; the backend's own CORS
// headers are dropped, as API Gateway drops them. No dependencies.
//   GATEWAY_PORT=9001 UPSTREAM=http://127.0.0.1:9000 CORS_ALLOWED_ORIGINS=http://localhost:3000 node scripts/local-gateway.mjs
import http from 'node:http';

// Kept equal to template.yaml's CorsConfiguration.
export const ALLOW_METHODS = 'GET,POST';
export const ALLOW_HEADERS = 'content-type,authorization';
export const EXPOSE_HEADERS = 'retry-after';
export const MAX_AGE = '600';

/** The exact origins of a CORS_ALLOWED_ORIGINS value; a `*` or a path is a configuration error. */
export function parseOrigins(value) {
  const origins = (value ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  for (const o of origins) {
    if (o.includes('*') || !/^https?:\/\/[^/\s]+$/.test(o)) {
      throw new Error(`CORS_ALLOWED_ORIGINS: ${JSON.stringify(o)} is not an exact origin (scheme://host[:port], no *)`);
    }
  }
  return new Set(origins);
}

export function startGateway({ port, upstream, origins, host = '127.0.0.1' }) {
  const target = new URL(upstream);
  const server = http.createServer((req, res) => {
    const origin = req.headers.origin;
    const allowed = origin !== undefined && origins.has(origin);
    const cors = allowed
      ? { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true', 'access-control-expose-headers': EXPOSE_HEADERS, vary: 'Origin' }
      : { vary: 'Origin' };
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      const extra = allowed ? { 'access-control-allow-methods': ALLOW_METHODS, 'access-control-allow-headers': ALLOW_HEADERS, 'access-control-max-age': MAX_AGE } : {};
      res.writeHead(204, { ...cors, ...extra });
      res.end();
      return;
    }
    const up = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        const headers = {};
        for (const [k, v] of Object.entries(upRes.headers)) {
          if (!k.startsWith('access-control-') && k !== 'vary') headers[k] = v;
        }
        res.writeHead(upRes.statusCode, { ...headers, ...cors });
        upRes.pipe(res);
      },
    );
    up.on('error', () => {
      res.writeHead(502, { 'content-type': 'application/json', ...cors });
      res.end('{"message":"the local API does not answer"}');
    });
    req.pipe(up);
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const origins = parseOrigins(process.env.CORS_ALLOWED_ORIGINS);
  const port = Number(process.env.GATEWAY_PORT ?? 9001);
  const upstream = process.env.UPSTREAM ?? 'http://127.0.0.1:9000';
  const server = await startGateway({ port, upstream, origins });
  console.log(`gateway on http://localhost:${server.address().port} -> ${upstream}, CORS for ${[...origins].join(', ') || 'no origin'}`);
}
