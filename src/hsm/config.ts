// Where the HSM is and how to log in: a JSON file and/or the environment. The PIN comes only from the
// environment (KEYWARD_HSM_PIN), a PIN file, or a caller's object, never from the JSON file itself, and it
// never appears in an error message.
//
//   JSON file: { "module": "/usr/lib/softhsm/libsofthsm2.so", "tokenLabel": "keyward" | "slot": 0,
//                "pinFile": "/etc/keyward/hsm.pin", "sessions": 4, "gcmSessions": 1 }
//   environment (overrides the file): KEYWARD_HSM_MODULE, KEYWARD_HSM_TOKEN (label), KEYWARD_HSM_SLOT,
//                KEYWARD_HSM_PIN, KEYWARD_HSM_PIN_FILE, KEYWARD_HSM_SESSIONS, KEYWARD_HSM_GCM_SESSIONS
import { readFileSync, statSync } from 'node:fs';
import { HsmConfigError } from './errors.js';

export interface HsmConfig {
  /** Path of the PKCS#11 module (the vendor's .so). */
  module: string;
  /** The token, by label … */
  tokenLabel?: string;
  /** … or by slot id (exactly one of the two). */
  slot?: number;
  /** The user PIN (exactly one of pin and pinFile). */
  pin?: string;
  /** A file holding the PIN (trailing newline ignored); it must not be readable by group or others. */
  pinFile?: string;
  /** Logged-in sessions for concurrent operations (the native pool's size). Default 4. */
  sessions?: number;
  /**
   * AES-GCM on a pool of its own of this many sessions; by default it shares the `sessions` pool. For a
   * module that runs AES-GCM one session at a time (SoftHSM2 does), 1 saves the others' lock contention.
   */
  gcmSessions?: number;
}

export const DEFAULT_SESSIONS = 4;
const MAX_SESSIONS = 256;

const FILE_FIELDS = ['module', 'tokenLabel', 'slot', 'pinFile', 'sessions', 'gcmSessions'] as const;

/** Checks a config object (from code or loaded) and returns a normalized copy. */
export function checkHsmConfig(c: HsmConfig): Required<Pick<HsmConfig, 'module' | 'sessions'>> & HsmConfig {
  if (typeof c !== 'object' || c === null) throw new HsmConfigError('config', 'expected an HSM config object');
  if (typeof c.module !== 'string' || c.module.length === 0) {
    throw new HsmConfigError('module', 'the PKCS#11 module path is missing (config "module" or KEYWARD_HSM_MODULE)');
  }
  const hasLabel = c.tokenLabel !== undefined;
  const hasSlot = c.slot !== undefined;
  if (hasLabel === hasSlot) {
    throw new HsmConfigError('tokenLabel', `give exactly one of the token label (config "tokenLabel" or KEYWARD_HSM_TOKEN) and the slot (config "slot" or KEYWARD_HSM_SLOT)${hasLabel ? ', not both' : ''}`);
  }
  if (hasLabel && (typeof c.tokenLabel !== 'string' || c.tokenLabel.length === 0 || c.tokenLabel.length > 32)) {
    throw new HsmConfigError('tokenLabel', 'expected the token label to be a string of 1 to 32 characters');
  }
  if (hasSlot && !(Number.isSafeInteger(c.slot) && c.slot! >= 0)) throw new HsmConfigError('slot', `expected the slot to be a non-negative integer, got ${String(c.slot)}`);
  const hasPin = c.pin !== undefined;
  const hasPinFile = c.pinFile !== undefined;
  if (hasPin === hasPinFile) {
    throw new HsmConfigError('pin', `give exactly one of the PIN (KEYWARD_HSM_PIN) and a PIN file (config "pinFile" or KEYWARD_HSM_PIN_FILE)${hasPin ? ', not both' : ''}`);
  }
  if (hasPin && (typeof c.pin !== 'string' || c.pin.length === 0)) throw new HsmConfigError('pin', 'expected the PIN to be a non-empty string');
  if (hasPinFile && (typeof c.pinFile !== 'string' || c.pinFile.length === 0)) throw new HsmConfigError('pinFile', 'expected the PIN file to be a path');
  const sessions = c.sessions ?? DEFAULT_SESSIONS;
  for (const [field, v] of [['sessions', sessions], ['gcmSessions', c.gcmSessions ?? 1]] as const) {
    if (!Number.isSafeInteger(v) || v < 1 || v > MAX_SESSIONS) {
      throw new HsmConfigError(field, `expected ${field} to be an integer in 1..${MAX_SESSIONS}, got ${String(c[field])}`);
    }
  }
  return { ...c, sessions };
}

/**
 * The config from a JSON file (optional) with the environment on top. Unknown JSON fields and a "pin"
 * in the file are refused: a PIN belongs in the environment or a PIN file with tight permissions.
 */
export function loadHsmConfig(options: { file?: string; env?: NodeJS.ProcessEnv } = {}): HsmConfig {
  const env = options.env ?? process.env;
  let fromFile: Record<string, unknown> = {};
  if (options.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (e) {
      throw new HsmConfigError('file', `cannot read the HSM config file ${options.file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    try {
      fromFile = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new HsmConfigError('file', `the HSM config file ${options.file} is not JSON: ${(e as Error).message}`);
    }
    if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) throw new HsmConfigError('file', `the HSM config file ${options.file} must hold a JSON object`);
    if ('pin' in fromFile) throw new HsmConfigError('pin', `the HSM config file ${options.file} holds a "pin": put the PIN in KEYWARD_HSM_PIN or a file named by "pinFile"`);
    for (const k of Object.keys(fromFile)) {
      if (!(FILE_FIELDS as readonly string[]).includes(k)) throw new HsmConfigError(k, `unknown field "${k}" in the HSM config file ${options.file} (known: ${FILE_FIELDS.join(', ')})`);
    }
  }
  const c = { ...fromFile } as unknown as HsmConfig;
  if (env.KEYWARD_HSM_MODULE) c.module = env.KEYWARD_HSM_MODULE;
  if (env.KEYWARD_HSM_TOKEN) {
    c.tokenLabel = env.KEYWARD_HSM_TOKEN;
    delete c.slot;
  }
  if (env.KEYWARD_HSM_SLOT) {
    c.slot = envInt(env.KEYWARD_HSM_SLOT, 'KEYWARD_HSM_SLOT');
    delete c.tokenLabel;
  }
  if (env.KEYWARD_HSM_PIN) {
    c.pin = env.KEYWARD_HSM_PIN;
    delete c.pinFile;
  }
  if (env.KEYWARD_HSM_PIN_FILE) {
    c.pinFile = env.KEYWARD_HSM_PIN_FILE;
    delete c.pin;
  }
  if (env.KEYWARD_HSM_SESSIONS) c.sessions = envInt(env.KEYWARD_HSM_SESSIONS, 'KEYWARD_HSM_SESSIONS');
  if (env.KEYWARD_HSM_GCM_SESSIONS) c.gcmSessions = envInt(env.KEYWARD_HSM_GCM_SESSIONS, 'KEYWARD_HSM_GCM_SESSIONS');
  return checkHsmConfig(c);
}

function envInt(v: string, name: string): number {
  if (!/^\d+$/.test(v)) throw new HsmConfigError(name, `expected ${name} to be a non-negative integer, got '${v}'`);
  return Number(v);
}

/** The PIN of a checked config: the pin itself, or the PIN file's content without its trailing newline. */
export function readPin(c: HsmConfig): string {
  if (c.pin !== undefined) return c.pin;
  const file = c.pinFile!;
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (e) {
    throw new HsmConfigError('pinFile', `cannot read the PIN file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new HsmConfigError('pinFile', `the PIN file ${file} is readable by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  }
  const pin = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  if (pin.length === 0) throw new HsmConfigError('pinFile', `the PIN file ${file} is empty`);
  return pin;
}
