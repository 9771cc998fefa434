// Input and output of the data commands. `-` (the default) is stdin or stdout. A file output is written to
// a temporary file beside it (mode 0600) and renamed over the target only once the whole stream succeeded,
// so a failed decryption leaves no file, and never a partial one.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, createReadStream, createWriteStream, fstatSync, openSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PassThrough, type Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A file the CLI could not open, read or write. `code` is the system error code (ENOENT, EACCES, …). */
export class FileError extends Error {
  override name = 'FileError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function fileError(e: unknown, what: string, path: string): FileError {
  const err = e as NodeJS.ErrnoException;
  const reason = err.code === 'ENOENT' ? 'no such file or directory' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EISDIR' ? 'is a directory' : err.message;
  return new FileError(err.code ?? 'EIO', `cannot ${what} ${path}: ${reason}`);
}

const isStd = (path: string | undefined): boolean => path === undefined || path === '-';

/** The input as a stream; a file is opened now, so a missing one fails before any key is used. */
export function openInput(path: string | undefined): Readable {
  if (isStd(path)) return process.stdin;
  let fd: number;
  try {
    fd = openSync(path!, 'r');
  } catch (e) {
    throw fileError(e, 'read', path!);
  }
  if (fstatSync(fd).isDirectory()) {
    closeSync(fd);
    throw new FileError('EISDIR', `cannot read ${path}: is a directory`);
  }
  return createReadStream('', { fd });
}

/** The whole input, refusing more than `max` bytes (with `tooLong` as the error). */
export async function readInput(path: string | undefined, max: number, tooLong: () => Error): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of openInput(path)) {
    const c = chunk as Buffer;
    n += c.length;
    if (n > max) throw tooLong();
    parts.push(c);
  }
  return Buffer.concat(parts);
}

let stdoutError: NodeJS.ErrnoException | undefined;

/** Records a failure of stdout (a reader that went away: `keyward decrypt | head`) instead of crashing on it. */
export function watchStdout(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    stdoutError = e;
  });
}

/** The error to report for a failed write: stdout's own failure when it had one. */
function stdoutFailure(e: unknown): unknown {
  if (!stdoutError) return e;
  const reason = stdoutError.code === 'EPIPE' ? 'the reader closed it' : stdoutError.message;
  return new FileError(stdoutError.code ?? 'EIO', `cannot write to stdout: ${reason}`);
}

/** Streams `input` through `transform` into `out` (stdout, or a file replaced only on success). */
export async function transformTo(input: Readable, transform: Transform, out: string | undefined): Promise<void> {
  if (isStd(out)) {
    try {
      await pipeline(input, transform, async (source: AsyncIterable<Uint8Array>) => {
        for await (const chunk of source) await writeStdout(chunk);
      });
    } catch (e) {
      throw stdoutFailure(e);
    }
    return;
  }
  const path = out!;
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o600);
  } catch (e) {
    throw fileError(e, 'write', path);
  }
  try {
    // The stream owns fd (closed on finish or destroy); flush: fsync before close, so the rename below
    // never exposes a file whose bytes are not on disk.
    await pipeline(input, transform, createWriteStream('', { fd, flush: true }));
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Writes bytes to `out`: stdout, or a file replaced atomically. */
export async function writeOutput(bytes: Uint8Array, out: string | undefined): Promise<void> {
  if (isStd(out)) return writeStdout(bytes);
  const src = new PassThrough();
  src.end(bytes);
  await transformTo(src, new PassThrough(), out);
}

async function writeStdout(chunk: Uint8Array | string): Promise<void> {
  if (stdoutError) throw stdoutFailure(stdoutError);
  try {
    if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
  } catch (e) {
    throw stdoutFailure(e);
  }
}
