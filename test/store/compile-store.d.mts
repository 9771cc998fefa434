/** Transpiles src/store/*.ts for plain `node` processes; returns the file URL of the transpiled sqlite.js. */
export function compileStore(): string;
