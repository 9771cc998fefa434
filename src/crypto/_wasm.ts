// Loads the WASM core once, synchronously (the module is small), and hands wrappers a view of its
// memory that is re-created whenever the memory has grown (growth detaches old views).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Works from src/ (tests) and from dist/src/ (the package): walk up to the folder holding build/.
function locateWasm(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'build', 'keyward.wasm');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('keyward.wasm not found: run `npm run build:wasm`');
    dir = parent;
  }
}

const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(locateWasm())), {
  env: {
    abort(_msg: number, _file: number, line: number, column: number): never {
      throw new Error(`keyward WASM core aborted at ${line}:${column}`);
    },
  },
});

/** The raw exports; each wrapper casts them to the functions it uses. */
export const wasm = instance.exports as Record<string, unknown>;

const memory = wasm.memory as WebAssembly.Memory;
let view = new Uint8Array(memory.buffer);

/** A byte view of WASM memory that is valid until the next call into WASM that may grow it. */
export function mem(): Uint8Array {
  if (view.buffer !== memory.buffer) view = new Uint8Array(memory.buffer);
  return view;
}

/** The address held by an exported pointer global (an I/O region). */
export function region(name: string): number {
  const g = wasm[name];
  if (!(g instanceof WebAssembly.Global)) throw new Error(`WASM core has no region ${name}`);
  return g.value as number;
}

/** Shared I/O regions of assembly/_io.ts. */
export const CHUNK = region('CHUNK');
export const IN = region('IN');
export const OUT = region('OUT');

const wipeFn = wasm.wipe as (p: number, len: number) => void;
/** Zero len bytes of WASM memory at p. */
export function wipe(p: number, len: number): void {
  wipeFn(p, len);
}
