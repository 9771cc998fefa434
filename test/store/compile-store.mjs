// Transpiles src/store/*.ts to JavaScript for the scripts that run the store in a plain `node` process
// (the crash child, the commit-rate measurement): no tsx, no full build, nothing else in the tree needed.
// The output goes under node_modules/.cache so `better-sqlite3` still resolves from it.

import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Returns the file URL of the transpiled sqlite.js. */
export function compileStore() {
  const srcDir = join(root, 'src/store');
  const outDir = join(root, 'node_modules/.cache/keyward-store-js');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'package.json'), '{ "type": "module" }\n');
  for (const name of readdirSync(srcDir).filter((f) => f.endsWith('.ts'))) {
    const { outputText } = ts.transpileModule(readFileSync(join(srcDir, name), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: name,
    });
    // Write then rename, so a concurrent reader never imports a half-written file.
    const out = join(outDir, name.replace(/\.ts$/, '.js'));
    const tmp = `${out}.${process.pid}.tmp`;
    writeFileSync(tmp, outputText);
    renameSync(tmp, out);
  }
  return pathToFileURL(join(outDir, 'sqlite.js')).href;
}
