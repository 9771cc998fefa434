// The bench client process (forked by worker.ts): TLS handshakes and echoes, and signed KMS requests, run
// here so they do not share the event loop of the terminator or server under test. The parent sends one
// job per message and gets one reply with the job's id:
//   { work, seconds, concurrency }  times work with measure.ts (closed loop) and replies its Measurement
//   { work, count, concurrency }    runs work exactly count times, concurrency at once
//   { check: endpoint }             the KMS endpoint's cross-check (kms-calls.ts)
import { Agent } from 'node:http';
import { checkEndpoint, kmsCall, type KmsEndpoint, type KmsOperation } from './kms-calls.js';
import { measure } from './measure.js';
import { bulk, handshake, type TlsVersion } from './tls-calls.js';

export type Work =
  | { kind: 'handshake'; port: number; version: TlsVersion }
  | { kind: 'bulk'; port: number; tls: boolean; size: number }
  | { kind: 'kms'; endpoint: KmsEndpoint; op: KmsOperation; blobs?: string[] };

export type Job =
  | { id: number; work: Work; seconds: number; concurrency: number }
  | { id: number; work: Work; count: number; concurrency: number }
  | { id: number; check: KmsEndpoint };

export type Reply = { id: number; ok: true; result?: unknown } | { id: number; ok: false; name: string; message: string };

/** The call of a work item, and what to release once the job is done. */
function callOf(w: Work, concurrency: number): { call: () => Promise<unknown>; done(): void } {
  if (w.kind === 'handshake') return { call: () => handshake(w.port, w.version), done: () => undefined };
  if (w.kind === 'bulk') return { call: () => bulk(w.port, w.tls, w.size), done: () => undefined };
  // One keep-alive connection per caller, as an SDK client's pool would hold.
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  return { call: kmsCall(w.endpoint, agent, w.op, w.blobs), done: () => agent.destroy() };
}

async function times(call: () => Promise<unknown>, count: number, concurrency: number): Promise<void> {
  let started = 0;
  const caller = async () => {
    while (started < count) {
      started++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, caller));
}

async function run(j: Job): Promise<unknown> {
  if ('check' in j) {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      return await checkEndpoint(j.check, agent);
    } finally {
      agent.destroy();
    }
  }
  const { call, done } = callOf(j.work, j.concurrency);
  try {
    return 'seconds' in j ? await measure(call, j.seconds, j.concurrency) : await times(call, j.count, j.concurrency);
  } finally {
    done();
  }
}

process.on('message', (j: Job) => {
  run(j).then(
    (result) => process.send!({ id: j.id, ok: true, result } satisfies Reply),
    (e: unknown) => process.send!({ id: j.id, ok: false, name: e instanceof Error ? e.name : 'Error', message: e instanceof Error ? e.message : String(e) } satisfies Reply),
  );
});
