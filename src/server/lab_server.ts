// The prompt lab's HTTP server: Fastify, loopback by default, a random token on every request, the Host header
// checked against the bound address (DNS rebinding), request bodies size-limited and validated by lab_api.ts.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { SpecError } from '../input/spec.js';
import { LabInputError, LabNotFoundError, type LabSession } from '../lab/lab_session.js';
import { TextQueueClosedError } from '../lab/text_queue.js';
import { loadEcharts } from '../report/html_report.js';
import { loadWebBundle } from '../report/web_bundle.js';
import {
  BODY_LIMIT_BYTES,
  cellRequestSchema,
  imageIndexParamsSchema,
  imageScoresQuerySchema,
  LAB_CONTENT_SECURITY_POLICY,
  LAB_ROOT_ELEMENT_ID,
  scoreRequestSchema,
  specRequestSchema,
  TOKEN_COOKIE,
  TOKEN_HEADER,
  type ErrorResponse,
} from './lab_api.js';

export const DEFAULT_LAB_HOST = '127.0.0.1';

export interface LabServerOptions {
  /** Address to bind (default 127.0.0.1). Anything else: anyone who can reach it and has the URL can use it. */
  readonly host?: string;
  /** 0: any free port. */
  readonly port?: number;
  /** The token (default: 32 random bytes, hex). */
  readonly token?: string;
  readonly bodyLimit?: number;
}

export interface LabServer {
  /** The URL to open, token included. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly token: string;
  /** Stops accepting connections and waits for the requests in flight. */
  close(): Promise<void>;
}

/** A request body or query that does not match its schema: 400 with zod's issues. */
class RequestShapeError extends Error {
  constructor(readonly issues: z.core.$ZodIssue[]) {
    super(`the request does not match the API (see src/server/lab_api.ts): ${issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`);
  }
}

function parsed<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw new RequestShapeError(result.error.issues);
  return result.data;
}

const sameToken = (given: string, token: string) => {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
};

/** The cookie header's value of `name` (no cookie library: one cookie, set by us). */
function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return decodeURIComponent(part.slice(at + 1).trim());
  }
  return undefined;
}

/** The token a request carries: cookie, Authorization: Bearer, or X-Zeroshot-Token. */
function requestToken(request: FastifyRequest): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
  const header = request.headers[TOKEN_HEADER];
  return bearer ?? (typeof header === 'string' ? header : undefined) ?? cookieValue(request.headers.cookie, TOKEN_COOKIE);
}

/**
 * Host headers the server answers, with the port: the bound address, localhost, 127.0.0.1 and [::1]; for a wildcard
 * bind (0.0.0.0, ::) the machine's name and every address of its interfaces instead of the wildcard.
 */
function allowedHosts(host: string, port: number): Set<string> {
  const bracketed = (address: string) => (address.includes(':') ? `[${address}]` : address);
  const wildcard = host === '0.0.0.0' || host === '::';
  const own = wildcard
    ? [hostname(), ...Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address))]
    : [host];
  return new Set([...own.map(bracketed), 'localhost', '127.0.0.1', '[::1]'].map((h) => `${h}:${port}`.toLowerCase()));
}

function labPage(): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    // An empty icon: else the browser asks for /favicon.ico, a 404 in its console.
    '<title>zeroshot prompt lab</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/assets/lab.css"></head>',
    `<body><div id="${LAB_ROOT_ELEMENT_ID}"></div><script src="/assets/echarts.js"></script><script src="/assets/lab.js"></script></body></html>`,
    '',
  ].join('\n');
}

function sendError(reply: FastifyReply, status: number, body: ErrorResponse) {
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

/** Starts the lab's server for `session`; resolves once it listens. */
export async function startLabServer(session: LabSession, options: LabServerOptions = {}): Promise<LabServer> {
  const host = options.host ?? DEFAULT_LAB_HOST;
  const token = options.token ?? randomBytes(32).toString('hex');
  const app: FastifyInstance = Fastify({ bodyLimit: options.bodyLimit ?? BODY_LIMIT_BYTES, logger: false, forceCloseConnections: 'idle' });
  let hosts = new Set<string>();

  app.addHook('onRequest', async (request, reply) => {
    reply.header('Content-Security-Policy', LAB_CONTENT_SECURITY_POLICY);
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    reply.header('Cache-Control', 'no-store');
    const hostHeader = (request.headers.host ?? '').toLowerCase();
    if (!hosts.has(hostHeader)) {
      return sendError(reply, 403, { error: `Host '${request.headers.host ?? ''}' is not this server's address; open the URL zeroshot serve printed` });
    }
    const url = new URL(request.url, 'http://lab');
    const queryToken = url.pathname === '/' ? url.searchParams.get('token') : null;
    if (queryToken !== null) {
      if (!sameToken(queryToken, token)) return sendError(reply, 403, { error: 'wrong token: open the URL zeroshot serve printed' });
      // The token leaves the address bar for a cookie only this origin's requests carry.
      reply.header('Set-Cookie', `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`);
      return reply.redirect('/', 303);
    }
    const given = requestToken(request);
    if (given === undefined) return sendError(reply, 401, { error: 'no token: open the URL zeroshot serve printed (it holds ?token=…), or send Authorization: Bearer <token>' });
    if (!sameToken(given, token)) return sendError(reply, 403, { error: 'wrong token: open the URL zeroshot serve printed' });
  });

  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    if (error instanceof RequestShapeError) return sendError(reply, 400, { error: error.message, issues: error.issues.map((i) => ({ path: i.path, message: i.message })) });
    if (error instanceof LabInputError || error instanceof SpecError) return sendError(reply, 400, { error: error.message });
    if (error instanceof LabNotFoundError) return sendError(reply, 404, { error: error.message });
    if (error instanceof TextQueueClosedError) return sendError(reply, 503, { error: error.message });
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    const message = status === 413 ? `the request body is larger than ${options.bodyLimit ?? BODY_LIMIT_BYTES} bytes` : error.message;
    return sendError(reply, status, { error: message });
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 404, { error: `no such endpoint: ${request.method} ${request.url.split('?')[0]}` }));

  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(labPage()));
  app.get('/assets/lab.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').send((await loadWebBundle('lab')).script));
  app.get('/assets/lab.css', async (_request, reply) => reply.type('text/css; charset=utf-8').send((await loadWebBundle('lab')).style));
  app.get('/assets/echarts.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(await loadEcharts()));

  app.get('/api/session', async () => session.session());
  app.post('/api/score', async (request) => {
    const body = parsed(scoreRequestSchema, request.body);
    return session.score(body.spec, body.bootstrap, body.label_map);
  });
  app.get('/api/images/:index/thumbnail', async (request, reply) => {
    const { index } = parsed(imageIndexParamsSchema, request.params);
    const jpeg = await session.thumbnail(index);
    if (!jpeg) return sendError(reply, 404, { error: `image ${index} cannot be read now` });
    return reply.type('image/jpeg').header('Cache-Control', 'private, max-age=3600').send(jpeg);
  });
  app.get('/api/images/:index/scores', async (request) => {
    const { index } = parsed(imageIndexParamsSchema, request.params);
    const { spec } = parsed(imageScoresQuerySchema, request.query);
    return session.imageScores(spec, index);
  });
  app.post('/api/cell', async (request) => {
    const body = parsed(cellRequestSchema, request.body);
    return session.cell(body.spec_hash, body.strategy, body.truth, body.predicted);
  });
  app.post('/api/spec.yaml', async (request, reply) => {
    const { spec } = parsed(specRequestSchema, request.body);
    const yaml = session.specYaml(spec);
    const file = `${spec.name.replace(/[^A-Za-z0-9._-]+/g, '-') || 'spec'}.yaml`;
    return reply.type('text/yaml; charset=utf-8').header('Content-Disposition', `attachment; filename="${file}"`).send(yaml);
  });
  app.post('/api/save-run', async (request) => {
    const { spec, label_map } = parsed(specRequestSchema, request.body);
    return session.saveRun(spec, label_map);
  });

  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);
  hosts = allowedHosts(host, port);
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${urlHost}:${port}/?token=${token}`,
    host,
    port,
    token,
    close: () => app.close(),
  };
}
