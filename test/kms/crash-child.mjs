// The process test/kms/crash.test.ts kills with SIGKILL. It opens the Keyward store in <dir> (whose
// unseal.key the first open creates) and runs many concurrent callers doing CreateKey, RotateKeyOnDemand,
// Encrypt of known plaintexts, GenerateDataKey and CreateAlias. After each call resolves it writes one JSON
// line to stdout (fd 1, synchronously, so the line is out before the caller's next step): the call was
// acknowledged, so the parent may hold the store to it after any later kill. An `opening` line marks the
// start of Keyward.open, so the parent can aim a kill at the open itself.
//   node crash-child.mjs <dist/src/kms/keyward.js URL> <dir> <round> <account>

import { randomBytes } from 'node:crypto';
import { writeSync } from 'node:fs';

const [moduleUrl, dir, round, account] = process.argv.slice(2);
const { Keyward } = await import(moduleUrl);

const CALLERS = 16;

function line(obj) {
  const buf = Buffer.from(`${JSON.stringify(obj)}\n`);
  // A pipe the parent drains slowly may refuse a write for a moment; a line must go out whole.
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(1, buf, off);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
    }
  }
}

const b64 = (u8) => Buffer.from(u8).toString('base64');

line({ op: 'opening' });
const kw = await Keyward.open({ dir, account, maintenanceIntervalMs: 0 });
line({ op: 'ready', pid: process.pid });

// Keys of earlier rounds take rotations and encryptions too, so acknowledgements pile up on old keys.
const keys = (await kw.listKeys({ Limit: 50 })).Keys.map((k) => k.KeyId);
let seq = 0;

async function createKey() {
  const { KeyMetadata } = await kw.createKey({ Description: `crash round ${round}` });
  keys.push(KeyMetadata.KeyId);
  line({ op: 'key', keyId: KeyMetadata.KeyId });
}

async function rotate(keyId) {
  try {
    await kw.rotateKeyOnDemand({ KeyId: keyId });
  } catch (err) {
    // The engine allows 10 on-demand rotations per key; refusing the 11th is the expected outcome.
    if (err.name === 'LimitExceededException') return;
    throw err;
  }
  line({ op: 'rot', keyId });
}

async function encrypt(keyId) {
  const pt = randomBytes(1 + Math.floor(Math.random() * 200));
  const ctx = { round, n: String(seq++) };
  const r = await kw.encrypt({ KeyId: keyId, Plaintext: pt, EncryptionContext: ctx });
  line({ op: 'enc', keyId, blob: b64(r.CiphertextBlob), pt: b64(pt), ctx });
}

async function generateDataKey(keyId) {
  const ctx = { round, n: String(seq++) };
  const r = await kw.generateDataKey({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: ctx });
  line({ op: 'gdk', keyId, blob: b64(r.CiphertextBlob), pt: b64(r.Plaintext), ctx });
}

async function createAlias(keyId) {
  const name = `alias/crash-${round}-${seq++}`;
  await kw.createAlias({ AliasName: name, TargetKeyId: keyId });
  line({ op: 'alias', name, keyId });
}

async function caller() {
  for (;;) {
    const p = Math.random();
    const keyId = keys[Math.floor(Math.random() * keys.length)];
    try {
      if (keyId === undefined || p < 0.12) await createKey();
      else if (p < 0.27) await rotate(keyId);
      else if (p < 0.55) await encrypt(keyId);
      else if (p < 0.85) await generateDataKey(keyId);
      else await createAlias(keyId);
    } catch (err) {
      line({ op: 'error', name: err.name, message: err.message });
      process.exit(1);
    }
  }
}

await Promise.all(Array.from({ length: CALLERS }, caller));
