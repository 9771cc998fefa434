// Lock files that hold their owner's pid: the store's (keyward.lock) and the credentials file's
// (credentials.json.lock). Each caller keeps its own policy for a lock it finds taken; these are the
// steps they share.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

/** Creates path exclusively (mode 0600) holding this process's pid; false when it exists already. */
export function createPidFile(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, String(process.pid));
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The pid a lock file holds; NaN when it holds none (a file still being written, say). */
export function pidIn(path: string): number {
  return Number.parseInt(readFileSync(path, 'utf8'), 10);
}

/** Whether process pid exists (EPERM: it does, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
