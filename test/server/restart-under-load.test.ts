// A graceful restart under load loses no acknowledged operation. The built `keyward serve` runs on a fresh
// store while concurrent SigV4-signed clients (keep-alive) write: CreateKey (unique description and tag),
// CreateAlias, TagResource, Encrypt and GenerateDataKey (each ciphertext kept with its plaintext), and a
// ScheduleKeyDeletion → CancelKeyDeletion → EnableKey cycle. Meanwhile the server is stopped with SIGTERM and
// a new one started on the same port, several times; each SIGTERM finds a request held in flight (which must
// be answered) and connections that began no request (which must not hold the stop). A request that gets a
// complete 200 is acknowledged; one refused at the connection (or with 503) is retried unchanged. Afterwards
// a fresh server must show every acknowledged write and decrypt every ciphertext, and the audit log must
// verify and hold exactly one Success record per acknowledged write: a refused attempt left no trace, so a
// retry never doubled an effect. The same on PostgreSQL with two nodes, one restarting, one serving on.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { copyFileSync, mkdirSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, describe, expect, it } from 'vitest';
import { createUnsealKeyFile } from '../../src/keys/unseal.js';
import { Keyward } from '../../src/kms/keyward.js';
import { createCredential } from '../../src/server/credentials.js';
import { keyward, ok, requireBuild, tempDirs } from '../cli/_cli.js';
import { cliSpawner, type Running } from '../cli/_serve.js';
import { startPostgres, type TestPostgres } from '../store/_postgres.js';
import { NodeSha256 } from './_sha256.js';

requireBuild();
const tmp = tempDirs();
const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const PRINCIPAL = `arn:aws:iam::${ACCOUNT}:user/alice`;
const RESTARTS = 3;
/** Acknowledged writes each server must serve before it is restarted (and after the last restart). */
const ACKS_PER_PHASE = 40;
/** Longest a SIGTERMed server may take to exit: far below --drain-timeout, so idle keep-alive connections cannot hold it. */
const EXIT_BOUND_MS = 10_000;
const DRAIN_TIMEOUT_S = 30;
/** How long a client keeps retrying one operation refused by a restarting server. */
const RETRY_FOR_MS = 30_000;

const cli = cliSpawner();

const sleep = (ms: number) => new Promise((w) => setTimeout(w, ms));

/** Waits until `cond` holds, polling; fails after `ms` with `what`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

// --- servers ---------------------------------------------------------------------------------------------

interface Node extends Running {
  port: number;
  /** When the test saw "listening" (Date.now()). */
  listeningAt: number;
}

/** `keyward serve` on `dir`; `postgres`: on that database (given as KEYWARD_POSTGRES_URL). */
async function serve(dir: string, port: number, postgres?: string): Promise<Node> {
  const s = await cli.ready(['--dir', dir, 'serve', '--port', String(port), '--quiet', '--drain-timeout', String(DRAIN_TIMEOUT_S)], {
    match: /listening on http:\/\/127\.0\.0\.1:(\d+)/, env: postgres !== undefined ? { KEYWARD_POSTGRES_URL: postgres } : {},
  });
  return { ...s, port: Number(s.match[1]), listeningAt: s.matchedAt };
}

// --- a signing client that tells acknowledged, refused and truncated answers apart -------------------------

type Outcome = 'ok' | 'refused' | 'unavailable' | 'truncated' | 'error';

interface Attempt {
  op: string;
  /** Which server (node label) the attempt went to. */
  node: string;
  start: number;
  end: number;
  outcome: Outcome;
  status?: number;
  detail?: string;
}

interface Answer {
  outcome: Outcome;
  status?: number;
  detail?: string;
  json?: Record<string, unknown>;
}

class Client {
  // An idle socket is dropped after 2 s, before the server's 5 s keep-alive timeout could close it under a
  // request being sent (a refusal that has nothing to do with a restart).
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64, timeout: 2_000 });
  private readonly signer: SignatureV4;
  /** Every attempt made, in order of completion. */
  readonly attempts: Attempt[] = [];

  /** Set when the test has failed: refusals are no longer retried, so the workers end at once. */
  abandoned = false;

  constructor(readonly node: string, readonly port: number, cred: { AccessKeyId: string; SecretAccessKey: string }) {
    this.signer = new SignatureV4({
      credentials: { accessKeyId: cred.AccessKeyId, secretAccessKey: cred.SecretAccessKey }, region: REGION, service: 'kms', sha256: NodeSha256,
    });
  }

  /** One signed request: 'ok' only for a 200 whose whole body (Content-Length) arrived and parses. */
  async attempt(op: string, payload: object): Promise<Answer> {
    const body = JSON.stringify(payload);
    const signed = await this.signer.sign(new HttpRequest({
      method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: this.port, path: '/', body,
      headers: { host: `127.0.0.1:${this.port}`, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${op}` },
    }));
    const start = Date.now();
    const answer = await new Promise<Answer>((resolve) => {
      let settled = false;
      let responded = false;
      const done = (a: Answer) => {
        if (settled) return;
        settled = true;
        resolve(a);
      };
      const r = request({ host: '127.0.0.1', port: this.port, method: 'POST', path: '/', headers: signed.headers, agent: this.agent }, (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        let ended = false;
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => done({ outcome: 'truncated', status: res.statusCode, detail: e.message }));
        res.on('end', () => {
          ended = true;
          const got = Buffer.concat(chunks);
          const declared = Number(res.headers['content-length']);
          if (res.complete !== true || declared !== got.length) {
            done({ outcome: 'truncated', status: res.statusCode, detail: `${got.length} of ${res.headers['content-length']} bytes` });
            return;
          }
          let json: Record<string, unknown>;
          try {
            json = JSON.parse(got.toString('utf8')) as Record<string, unknown>;
          } catch {
            done({ outcome: 'truncated', status: res.statusCode, detail: 'body is not JSON' });
            return;
          }
          const status = res.statusCode!;
          if (status === 200) done({ outcome: 'ok', status, json });
          else if (status === 503) done({ outcome: 'unavailable', status, json });
          else done({ outcome: 'error', status, detail: `${String(json.__type)}: ${String(json.message)}`, json });
        });
        res.on('close', () => {
          if (!ended) done({ outcome: 'truncated', status: res.statusCode, detail: 'connection closed mid-response' });
        });
      });
      r.setTimeout(60_000, () => r.destroy(new Error('no answer in 60 s')));
      // Before any response byte: the connection was refused or closed with the request unanswered.
      r.on('error', (e: NodeJS.ErrnoException) => {
        if (responded) done({ outcome: 'truncated', detail: e.message });
        else done({ outcome: /no answer/.test(e.message) ? 'error' : 'refused', detail: e.code ?? e.message });
      });
      r.end(body);
    });
    this.attempts.push({ op, node: this.node, start, end: Date.now(), outcome: answer.outcome, ...(answer.status !== undefined ? { status: answer.status } : {}), ...(answer.detail !== undefined ? { detail: answer.detail } : {}) });
    return answer;
  }

  /** Retries an operation refused by a restarting server, unchanged; the 200's body, or undefined on any other answer. */
  async call(op: string, payload: object, unexpected: string[]): Promise<Record<string, unknown> | undefined> {
    const end = Date.now() + RETRY_FOR_MS;
    for (;;) {
      const a = await this.attempt(op, payload);
      if (a.outcome === 'ok') return a.json!;
      if ((a.outcome === 'refused' || a.outcome === 'unavailable') && Date.now() < end && !this.abandoned) {
        await sleep(20);
        continue;
      }
      unexpected.push(`${this.node} ${op} ${JSON.stringify(payload).slice(0, 120)} -> ${a.outcome} ${a.status ?? ''} ${a.detail ?? ''}`);
      return undefined;
    }
  }

  destroy(): void {
    this.agent.destroy();
  }
}

// --- the load and the model of what it was acknowledged -------------------------------------------------

type KeyState = 'Enabled' | 'PendingDeletion' | 'Disabled';

interface KeyModel {
  id: string;
  arn: string;
  description: string;
  tags: Record<string, string>;
  aliases: string[];
  state: KeyState;
}

interface Sealed {
  keyArn: string;
  blob: string;
  plaintext: string;
  context?: Record<string, string>;
}

interface Model {
  keys: KeyModel[];
  sealed: Sealed[];
  /** Acknowledged writes per operation. */
  acked: Record<string, number>;
  /** Anything but a 200 or a clean refusal. */
  unexpected: string[];
}

const WRITE_OPS = ['CreateKey', 'CreateAlias', 'TagResource', 'Encrypt', 'GenerateDataKey', 'ScheduleKeyDeletion', 'CancelKeyDeletion', 'EnableKey'];
const CYCLE = ['CreateKey', 'Encrypt', 'TagResource', 'GenerateDataKey', 'CreateAlias', 'Lifecycle', 'Encrypt', 'GenerateDataKey'] as const;

function newModel(): Model {
  return { keys: [], sealed: [], acked: Object.fromEntries(WRITE_OPS.map((op) => [op, 0])), unexpected: [] };
}

function totalAcked(m: Model): number {
  return Object.values(m.acked).reduce((a, b) => a + b, 0);
}

/** One client loop: writes on its own keys (so the last acknowledged state of each is well defined) until stopped. */
async function worker(w: string, client: Client, m: Model, stopped: () => boolean): Promise<void> {
  const mine: KeyModel[] = [];
  let n = 0;
  const ack = (op: string) => m.acked[op]!++;
  while (!stopped() && m.unexpected.length === 0) {
    const id = `${w}-${++n}`;
    const step = mine.length < 2 ? 'CreateKey' : CYCLE[n % CYCLE.length]!;
    // mine[0] stays Enabled, so there is always a key to encrypt under.
    const enabled = mine.filter((k) => k.state === 'Enabled');
    const key = enabled[n % enabled.length]!;
    // A key pending deletion takes no tags or aliases.
    const live = mine.filter((k) => k.state !== 'PendingDeletion');
    if (step === 'CreateKey') {
      const description = `load ${id}`;
      const r = await client.call('CreateKey', { Description: description, Tags: [{ TagKey: 'origin', TagValue: id }] }, m.unexpected);
      if (!r) return;
      const meta = r.KeyMetadata as { KeyId: string; Arn: string; Description: string };
      expect(meta.Description).toBe(description);
      const k: KeyModel = { id: meta.KeyId, arn: meta.Arn, description, tags: { origin: id }, aliases: [], state: 'Enabled' };
      mine.push(k);
      m.keys.push(k);
      ack('CreateKey');
    } else if (step === 'Encrypt') {
      const plaintext = randomBytes(1 + (n % 200)).toString('base64');
      const context = { worker: w, request: id };
      const r = await client.call('Encrypt', { KeyId: key.id, Plaintext: plaintext, EncryptionContext: context }, m.unexpected);
      if (!r) return;
      m.sealed.push({ keyArn: key.arn, blob: r.CiphertextBlob as string, plaintext, context });
      ack('Encrypt');
    } else if (step === 'GenerateDataKey') {
      const r = await client.call('GenerateDataKey', { KeyId: key.id, KeySpec: 'AES_256' }, m.unexpected);
      if (!r) return;
      m.sealed.push({ keyArn: key.arn, blob: r.CiphertextBlob as string, plaintext: r.Plaintext as string });
      ack('GenerateDataKey');
    } else if (step === 'TagResource') {
      const k = live[n % live.length]!;
      const tag = `t${n}`;
      if (!(await client.call('TagResource', { KeyId: k.id, Tags: [{ TagKey: tag, TagValue: id }] }, m.unexpected))) return;
      k.tags[tag] = id;
      ack('TagResource');
    } else if (step === 'CreateAlias') {
      const k = live[n % live.length]!;
      const alias = `alias/load-${id}`;
      // A retried CreateAlias whose first attempt took effect would fail with AlreadyExistsException.
      if (!(await client.call('CreateAlias', { AliasName: alias, TargetKeyId: k.id }, m.unexpected))) return;
      k.aliases.push(alias);
      ack('CreateAlias');
    } else {
      // Enabled → PendingDeletion → Disabled → Enabled on the worker's second key; a retried attempt whose
      // first one took effect would find the key in the wrong state (KMSInvalidStateException).
      const k = mine[1]!;
      const [op, next]: [string, KeyState] = k.state === 'Enabled' ? ['ScheduleKeyDeletion', 'PendingDeletion']
        : k.state === 'PendingDeletion' ? ['CancelKeyDeletion', 'Disabled'] : ['EnableKey', 'Enabled'];
      if (!(await client.call(op, { KeyId: k.id, ...(op === 'ScheduleKeyDeletion' ? { PendingWindowInDays: 7 } : {}) }, m.unexpected))) return;
      k.state = next;
      ack(op);
    }
  }
}

/**
 * A CreateKey held in flight across SIGTERM: the server has its headers and part of its body when the signal
 * is sent; the rest follows once the server says it is stopping. Returns `finish` and the answer.
 */
async function holdInFlight(client: Client, description: string, cred: { AccessKeyId: string; SecretAccessKey: string }): Promise<{ finish: () => void; answer: Promise<Answer> }> {
  const port = client.port;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  // One answered request first, so the server has accepted this connection before the held one is sent on it.
  await new Promise<void>((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => res.resume().on('end', resolve));
    r.on('error', reject);
    r.end();
  });
  const signer = new SignatureV4({ credentials: { accessKeyId: cred.AccessKeyId, secretAccessKey: cred.SecretAccessKey }, region: REGION, service: 'kms', sha256: NodeSha256 });
  const body = JSON.stringify({ Description: description });
  const signed = await signer.sign(new HttpRequest({
    method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port, path: '/', body,
    headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.CreateKey' },
  }));
  let r!: ReturnType<typeof request>;
  const answer = new Promise<Answer>((resolve) => {
    r = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: signed.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => resolve({ outcome: 'truncated', detail: e.message }));
      res.on('end', () => {
        const got = Buffer.concat(chunks);
        if (Number(res.headers['content-length']) !== got.length) resolve({ outcome: 'truncated', status: res.statusCode });
        else resolve({ outcome: res.statusCode === 200 ? 'ok' : 'error', status: res.statusCode, json: JSON.parse(got.toString('utf8')) as Record<string, unknown> });
      });
    });
    r.on('error', (e) => resolve({ outcome: 'refused', detail: e.message }));
    r.write(body.slice(0, 5));
  });
  // A request on another connection answered after those bytes were written: the server's event loop has
  // read them (loopback delivers in order of writing, and one poll sees both sockets readable).
  await new Promise<void>((resolve, reject) => {
    const h = request({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => res.resume().on('end', resolve));
    h.on('error', reject);
    h.end();
  });
  await sleep(50);
  return {
    finish: () => r.end(body.slice(5)),
    answer: answer.finally(() => agent.destroy()),
  };
}

interface RestartRecord {
  killedAt: number;
  exitedAt: number;
  code: number | null;
  /** N of "stopping, N request(s) in flight". */
  inFlightAtSigterm: number;
  relistenedAt: number;
}

/** SIGTERM `node` with a CreateKey held in flight, wait for its exit, start its successor on the same port. */
/**
 * A connection that has begun no request: silent (opened ahead, as pools and load balancers do), or with
 * `head`, part of a request head. Resolves with the bytes it received once the server has closed it.
 */
async function idleConnection(port: number, head?: string): Promise<{ closed: Promise<number> }> {
  const socket = connect({ host: '127.0.0.1', port });
  let received = 0;
  socket.on('data', (c: Buffer) => (received += c.length));
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(received)));
  await once(socket, 'connect');
  if (head !== undefined) socket.write(head);
  return { closed };
}

async function restart(node: Node, start: () => Promise<Node>, client: Client, m: Model, cred: { AccessKeyId: string; SecretAccessKey: string }, label: string): Promise<{ next: Node; record: RestartRecord }> {
  // Neither may hold the stop: they have begun no request (the held one below makes sure the server took them).
  const silent = await idleConnection(node.port);
  const partial = await idleConnection(node.port, 'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: TrentService.CreateKey\r\n');
  const held = await holdInFlight(client, `held ${label}`, cred);
  const stderrBefore = node.stderr().length;
  const killedAt = Date.now();
  node.child.kill('SIGTERM');
  let inFlightAtSigterm = -1;
  await until(() => {
    const s = /SIGTERM: stopping, (\d+) request\(s\) in flight/.exec(node.stderr().slice(stderrBefore));
    if (s) inFlightAtSigterm = Number(s[1]);
    return s !== null;
  }, EXIT_BOUND_MS, `${label}: the stopping message`);
  held.finish();
  const answer = await held.answer;
  expect(answer, `${label}: the request held in flight at SIGTERM`).toMatchObject({ outcome: 'ok', status: 200 });
  const meta = answer.json!.KeyMetadata as { KeyId: string; Arn: string };
  m.keys.push({ id: meta.KeyId, arn: meta.Arn, description: `held ${label}`, tags: {}, aliases: [], state: 'Enabled' });
  m.acked.CreateKey!++;

  const exit = await Promise.race([node.exited, sleep(EXIT_BOUND_MS).then(() => undefined)]);
  expect(exit, `${label}: the server exits within ${EXIT_BOUND_MS} ms of SIGTERM; stderr: ${node.stderr()}`).toBeDefined();
  expect(exit!.code, node.stderr()).toBe(0);
  expect(node.stderr()).toMatch(/keyward serve: stopped\n$/);
  expect([await silent.closed, await partial.closed], `${label}: connections without a request are closed unanswered`).toEqual([0, 0]);
  const next = await start();
  expect(next.port).toBe(node.port);
  return { next, record: { killedAt, exitedAt: exit!.at, code: exit!.code, inFlightAtSigterm, relistenedAt: next.listeningAt } };
}

/**
 * The load's phases: ACKS_PER_PHASE acknowledged writes, some of them through the restarting node's current
 * server (listening since `since()`), then a restart; RESTARTS times, and one more phase after the last.
 */
async function drive(m: Model, restarting: Client, since: () => number, restartOnce: (r: number) => Promise<void>): Promise<void> {
  const phase = async (what: string) => {
    const base = totalAcked(m);
    const from = since();
    const through = () => restarting.attempts.filter((x) => x.outcome === 'ok' && x.start >= from).length;
    await until(() => m.unexpected.length > 0 || (totalAcked(m) >= base + ACKS_PER_PHASE && through() >= 5), 30_000, `${ACKS_PER_PHASE} acknowledged writes ${what}`);
    expect(m.unexpected).toEqual([]);
  };
  for (let r = 1; r <= RESTARTS; r++) {
    await phase(`before restart ${r}`);
    await restartOnce(r);
  }
  await phase('after the last restart');
}

// --- verification ------------------------------------------------------------------------------------------

async function listAll(client: Client, op: 'ListKeys' | 'ListAliases', field: 'Keys' | 'Aliases', unexpected: string[]): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let marker: string | undefined;
  do {
    const r = await client.call(op, { Limit: 100, ...(marker ? { Marker: marker } : {}) }, unexpected);
    expect(r, unexpected.join('\n')).toBeDefined();
    out.push(...(r![field] as Record<string, unknown>[]));
    marker = r!.Truncated ? (r!.NextMarker as string) : undefined;
  } while (marker);
  return out;
}

/** Runs `fn` over `items`, `width` at a time. */
async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

/** Every acknowledged write is visible through `client`, and every acknowledged ciphertext decrypts. */
async function verifyVisible(client: Client, m: Model): Promise<void> {
  const unexpected: string[] = [];
  // Exactly the acknowledged keys: a refused CreateKey that was retried made no second key.
  const listed = (await listAll(client, 'ListKeys', 'Keys', unexpected)).map((k) => k.KeyId as string);
  expect(listed.slice().sort()).toEqual(m.keys.map((k) => k.id).sort());

  await pool(m.keys, 8, async (k) => {
    const d = await client.call('DescribeKey', { KeyId: k.id }, unexpected);
    const meta = d?.KeyMetadata as { Description: string; KeyState: string; DeletionDate?: number } | undefined;
    expect([meta?.Description, meta?.KeyState], k.id).toEqual([k.description, k.state]);
    expect(meta?.DeletionDate !== undefined, `${k.id} DeletionDate`).toBe(k.state === 'PendingDeletion');
    const t = await client.call('ListResourceTags', { KeyId: k.id, Limit: 50 }, unexpected);
    const tags = Object.fromEntries((t?.Tags as { TagKey: string; TagValue: string }[]).map((x) => [x.TagKey, x.TagValue]));
    expect(tags, k.id).toEqual(k.tags);
  });
  const aliases = (await listAll(client, 'ListAliases', 'Aliases', unexpected)).filter((a) => (a.AliasName as string).startsWith('alias/load-'));
  expect(Object.fromEntries(aliases.map((a) => [a.AliasName, a.TargetKeyId])))
    .toEqual(Object.fromEntries(m.keys.flatMap((k) => k.aliases.map((a) => [a, k.id]))));

  // Decrypt needs usable keys: cancel pending deletions and enable (the states were checked above).
  await pool(m.keys.filter((k) => k.state !== 'Enabled'), 8, async (k) => {
    if (k.state === 'PendingDeletion') await client.call('CancelKeyDeletion', { KeyId: k.id }, unexpected);
    await client.call('EnableKey', { KeyId: k.id }, unexpected);
  });
  let decrypted = 0;
  await pool(m.sealed, 8, async (s) => {
    const r = await client.call('Decrypt', { CiphertextBlob: s.blob, ...(s.context ? { EncryptionContext: s.context } : {}) }, unexpected);
    expect([r?.KeyId, r?.Plaintext]).toEqual([s.keyArn, s.plaintext]);
    decrypted++;
  });
  expect(decrypted).toBe(m.sealed.length);
  expect(unexpected).toEqual([]);
}

/** The audit chain verifies, and holds exactly one Success record per acknowledged write of the load. */
async function verifyAudit(kw: Keyward, m: Model): Promise<void> {
  const v = await kw.verifyAudit();
  expect(v).toMatchObject({ ok: true });
  const records = await kw.auditTail(1_000_000);
  expect(records.length).toBe((v as { count: number }).count);
  const counts: Record<string, number> = Object.fromEntries(WRITE_OPS.map((op) => [op, 0]));
  const other: string[] = [];
  for (const r of records) {
    if (!WRITE_OPS.includes(r.operation)) continue;
    if (r.outcome === 'Success' && r.principal === PRINCIPAL) counts[r.operation]!++;
    else other.push(`${r.operation} ${r.principal} ${r.outcome}`);
  }
  expect(other).toEqual([]);
  expect(counts).toEqual(m.acked);
}

/** Load overlapped every restart, and connections were refused only while a server was restarting. */
function checkOverlap(clients: Client[], restarts: RestartRecord[], restarting: string): void {
  const attempts = clients.flatMap((c) => c.attempts);
  const bad = attempts.filter((a) => a.outcome === 'truncated' || a.outcome === 'error');
  expect(bad).toEqual([]);
  for (const [i, r] of restarts.entries()) {
    const mine = attempts.filter((a) => a.node === restarting);
    // In flight (client side) when SIGTERM was sent; refused while no server listened; acknowledged by the successor.
    const overlapping = mine.filter((a) => a.start <= r.killedAt && a.end >= r.killedAt);
    const refusedInGap = mine.filter((a) => a.outcome !== 'ok' && a.end >= r.killedAt && a.start <= r.relistenedAt);
    const okAfter = mine.filter((a) => a.outcome === 'ok' && a.start >= r.relistenedAt);
    expect(overlapping.length, `restart ${i + 1}: requests in flight at SIGTERM`).toBeGreaterThan(0);
    expect(refusedInGap.length, `restart ${i + 1}: requests refused while restarting`).toBeGreaterThan(0);
    expect(okAfter.length, `restart ${i + 1}: requests acknowledged by the new server`).toBeGreaterThan(0);
    expect(r.inFlightAtSigterm, `restart ${i + 1}: the server saw the held request in flight`).toBeGreaterThanOrEqual(1);
  }
  const refused = attempts.filter((a) => a.outcome !== 'ok');
  const outside = refused.filter((a) => a.node !== restarting || !restarts.some((r) => a.end >= r.killedAt && a.start <= r.relistenedAt));
  expect(outside, 'refusals while no server was restarting').toEqual([]);
}

function summary(clients: Client[], m: Model, restarts: RestartRecord[]): string {
  const attempts = clients.flatMap((c) => c.attempts);
  const by = (o: Outcome) => attempts.filter((a) => a.outcome === o).length;
  const drained = attempts.filter((a) => a.outcome === 'ok' && restarts.some((r) => a.start < r.killedAt && a.end > r.killedAt)).length;
  const exits = restarts.map((r) => `${r.exitedAt - r.killedAt} ms (${r.inFlightAtSigterm} in flight)`).join(', ');
  return `${totalAcked(m)} acknowledged writes (${JSON.stringify(m.acked)}), ${m.sealed.length} ciphertexts; attempts: ${by('ok')} ok `
    + `(${drained} of them sent before a SIGTERM and answered after it), ${by('refused')} refused, ${by('unavailable')} 503; exits after SIGTERM: ${exits}`;
}

// --- the tests ---------------------------------------------------------------------------------------------

describe('a graceful restart under load', () => {
  it('SQLite store: three SIGTERM restarts on the same port lose no acknowledged write, truncate no response and leave the audit chain intact', async () => {
    const dir = join(tmp(), 'store');
    ok(keyward(['--dir', dir, 'init']));
    const cred = JSON.parse(ok(keyward(['--dir', dir, 'credentials', 'create', '--principal', PRINCIPAL])).out) as { AccessKeyId: string; SecretAccessKey: string };
    let node = await serve(dir, 0);
    const port = node.port;
    const client = new Client('a', port, cred);
    const m = newModel();
    const restarts: RestartRecord[] = [];
    let stop = false;
    const workers = Array.from({ length: 8 }, (_, i) => worker(`w${i}`, client, m, () => stop));
    try {
      await drive(m, client, () => node.listeningAt, async (r) => {
        const { next, record } = await restart(node, () => serve(dir, port), client, m, cred, `restart ${r}`);
        node = next;
        restarts.push(record);
      });
    } catch (e) {
      client.abandoned = true;
      throw e;
    } finally {
      stop = true;
      await Promise.all(workers);
    }
    expect(m.unexpected).toEqual([]);
    checkOverlap([client], restarts, 'a');
    node.child.kill('SIGTERM');
    expect((await node.exited).code).toBe(0);
    client.destroy();
    console.log(`restart under load (SQLite): ${summary([client], m, restarts)}`);

    // The audit log before verification reads are added to it.
    const kw = await Keyward.open({ dir, create: false, region: REGION, account: ACCOUNT, maintenanceIntervalMs: 0 });
    try {
      await verifyAudit(kw, m);
    } finally {
      await kw.close();
    }
    const fresh = await serve(dir, port);
    const reader = new Client('verify', port, cred);
    try {
      await verifyVisible(reader, m);
    } finally {
      reader.destroy();
      fresh.child.kill('SIGTERM');
    }
    expect((await fresh.exited).code).toBe(0);
    expect(ok(keyward(['--dir', dir, 'audit', 'verify'])).out).toMatch(/^audit log intact: /);
  }, 120_000);

  describe('PostgreSQL store, two nodes', () => {
    let pg: TestPostgres | undefined;
    afterAll(() => pg?.stop());

    // Found by the load below: the first CreateKey through each of two nodes at once raced to make the
    // account's domain key version 1, and one failed with AlreadyExistsException.
    it('the first keys made through two nodes at once share one domain key', async () => {
      pg ??= await startPostgres();
      const url = pg.database('first_use');
      const root = tmp();
      const open = (d: string) => Keyward.open({ dir: join(root, d), region: REGION, account: ACCOUNT, principal: PRINCIPAL, store: { postgres: url }, maintenanceIntervalMs: 0 });
      const a = await open('a');
      mkdirSync(join(root, 'b'), { mode: 0o700 });
      copyFileSync(join(root, 'a', 'unseal.key'), join(root, 'b', 'unseal.key'));
      const b = await open('b');
      try {
        const made = await Promise.all([a, b, a, b].map((kw, i) => kw.createKey({ Description: `first ${i}` })));
        const ids = made.map((r) => r.KeyMetadata.KeyId);
        const { CiphertextBlob } = await b.encrypt({ KeyId: ids[0]!, Plaintext: new TextEncoder().encode('one domain key') });
        expect(new TextDecoder().decode((await a.decrypt({ CiphertextBlob })).Plaintext)).toBe('one domain key');
        expect((await a.listKeys()).Keys.map((k) => k.KeyId).sort()).toEqual(ids.slice().sort());
      } finally {
        await a.close();
        await b.close();
      }
    }, 60_000);

    it('one node restarts three times under load while the other keeps serving; nothing acknowledged through either is lost', async () => {
      pg ??= await startPostgres();
      const root = tmp();
      const [dirA, dirB] = [join(root, 'a'), join(root, 'b')];
      mkdirSync(dirA, { mode: 0o700 });
      await createUnsealKeyFile(dirA);
      const cred = await createCredential(dirA, PRINCIPAL);
      mkdirSync(dirB, { mode: 0o700 });
      for (const f of ['unseal.key', 'credentials.json']) copyFileSync(join(dirA, f), join(dirB, f));
      let a = await serve(dirA, 0, pg.url);
      const b = await serve(dirB, 0, pg.url);
      const portA = a.port;
      const [ca, cb] = [new Client('a', portA, cred), new Client('b', b.port, cred)];
      const m = newModel();
      const restarts: RestartRecord[] = [];
      let stop = false;
      const workers = [
        ...Array.from({ length: 4 }, (_, i) => worker(`a${i}`, ca, m, () => stop)),
        ...Array.from({ length: 4 }, (_, i) => worker(`b${i}`, cb, m, () => stop)),
      ];
      try {
        await drive(m, ca, () => a.listeningAt, async (r) => {
          const { next, record } = await restart(a, () => serve(dirA, portA, pg!.url), ca, m, cred, `restart ${r}`);
          a = next;
          restarts.push(record);
        });
      } catch (e) {
        ca.abandoned = cb.abandoned = true;
        throw e;
      } finally {
        stop = true;
        await Promise.all(workers);
      }
      expect(m.unexpected).toEqual([]);
      // Node b served throughout: not one of its requests was refused.
      expect(cb.attempts.filter((x) => x.outcome !== 'ok')).toEqual([]);
      const servedByB = cb.attempts.filter((x) => restarts.some((r) => x.start >= r.killedAt && x.end <= r.relistenedAt));
      expect(servedByB.length, 'requests node b acknowledged while node a was restarting').toBeGreaterThan(0);
      checkOverlap([ca, cb], restarts, 'a');
      ca.destroy();
      console.log(`restart under load (PostgreSQL, two nodes): ${summary([ca, cb], m, restarts)}`);

      // The audit log before verification reads are added to it, read by a third engine on the same database.
      const dirC = join(root, 'c');
      mkdirSync(dirC, { mode: 0o700 });
      copyFileSync(join(dirA, 'unseal.key'), join(dirC, 'unseal.key'));
      const auditor = await Keyward.open({ dir: dirC, create: false, region: REGION, account: ACCOUNT, store: { postgres: pg.url }, maintenanceIntervalMs: 0 });
      try {
        await verifyAudit(auditor, m);
      } finally {
        await auditor.close();
      }
      // Verified through node b (which never restarted) and through a's last successor.
      await verifyVisible(cb, m);
      const again = new Client('a-verify', portA, cred);
      try {
        const listed = await listAll(again, 'ListKeys', 'Keys', m.unexpected);
        expect(listed.length).toBe(m.keys.length);
      } finally {
        again.destroy();
        cb.destroy();
      }
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      expect([(await a.exited).code, (await b.exited).code]).toEqual([0, 0]);
      const kw = await Keyward.open({ dir: dirA, create: false, region: REGION, account: ACCOUNT, store: { postgres: pg.url }, maintenanceIntervalMs: 0 });
      try {
        const v = await kw.verifyAudit();
        expect(v).toMatchObject({ ok: true });
      } finally {
        await kw.close();
      }
    }, 120_000);
  });
});
