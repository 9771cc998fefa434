// The settings of `keyward serve`, from three places: command-line flags win over KEYWARD_SERVE_*
// environment variables, which win over a JSON config file (--config FILE or $KEYWARD_SERVE_CONFIG), which
// wins over the defaults. Every value is checked wherever it comes from, and a message names its source.
import { readFileSync } from 'node:fs';
import { DEFAULT_MAX_BODY_BYTES } from '../server/kms-server.js';
import { str, UsageError, type Parsed } from './args.js';

export interface ServeConfig {
  port: number;
  host: string;
  cert: string | undefined;
  key: string | undefined;
  maxBodyBytes: number;
  drainTimeoutS: number;
  quiet: boolean;
  /** Serve GET /metrics. */
  metrics: boolean;
  /** Serve the XKS proxy API. */
  xks: boolean;
  xksPathPrefix: string;
  /** The region in XKS credential scopes (default: the store's). */
  xksRegion: string | undefined;
}

type Kind = { t: 'int'; min: number; max: number } | { t: 'string' } | { t: 'bool' };

interface Setting {
  /** The name in the config file. */
  file: string;
  env: string;
  /** The command-line flag, if there is one; bool flags that turn a default-on setting off are named by `negate`. */
  flag?: string;
  negate?: boolean;
  kind: Kind;
  field: keyof ServeConfig;
}

export const SETTINGS: readonly Setting[] = [
  { file: 'port', env: 'KEYWARD_SERVE_PORT', flag: 'port', kind: { t: 'int', min: 0, max: 65535 }, field: 'port' },
  { file: 'host', env: 'KEYWARD_SERVE_HOST', flag: 'host', kind: { t: 'string' }, field: 'host' },
  { file: 'cert', env: 'KEYWARD_SERVE_CERT', flag: 'cert', kind: { t: 'string' }, field: 'cert' },
  { file: 'key', env: 'KEYWARD_SERVE_KEY', flag: 'key', kind: { t: 'string' }, field: 'key' },
  { file: 'maxBody', env: 'KEYWARD_SERVE_MAX_BODY', flag: 'max-body', kind: { t: 'int', min: 1024, max: 64 * 1024 * 1024 }, field: 'maxBodyBytes' },
  { file: 'drainTimeout', env: 'KEYWARD_SERVE_DRAIN_TIMEOUT', flag: 'drain-timeout', kind: { t: 'int', min: 0, max: 3600 }, field: 'drainTimeoutS' },
  { file: 'quiet', env: 'KEYWARD_SERVE_QUIET', flag: 'quiet', kind: { t: 'bool' }, field: 'quiet' },
  { file: 'metrics', env: 'KEYWARD_SERVE_METRICS', flag: 'no-metrics', negate: true, kind: { t: 'bool' }, field: 'metrics' },
  { file: 'xks', env: 'KEYWARD_SERVE_XKS', flag: 'no-xks', negate: true, kind: { t: 'bool' }, field: 'xks' },
  { file: 'xksPathPrefix', env: 'KEYWARD_SERVE_XKS_PATH_PREFIX', flag: 'xks-path-prefix', kind: { t: 'string' }, field: 'xksPathPrefix' },
  { file: 'xksRegion', env: 'KEYWARD_SERVE_XKS_REGION', flag: 'xks-region', kind: { t: 'string' }, field: 'xksRegion' },
];

export const CONFIG_ENV = 'KEYWARD_SERVE_CONFIG';

const DEFAULTS: ServeConfig = {
  port: 8080, host: '127.0.0.1', cert: undefined, key: undefined, maxBodyBytes: DEFAULT_MAX_BODY_BYTES, drainTimeoutS: 30,
  quiet: false, metrics: true, xks: true, xksPathPrefix: '', xksRegion: undefined,
};

/** A value from the file (JSON types only) or the environment / a flag (strings), checked against its kind. */
function convert(s: Setting, v: unknown, source: string, json = false): string | number | boolean {
  const bad = (what: string) => new UsageError(`${source}: ${what}, got ${JSON.stringify(v)}`);
  switch (s.kind.t) {
    case 'int': {
      const n = typeof v === 'number' ? v : !json && typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : Number.NaN;
      if (!Number.isInteger(n) || n < s.kind.min || n > s.kind.max) throw bad(`expected an integer from ${s.kind.min} to ${s.kind.max}`);
      return n;
    }
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (!json && (v === 'true' || v === '1')) return true;
      if (!json && (v === 'false' || v === '0')) return false;
      throw bad(json ? 'expected true or false' : 'expected true, false, 1 or 0');
    case 'string':
      if (typeof v !== 'string') throw bad('expected a string');
      return v;
  }
}

/** Reads a config file: a JSON object whose keys are the `file` names of SETTINGS. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read the config file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`the config file ${path} is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`the config file ${path} must hold a JSON object`);
  const known = new Set(SETTINGS.map((s) => s.file));
  const unknown = Object.keys(parsed).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new UsageError(`the config file ${path} has unknown settings: ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
  return parsed as Record<string, unknown>;
}

/** The effective settings: flags, then environment, then the config file, then defaults. */
export function resolveServeConfig(values: Parsed['values'], env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const configPath = str(values, 'config') ?? env[CONFIG_ENV];
  const file = configPath !== undefined ? readConfigFile(configPath) : {};
  const out: Record<string, unknown> = { ...DEFAULTS };
  for (const s of SETTINGS) {
    if (s.flag !== undefined && values[s.flag] !== undefined) {
      out[s.field] = s.negate ? !(values[s.flag] === true) : s.kind.t === 'bool' ? values[s.flag] === true : convert(s, values[s.flag], `--${s.flag}`);
    } else if (env[s.env] !== undefined && env[s.env] !== '') {
      out[s.field] = convert(s, env[s.env], s.env);
    } else if (file[s.file] !== undefined) {
      out[s.field] = convert(s, file[s.file], `${configPath}: ${s.file}`, true);
    }
  }
  return out as unknown as ServeConfig;
}
