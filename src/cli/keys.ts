// Store and key commands: init, create-key, list-keys, describe-key, rotate, schedule-deletion.
import { chmodSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UNSEAL_KEY_ENV, UNSEAL_KEY_FILE } from '../keys/unseal.js';
import { AlreadyExistsException } from '../kms/errors.js';
import { KeyHierarchy } from '../keys/hierarchy.js';
import type { Keyward } from '../kms/keyward.js';
import { KEY_SPECS, SPEC_USAGES } from '../kms/model.js';
import type { KeyMetadata, KeyUsage } from '../kms/types.js';
import { choice, intOption, str } from './args.js';
import { connectTimeoutOf } from '../store/postgres-url.js';
import { openKeyward, STORE_FILE, say, sayJson, storeOptions, table, withStore, type Command } from './command.js';
import { explainPostgresError, POSTGRES_URL_ENV, redactPostgresUrl } from './postgres.js';

const KEY_USAGES: readonly KeyUsage[] = ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC'];

/** Whether the PostgreSQL database already holds a Keyward store (its region keys' record). */
async function postgresHoldsStore(url: string): Promise<boolean> {
  // Loaded only for PostgreSQL, as Keyward.open does: a SQLite init never loads pg.
  const { openPostgresStore } = await import('../store/postgres.js');
  const store = await openPostgresStore({ connectionString: url, connectionTimeoutMillis: connectTimeoutOf(url) }).catch((e: unknown) => {
    throw explainPostgresError(e, url);
  });
  try {
    return (await KeyHierarchy.storeMode(store)) !== undefined;
  } finally {
    await store.close();
  }
}

const init: Command = {
  name: 'init',
  options: {},
  operands: { min: 0, max: 0 },
  async run({ global: g }) {
    const dir = resolve(g.dir);
    // Keyward.open checks its options before it creates the directory (mode 0700, masked by the umask).
    const opts = storeOptions(g);
    const postgres = opts.store?.postgres;
    if (postgres === undefined && existsSync(join(dir, STORE_FILE))) {
      throw new AlreadyExistsException(`${dir} already holds a Keyward store; refusing to initialize it again (remove the directory first to start over)`);
    }
    // Another node's DIR needs no init: a copy of the initializing node's unseal.key (a fresh key would not open the store).
    if (postgres !== undefined && (await postgresHoldsStore(postgres))) {
      throw new AlreadyExistsException(`the PostgreSQL database ${redactPostgresUrl(postgres)} already holds a Keyward store; refusing to initialize it again (for another node, copy the unseal.key of the first node's DIR into this node's DIR)`);
    }
    const existed = existsSync(dir);
    const fromEnv = process.env[UNSEAL_KEY_ENV] !== undefined;
    const kw = await openKeyward(g, dir, { create: true, maintenanceIntervalMs: 0, boundEveryConnection: true });
    // Only a directory made here is set to exactly 0700, never one the user already had.
    if (!existed) chmodSync(dir, 0o700);
    const region = kw.region;
    const account = kw.account;
    await kw.close();
    if (postgres === undefined) say(`initialized a Keyward store in ${dir} (region ${region}, account ${account})`);
    else {
      say(`initialized a Keyward store in the PostgreSQL database ${redactPostgresUrl(postgres)} (schema keyward) with ${dir} (region ${region}, account ${account})`);
      say(`every command of this store needs --postgres URL or $${POSTGRES_URL_ENV}; ${dir} keeps its unseal key, lock and credentials`);
    }
    if (opts.hsm !== undefined) {
      say(`region key: the non-extractable token key keyward-rk-${region} in the HSM${g.hsm !== undefined ? ` of ${g.hsm}` : ' of $KEYWARD_HSM_*'}; no unseal key: every command of this store needs the same HSM config`);
      return 0;
    }
    say(fromEnv
      ? `unseal key: from $${UNSEAL_KEY_ENV}`
      : `unseal key: ${join(dir, UNSEAL_KEY_FILE)} (mode 0600); back it up: the store cannot be opened without it${postgres !== undefined ? '; other nodes need a copy in their DIR' : ''}`);
    return 0;
  },
};

function metadataRows(m: KeyMetadata): [string, string][] {
  return Object.entries(m).map(([k, v]: [string, unknown]) => {
    if (v instanceof Date) return [k, v.toISOString()];
    if (Array.isArray(v)) return [k, v.join(', ')];
    if (v !== null && typeof v === 'object') return [k, JSON.stringify(v)];
    return [k, String(v)];
  });
}

const createKey: Command = {
  name: 'create-key',
  options: { spec: { type: 'string' }, usage: { type: 'string' }, description: { type: 'string' }, alias: { type: 'string' }, origin: { type: 'string' } },
  operands: { min: 0, max: 0 },
  async run({ global: g, values }) {
    const spec = choice(values, 'spec', KEY_SPECS) ?? 'SYMMETRIC_DEFAULT';
    // A spec with one possible usage (ECC: SIGN_VERIFY, HMAC: GENERATE_VERIFY_MAC) needs no --usage.
    const usages = SPEC_USAGES[spec];
    const usage = choice(values, 'usage', KEY_USAGES) ?? (usages.length === 1 ? usages[0]! : 'ENCRYPT_DECRYPT');
    const description = str(values, 'description');
    const alias = str(values, 'alias');
    const origin = choice(values, 'origin', ['AWS_KMS', 'AWS_CLOUDHSM'] as const);
    return withStore(g, async (kw) => {
      const { KeyMetadata: m } = await kw.createKey({
        KeySpec: spec, KeyUsage: usage, ...(description !== undefined ? { Description: description } : {}), ...(origin !== undefined ? { Origin: origin } : {}),
      });
      if (alias !== undefined) {
        try {
          await kw.createAlias({ AliasName: alias, TargetKeyId: m.KeyId });
        } catch (e) {
          process.stderr.write(`keyward create-key: key ${m.KeyId} was created, but not the alias ${alias}\n`);
          throw e;
        }
      }
      if (g.json) sayJson({ KeyMetadata: m, ...(alias !== undefined ? { AliasName: alias } : {}) });
      else say(table([...metadataRows(m), ...(alias !== undefined ? [['Alias', alias] as [string, string]] : [])]));
      return 0;
    });
  },
};

const listKeys: Command = {
  name: 'list-keys',
  options: {},
  operands: { min: 0, max: 0 },
  async run({ global: g }) {
    return withStore(g, async (kw) => {
      const aliases = new Map<string, string[]>();
      for (let marker: string | undefined; ; ) {
        const page = await kw.listAliases({ Limit: 100, ...(marker ? { Marker: marker } : {}) });
        for (const a of page.Aliases) {
          if (a.TargetKeyId !== undefined) aliases.set(a.TargetKeyId, [...(aliases.get(a.TargetKeyId) ?? []), a.AliasName]);
        }
        if (!page.Truncated || !page.NextMarker) break;
        marker = page.NextMarker;
      }
      const keys: { KeyId: string; KeyArn: string; Aliases: string[] }[] = [];
      for (let marker: string | undefined; ; ) {
        const page = await kw.listKeys({ Limit: 100, ...(marker ? { Marker: marker } : {}) });
        for (const k of page.Keys) keys.push({ ...k, Aliases: aliases.get(k.KeyId) ?? [] });
        if (!page.Truncated || !page.NextMarker) break;
        marker = page.NextMarker;
      }
      if (g.json) sayJson({ Keys: keys });
      else for (const k of keys) say(`${k.KeyId}  ${k.KeyArn}${k.Aliases.length > 0 ? `  ${k.Aliases.join(',')}` : ''}`);
      return 0;
    });
  },
};

const describeKey: Command = {
  name: 'describe-key',
  options: {},
  operands: { min: 1, max: 1, names: 'KEY' },
  async run({ global: g, positionals }) {
    return withStore(g, async (kw) => {
      const { KeyMetadata: m } = await kw.describeKey({ KeyId: positionals[0]! });
      if (g.json) sayJson({ KeyMetadata: m });
      else say(table(metadataRows(m)));
      return 0;
    });
  },
};

/** RotateKeyOnDemand takes no alias (as in AWS KMS): an alias is resolved to its key first. */
async function keyIdOf(kw: Keyward, key: string): Promise<string> {
  if (!key.startsWith('alias/') && !/^arn:[^:]+:kms:[^:]*:[^:]*:alias\//.test(key)) return key;
  return (await kw.describeKey({ KeyId: key })).KeyMetadata.KeyId;
}

const rotate: Command = {
  name: 'rotate',
  options: {},
  operands: { min: 1, max: 1, names: 'KEY' },
  async run({ global: g, positionals }) {
    return withStore(g, async (kw) => {
      const r = await kw.rotateKeyOnDemand({ KeyId: await keyIdOf(kw, positionals[0]!) });
      if (g.json) sayJson(r);
      else say(`rotated ${r.KeyId}: new data is encrypted under a new key version; older versions still decrypt`);
      return 0;
    });
  },
};

const scheduleDeletion: Command = {
  name: 'schedule-deletion',
  options: { days: { type: 'string' } },
  operands: { min: 1, max: 1, names: 'KEY' },
  async run({ global: g, values, positionals }) {
    const days = intOption(values, 'days', 7, 30);
    return withStore(g, async (kw) => {
      const r = await kw.scheduleKeyDeletion({ KeyId: await keyIdOf(kw, positionals[0]!), ...(days !== undefined ? { PendingWindowInDays: days } : {}) });
      if (g.json) sayJson(r);
      else say(`${r.KeyId} is ${r.KeyState}: it will be deleted on ${r.DeletionDate.toISOString()} (in ${r.PendingWindowInDays} days)`);
      return 0;
    });
  },
};

export const keyCommands: readonly Command[] = [init, createKey, listKeys, describeKey, rotate, scheduleDeletion];
