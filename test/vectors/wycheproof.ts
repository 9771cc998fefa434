// Shared loader for Project Wycheproof vectors in ../shared/vectors/wycheproof (Apache-2.0).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'vectors', 'wycheproof');

export interface WycheproofFile<G> {
  algorithm: string;
  numberOfTests: number;
  testGroups: G[];
}

export interface WycheproofCase {
  tcId: number;
  comment: string;
  result: 'valid' | 'invalid' | 'acceptable';
  flags: string[];
  [field: string]: unknown;
}

export function loadWycheproof<G extends { tests: WycheproofCase[] }>(file: string): WycheproofFile<G> {
  const data = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as WycheproofFile<G>;
  const count = data.testGroups.reduce((n, g) => n + g.tests.length, 0);
  if (count !== data.numberOfTests || count === 0) throw new Error(`${file}: expected ${data.numberOfTests} cases, read ${count}`);
  return data;
}

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
