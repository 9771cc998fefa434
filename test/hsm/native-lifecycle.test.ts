// The native addon's own lifecycle, in a process where it is the first to initialize the module:
// shared initialization between pools, C_Finalize after the last close, cleanup after a failed open,
// and a process that ends with pools still open.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { SHARE_ENV, Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';

import { Pkcs11Error, loadNative } from '../../src/hsm/native.js';
import { KeyMaker, PIN, SOFTHSM, alreadyInitialized, createTokenDir, initToken } from './_native-softhsm.js';

createTokenDir('native-lifecycle');
const SLOT = initToken('kw-lifecycle');
const ADDON = fileURLToPath(new URL('../../build/Release/keyward_pkcs11.node', import.meta.url));
const PKCS11JS = createRequire(import.meta.url).resolve('pkcs11js');
const CKM_SHA256_HMAC = 0x251;

/**
 * Plain CommonJS for a child process or a worker: loads the .node directly, opens a pool of two sessions,
 * makes a session AES-256 key (32 bytes of fill) with pkcs11js, and leaves `pool`, `key` and a 1 KiB
 * `item` to encrypt in scope.
 */
const poolWithAesKey = (fill: number): string => `
      const pkcs11js = require(${JSON.stringify(PKCS11JS)});
      const addon = require(${JSON.stringify(ADDON)});
      const pool = addon.open({ module: ${JSON.stringify(SOFTHSM)}, slot: ${SLOT}, pin: ${JSON.stringify(PIN)}, sessions: 2 });
      const p = new pkcs11js.PKCS11();
      p.load(${JSON.stringify(SOFTHSM)});
      const slot = p.C_GetSlotList(true).find((s) => Number(s.readBigUInt64LE(0)) === ${SLOT});
      const session = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      const key = Number(p.C_CreateObject(session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_VALUE, value: Buffer.alloc(32, ${fill}) },
        { type: pkcs11js.CKA_ENCRYPT, value: true },
        { type: pkcs11js.CKA_TOKEN, value: false },
      ]).readBigUInt64LE(0));
      const item = { iv: Buffer.alloc(12), aad: Buffer.alloc(0), data: Buffer.alloc(1024) };
`;

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

  it('an idle open pool does not keep a process alive, in-flight work does, and exiting mid-batch is clean', () => {
    // A child process that leaves its pool open.
    const script = `
      ${poolWithAesKey(7)}
      if (process.argv[1] === 'idle') {
        // Nothing but this promise is pending: the pool must hold the loop open until it settles.
        pool.aesGcmEncrypt(key, item.iv, item.aad, item.data).then((ct) => console.log('settled ' + ct.length));
      } else {
        // process.exit() while both threads are inside the module: they must be stopped before the
        // module's static objects are destroyed.
        pool.aesGcmEncryptBatch(key, Array.from({ length: 20000 }, () => item)).then(() => console.log('too slow to test'));
        setTimeout(() => { console.log('exiting'); process.exit(0); }, 5 + Math.random() * 30);
      }
    `;
    const runs: [string, RegExp][] = [['idle', /^settled 1040\n$/], ...Array.from({ length: 6 }, (): [string, RegExp] => ['exit-busy', /^exiting\n$/])];
    for (const [mode, expected] of runs) {
      const child = spawnSync(process.execPath, ['-e', script, mode], { encoding: 'utf8', timeout: 30_000, env: process.env });
      expect(child.error, mode).toBeUndefined();
      expect(child.signal, `${mode}: ${child.stderr}`).toBeNull();
      expect(child.status, `${mode}: ${child.stderr}`).toBe(0);
      expect(child.stdout, mode).toMatch(expected);
    }
  });

  it('a worker thread terminated mid-batch with its pool open stops the pool cleanly and lets go of the module', async () => {
    const code = `
      const { parentPort } = require('node:worker_threads');
      ${poolWithAesKey(9)}
      pool.aesGcmEncrypt(key, item.iv, item.aad, item.data).then((ct) => {
        parentPort.postMessage(ct.length);
        pool.aesGcmEncryptBatch(key, Array.from({ length: 20000 }, () => item));
        setTimeout(() => parentPort.postMessage('busy'), 5 + Math.random() * 20);
      });
    `;
    for (let run = 0; run < 4; run++) {
      const worker = new Worker(code, { eval: true, env: SHARE_ENV });
      const messages: unknown[] = [];
      await new Promise<void>((resolve, reject) => {
        worker.on('message', (m) => {
          messages.push(m);
          if (m === 'busy') resolve();
        });
        worker.on('error', reject);
      });
      await worker.terminate();
      expect(messages).toEqual([1040, 'busy']);
    }
    // The workers' pools were the module's only users: it is finalized again.
    expect(alreadyInitialized()).toBe(false);
  });

  it('a Pkcs11Error from the addon is the class src/hsm exports', () => {
    expect(() => loadNative().open({ module: SOFTHSM, slot: 123_456, pin: PIN, sessions: 1 })).toThrow(Pkcs11Error);
    expect(alreadyInitialized()).toBe(false);
  });
});
