// The parent's side of the bench client process (client.ts): forked once, sent one job at a time per
// caller, each answered by id. The client runs in its own process so that its TLS handshakes and SigV4
// signing do not share an event loop (or a core's time slice) with the terminator or server under test.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CrossCheckError } from './check.js';
import type { Job, Reply, Work } from './client.js';
import type { KmsEndpoint } from './kms-calls.js';
import type { Measurement } from './measure.js';

/** The client module as built: dist/src/bench/client.js beside this module. */
export const CLIENT_MODULE = fileURLToPath(new URL('./client.js', import.meta.url));

type JobBody = Job extends infer J ? (J extends { id: number } ? Omit<J, 'id'> : never) : never;

/** The client's error as this process's: a CrossCheckError stays one; others keep their name, said to come from the client. */
function clientError(name: string, message: string): Error {
  if (name === 'CrossCheckError') return new CrossCheckError(message);
  const e = new Error(`${message} (in the bench client process)`);
  e.name = name;
  return e;
}

export class ClientProcess {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  #next = 0;
  #exited: string | undefined;
  #unref = false;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (m: Reply) => {
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (this.#unref && this.#pending.size === 0) child.channel?.unref();
      if (m.ok) p.resolve(m.result);
      else p.reject(clientError(m.name, m.message));
    });
    child.once('exit', (code, signal) => {
      this.#exited = `the bench client process exited (${signal ?? code})`;
      for (const p of this.#pending.values()) p.reject(new Error(this.#exited));
      this.#pending.clear();
    });
  }

  /** Forks the client module (default CLIENT_MODULE); its output goes to this process's stderr. */
  static start(module: string = CLIENT_MODULE): ClientProcess {
    return new ClientProcess(fork(module, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  #send<T>(job: JobBody): Promise<T> {
    if (this.#exited) return Promise.reject(new Error(this.#exited));
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
      this.#child.channel?.ref();
      this.#child.send({ ...job, id } as Job);
    });
  }

  /** Times work in the client: `concurrency` callers for `seconds` (measure.ts, closed loop). */
  measure(work: Work, seconds: number, concurrency: number): Promise<Measurement> {
    return this.#send({ work, seconds, concurrency });
  }

  /** Runs work exactly `count` times, `concurrency` at once (a batch of the developers' harness). */
  batch(work: Work, count: number, concurrency: number): Promise<void> {
    return this.#send({ work, count, concurrency });
  }

  /** The KMS endpoint's cross-check (kms-calls.ts checkEndpoint); a wrong answer rejects with CrossCheckError. */
  checkKms(endpoint: KmsEndpoint): Promise<void> {
    return this.#send({ check: endpoint });
  }

  /** Lets this process exit while the client idles (the channel is referenced again while a job runs). */
  unref(): void {
    this.#unref = true;
    this.#child.unref();
    this.#child.channel?.unref();
  }

  /** Ends the client process. */
  close(): void {
    if (!this.#exited) this.#child.kill();
  }
}
