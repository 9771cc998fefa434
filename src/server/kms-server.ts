// The AWS-KMS-compatible HTTP endpoint: node:http (or https), `POST /` with the JSON 1.1 protocol and
// SigV4 on every request, `GET /healthz` without. Order of work per request: size-limited body, SigV4
// (before the engine is touched, so a refused request leaves no audit record), target, JSON, then the
// engine call as the authenticated principal. One access-log entry per request, never a body or secret.
// The same listener serves the XKS proxy API under its path (src/server/xks.ts) when one is mounted, and
// GET /metrics (Prometheus text) without authentication, like /healthz.
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { KmsError } from '../kms/errors.js';
import type { Keyward } from '../kms/keyward.js';
import type { Credential } from './credentials.js';
import { MethodNotAllowed, NotFound, RequestAbortedException, RequestEntityTooLargeException } from './errors.js';
import { decodeRequest, encodeError, encodeResponse, invoke, operationOf, OPERATIONS, TARGET_PREFIX, wipeRequest } from './kms-protocol.js';
import { Metrics, METRICS_CONTENT_TYPE } from './metrics.js';
import { SigV4Verifier } from './sigv4.js';
import type { XksLogFields, XksProxy } from './xks.js';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const CONTENT_TYPE = 'application/x-amz-json-1.1';

/** One line of the access log. */
export interface AccessLogEntry {
  time: string;
  requestId: string;
  remote: string | undefined;
  method: string;
  path: string;
  /** The KMS operation, when X-Amz-Target names a known one. */
  operation?: string;
  /** The authenticated principal and its access key id (absent when authentication failed). */
  principal?: string;
  accessKeyId?: string;
  status: number;
  /** The AWS exception name of a failed request (for XKS requests, the XKS errorName). */
  error?: string;
  latencyMs: number;
  /** XKS requests: the external key id and the requestMetadata fields worth logging (never plaintext). */
  xks?: XksLogFields;
}

export type AccessLogger = (entry: AccessLogEntry) => void;

/** Writes each entry as one JSON line to `stream` (default stdout). */
export function jsonLineLogger(stream: NodeJS.WritableStream = process.stdout): AccessLogger {
  return (entry) => void stream.write(`${JSON.stringify(entry)}\n`);
}

export interface KmsServerOptions {
  /** The engine; each request runs as `keyward.as(<authenticated principal>)`, in its region. */
  keyward: Keyward;
  /** Access keys (CredentialStore). */
  credentials: { lookup(accessKeyId: string): Credential | undefined };
  /** The access log (default: JSON lines on stdout). */
  log?: AccessLogger;
  /** Largest request body accepted (default 1 MiB); larger is 413 RequestEntityTooLargeException. */
  maxBodyBytes?: number;
  /** Time to receive a whole request (default 30 s) and its headers (default 10 s). */
  requestTimeoutMs?: number;
  headersTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open (default 5 s). */
  keepAliveTimeoutMs?: number;
  /** The SigV4 window around the server's clock (default 5 min). */
  maxClockSkewMs?: number;
  /** Clock (ms), for tests. */
  now?: () => number;
  /** PEM certificate chain and private key: serve HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** The XKS proxy to serve under its path on this listener (closed with the server). */
  xks?: XksProxy;
  /** false: no GET /metrics (requests are still counted in `metrics`). */
  serveMetrics?: boolean;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The body, refused past `limit` bytes (by Content-Length before reading, else while reading). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = header(req, 'content-length');
  const tooLarge = () => new RequestEntityTooLargeException(`the request body is larger than ${limit} bytes`);
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    let done = false;
    const fail = (e: Error) => {
      if (done) return;
      done = true;
      for (const c of chunks) c.fill(0);
      chunks.length = 0;
      reject(e);
    };
    // After a refusal the rest is still read and dropped, so the connection stays usable (keep-alive).
    req.on('data', (c: Buffer) => {
      if (done) return;
      n += c.length;
      if (n > limit) fail(tooLarge());
      else chunks.push(c);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      const body = Buffer.concat(chunks, n);
      for (const c of chunks) c.fill(0);
      resolve(body);
    });
    // Node reports a connection lost mid-body as 'error' (ECONNRESET, "aborted") or only as 'close'.
    const aborted = () => fail(new RequestAbortedException('the connection closed before the request body ended'));
    req.on('error', aborted);
    req.on('close', aborted);
  });
}

/** A connection's key: its remote address and port (the same for a TLS socket and the TCP socket under it). */
function connectionId(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

/** The AWS KMS JSON endpoint over one engine. */
export class KmsServer {
  readonly server: Server;
  /** Request counts, latencies and errors; feed HSM member health through metrics.setHsmMemberHealth. */
  readonly metrics: Metrics;
  private readonly verifier: SigV4Verifier<Credential>;
  private readonly log: AccessLogger;
  private readonly maxBodyBytes: number;
  private readonly now: () => number;
  private closing = false;
  /** Handlers running (an engine call may outlive its connection when the drain timeout cuts it). */
  private active = 0;
  private drained: (() => void) | undefined;
  /**
   * Open connections (TCP level, so TLS ones mid-handshake too) by remote address and port, with the number
   * of requests being handled on each: close() ends those without one at once.
   */
  private readonly connections = new Map<string, { socket: Socket; busy: number }>();

  constructor(private readonly opts: KmsServerOptions) {
    this.log = opts.log ?? jsonLineLogger();
    this.maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.now = opts.now ?? Date.now;
    this.metrics = new Metrics(() => this.active);
    this.verifier = new SigV4Verifier({
      region: opts.keyward.region, service: 'kms', lookup: (id) => opts.credentials.lookup(id),
      ...(opts.maxClockSkewMs !== undefined ? { maxSkewMs: opts.maxClockSkewMs } : {}),
    });
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    const requestTimeout = opts.requestTimeoutMs ?? 30_000;
    const limits = {
      requestTimeout,
      headersTimeout: Math.min(opts.headersTimeoutMs ?? 10_000, requestTimeout),
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? 5_000,
      // Node checks the two timeouts above only this often (default 30 s): a quarter of the timeout keeps them near exact.
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(requestTimeout / 4))),
    };
    this.server = opts.tls ? createHttpsServer({ ...limits, cert: opts.tls.cert, key: opts.tls.key }, handler) : createHttpServer(limits, handler);
    this.server.on('connection', (socket: Socket) => {
      const id = connectionId(socket);
      this.connections.set(id, { socket, busy: 0 });
      socket.once('close', () => {
        if (this.connections.get(id)?.socket === socket) this.connections.delete(id);
      });
    });
  }

  /** Requests being handled now. */
  get inFlight(): number {
    return this.active;
  }

  /** Starts listening (port 0: an ephemeral port); resolves with the address and base URL. */
  listen(port = 0, host = '127.0.0.1'): Promise<{ host: string; port: number; url: string }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address() as AddressInfo;
        const h = a.family === 'IPv6' ? `[${a.address}]` : a.address;
        resolve({ host: a.address, port: a.port, url: `${this.opts.tls ? 'https' : 'http'}://${h}:${a.port}` });
      });
    });
  }

  /**
   * Graceful shutdown: stops accepting connections, closes idle keep-alive ones, lets requests in flight
   * finish (their responses say Connection: close), and after `timeoutMs` closes whatever is left. Resolves
   * once no handler runs, so the caller may close the engine.
   */
  async close(timeoutMs = 30_000): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
    });
    // Node's server.close() ends idle keep-alive connections, but a connection that has not sent a whole
    // request head (opened ahead by a pool or a load balancer, or sending slowly) counts as busy, and its
    // headers timeout is no longer checked once the server is closed: each such connection held a graceful
    // stop for the whole drain timeout (a TLS one without a ClientHello even past it, until TLS's own 120 s
    // handshake timeout). No request has started on them, so ending them refuses nothing that was begun.
    this.server.closeIdleConnections();
    for (const c of this.connections.values()) if (c.busy === 0) c.socket.destroy();
    const force = setTimeout(() => this.server.closeAllConnections(), timeoutMs);
    force.unref();
    await closed;
    clearTimeout(force);
    if (this.active > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.verifier.clear();
    await this.opts.xks?.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.active++;
    const connection = this.connections.get(connectionId(req.socket));
    if (connection) connection.busy++;
    const started = performance.now();
    const requestId = randomUUID();
    const url = req.url ?? '/';
    const path = url.split('?', 1)[0]!;
    const entry: AccessLogEntry = {
      time: new Date(this.now()).toISOString(), requestId, remote: req.socket.remoteAddress, method: req.method ?? '', path, status: 0, latencyMs: 0,
    };
    const target = header(req, 'x-amz-target');
    if (target?.startsWith(TARGET_PREFIX) && Object.hasOwn(OPERATIONS, target.slice(TARGET_PREFIX.length))) entry.operation = target.slice(TARGET_PREFIX.length);
    res.once('close', () => {
      if (connection) connection.busy--;
      entry.status = res.statusCode;
      const ms = performance.now() - started;
      entry.latencyMs = Math.round(ms * 1000) / 1000;
      this.metrics.observe(entry.operation ?? (path === '/healthz' || path === '/metrics' ? path.slice(1) : 'none'), res.statusCode, entry.error, ms / 1000);
      this.log(entry);
    });
    res.setHeader('x-amzn-RequestId', requestId);
    try {
      if (path === '/healthz') {
        if (req.method !== 'GET' && req.method !== 'HEAD') throw new MethodNotAllowed(`${req.method} ${path}: use GET`);
        this.send(res, this.closing ? 503 : 200, JSON.stringify({ status: this.closing ? 'draining' : 'ok' }), 'application/json');
        return;
      }
      if (path === '/metrics' && this.opts.serveMetrics !== false) {
        if (req.method !== 'GET' && req.method !== 'HEAD') throw new MethodNotAllowed(`${req.method} ${path}: use GET`);
        this.send(res, 200, this.metrics.render(), METRICS_CONTENT_TYPE);
        return;
      }
      const xks = this.opts.xks;
      if (xks?.owns(path)) {
        const r = await xks.handle({ method: req.method ?? '', url, path, rawHeaders: req.rawHeaders, readBody: () => readBody(req, this.maxBodyBytes) });
        if (r.operation) entry.operation = r.operation;
        if (r.principal) entry.principal = r.principal;
        if (r.accessKeyId) entry.accessKeyId = r.accessKeyId;
        if (r.error) entry.error = r.error;
        entry.xks = r.xks;
        this.send(res, r.status, r.body, 'application/json');
        return;
      }
      if (path !== '/') throw new NotFound(`no resource at ${path.slice(0, 200)}; the KMS API is POST /`);
      if (req.method !== 'POST') throw new MethodNotAllowed(`${req.method} /: the KMS API takes POST`);
      const body = await readBody(req, this.maxBodyBytes);
      try {
        const auth = this.verifier.verify({ method: 'POST', url, rawHeaders: req.rawHeaders, body }, this.now());
        entry.principal = auth.credential.principal;
        entry.accessKeyId = auth.accessKeyId;
        // A presigner moves x-amz-* headers into the (signed) query string, X-Amz-Target among them.
        const hoisted = [...new URLSearchParams(url.slice(path.length))].find(([k]) => k.toLowerCase() === 'x-amz-target')?.[1];
        const { name, operation } = operationOf(target ?? hoisted);
        entry.operation = name;
        const request = decodeRequest(operation, body);
        try {
          const result = await invoke(this.opts.keyward.as(auth.credential.principal), operation, request);
          this.send(res, 200, encodeResponse(result));
        } finally {
          wipeRequest(operation, request);
        }
      } finally {
        body.fill(0);
      }
    } catch (e) {
      this.fail(res, entry, e);
    } finally {
      if (--this.active === 0) this.drained?.();
    }
  }

  private fail(res: ServerResponse, entry: AccessLogEntry, e: unknown): void {
    // Engine and protocol errors carry their AWS name and status; anything else is internal, and its
    // message (which could name a path or a value) is not sent.
    const known = e instanceof KmsError;
    const name = known ? e.name : 'KMSInternalException';
    entry.error = name;
    if (res.headersSent || res.destroyed) return;
    this.send(res, known ? e.httpStatus : 500, encodeError(name, known ? e.message : 'internal error'));
  }

  private send(res: ServerResponse, status: number, body: string, type = CONTENT_TYPE): void {
    if (this.closing) res.setHeader('Connection', 'close');
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }
}
