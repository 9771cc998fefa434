// The native addon's own lifecycle, in a process where it is the first to initialize the module:
// shared initialization between pools, C_Finalize after the last close, cleanup after a failed open,
// and a process that ends with pools still open.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { Pkcs11Error, loadNative } from '../../src/hsm/native.js';
import { KeyMaker, PIN, SOFTHSM, alreadyInitialized, createTokenDir, initToken } from './_native-softhsm.js';

createTokenDir('native-lifecycle');
const SLOT = initToken('kw-lifecycle');
const ADDON = fileURLToPath(new URL('../../build/Release/keyward_pkcs11.node', import.meta.url));
const CKM_SHA256_HMAC = 0x251;

describe('native addon lifecycle', () => {
  it('a failed open (wrong PIN) leaves the module neither initialized nor logged in', () => {
    expect(alreadyInitialized()).toBe(false);
    expect(() => loadNative().open({ module: SOFTHSM, slot: SLOT, pin: 'wrong-pin', sessions: 3 })).toThrow(
      expect.objectContaining({ ckr: 'CKR_PIN_INCORRECT', method: 'C_Login', code: 0xa0 }),
    );
    expect(alreadyInitialized()).toBe(false);
  });

  it('initializes the module once for every pool, and finalizes it when the last pool closes', async () => {
    const native = loadNative();
    const a = native.open({ module: SOFTHSM, slot: SLOT, pin: PIN, sessions: 2 });
    expect(alreadyInitialized()).toBe(true);
    const b = native.open({ module: SOFTHSM, slot: SLOT, pin: PIN, sessions: 1 });

    // pkcs11js shares the addon's initialization (and login) to make a key both pools can use.
    const maker = new KeyMaker(SLOT);
    const macKey = randomBytes(32);
    const key = maker.secretKey(macKey, 'hmac');
    const msg = randomBytes(40);
    const mac = await a.sign(key, { type: CKM_SHA256_HMAC }, msg);
    expect(Buffer.from(await b.sign(key, { type: CKM_SHA256_HMAC }, msg)).equals(Buffer.from(mac))).toBe(true);

    a.close();
    // b keeps working: closing a neither finalized the module nor logged the application out.
    expect(await b.verify(key, { type: CKM_SHA256_HMAC }, msg, mac)).toBe(true);
    expect(alreadyInitialized()).toBe(true);
    maker.close();
    b.close();
    expect(alreadyInitialized()).toBe(false);

    // And it comes back: a new pool loads and initializes the module again.
    const c = native.open({ module: SOFTHSM, slot: SLOT, pin: PIN, sessions: 1 });
    expect(c.size).toBe(1);
    expect(alreadyInitialized()).toBe(true);
    c.close();
    expect(alreadyInitialized()).toBe(false);
  });

  it('an idle open pool does not keep a process alive, in-flight work does, and exiting with open pools is clean', () => {
    // Plain JS in a child: load the .node directly, leave the pool open, let the process end by itself.
    const script = `
      const addon = require(${JSON.stringify(ADDON)});
      const pool = addon.open({ module: ${JSON.stringify(SOFTHSM)}, slot: ${SLOT}, pin: ${JSON.stringify(PIN)}, sessions: 2 });
      // No handle key 424242 exists: the call still travels through a pool thread and back.
      pool.aesGcmEncrypt(424242, Buffer.alloc(12), Buffer.alloc(0), Buffer.alloc(16)).catch((e) => {
        console.log('settled ' + e.method + ' ' + e.ckr);
        if (process.argv[1] === 'exit-busy') {
          const busy = addon.open({ module: ${JSON.stringify(SOFTHSM)}, slot: ${SLOT}, pin: ${JSON.stringify(PIN)}, sessions: 2 });
          busy.aesGcmEncryptBatch(424242, Array.from({ length: 20000 }, () => ({ iv: Buffer.alloc(12), aad: Buffer.alloc(0), data: Buffer.alloc(1024) }))).catch(() => {});
          process.exit(0);
        }
      });
    `;
    for (const mode of ['idle', 'exit-busy']) {
      const child = spawnSync(process.execPath, ['-e', script, mode], { encoding: 'utf8', timeout: 30_000, env: process.env });
      expect(child.error, mode).toBeUndefined();
      expect(child.signal, `${mode}: ${child.stderr}`).toBeNull();
      expect(child.status, `${mode}: ${child.stderr}`).toBe(0);
      expect(child.stdout, mode).toMatch(/^settled C_EncryptInit CKR_(KEY|OBJECT)_HANDLE_INVALID\n$/);
    }
  });

  it('a Pkcs11Error from the addon is the class src/hsm exports', () => {
    expect(() => loadNative().open({ module: SOFTHSM, slot: 123_456, pin: PIN, sessions: 1 })).toThrow(Pkcs11Error);
    expect(alreadyInitialized()).toBe(false);
  });
});
