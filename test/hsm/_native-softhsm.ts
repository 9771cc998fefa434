// SoftHSM2 tokens for the native addon's tests: a token directory of the test file's own (SoftHSM2
// reads SOFTHSM2_CONF once per C_Initialize, so call createTokenDir at the file's top level, before
// anything initializes the module), tokens made with softhsm2-util, and keys made through pkcs11js.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pkcs11js from 'pkcs11js';

export const SOFTHSM = '/usr/lib/softhsm/libsofthsm2.so';
export const PIN = '4321-user';
const SO_PIN = '8765-so';

/** A fresh token directory and softhsm2.conf; sets SOFTHSM2_CONF for this process. */
export function createTokenDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `keyward-${tag}-`));
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  return dir;
}

/** Initializes a token in the first free slot; returns its slot id. */
export function initToken(label: string, pin = PIN): number {
  const out = execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', SO_PIN], {
    encoding: 'utf8',
  });
  const m = /reassigned to slot (\d+)/.exec(out);
  if (!m) throw new Error(`softhsm2-util did not report a slot: ${out}`);
  return Number(m[1]);
}

/** A pkcs11js handle (CK_ULONG in native byte order) as the number the addon takes. */
export function handleNumber(h: Buffer): number {
  return Number(h.readBigUInt64LE(0));
}

/** Whether C_Initialize through pkcs11js finds the library already initialized in this process. */
export function alreadyInitialized(): boolean {
  const p = new pkcs11js.PKCS11();
  p.load(SOFTHSM);
  try {
    p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (e) {
    p.close();
    if (e instanceof Error && e.message.includes('CKR_CRYPTOKI_ALREADY_INITIALIZED')) return true;
    throw e;
  }
  p.C_Finalize();
  p.close();
  return false;
}

/**
 * A logged-in pkcs11js session on slot, for making keys. It initializes the library, or shares an
 * initialization the addon made first; close() ends the session and finalizes only what it initialized.
 */
export class KeyMaker {
  readonly p = new pkcs11js.PKCS11();
  readonly session: Buffer;
  readonly #owned: boolean;

  constructor(slot: number, pin = PIN) {
    this.p.load(SOFTHSM);
    // The addon drives the same library from several threads: OS locking, as the addon asks for too.
    let owned = true;
    try {
      this.p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    } catch (e) {
      if (!(e instanceof Error && e.message.includes('CKR_CRYPTOKI_ALREADY_INITIALIZED'))) throw e;
      owned = false;
    }
    this.#owned = owned;
    const handle = this.p.C_GetSlotList(true).find((s) => handleNumber(s) === slot);
    if (!handle) throw new Error(`no slot ${slot}`);
    this.session = this.p.C_OpenSession(handle, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      this.p.C_Login(this.session, pkcs11js.CKU_USER, pin);
    } catch (e) {
      // Login belongs to the application: a pool of the addon may hold it already.
      if (!(e instanceof Error && e.message.includes('CKR_USER_ALREADY_LOGGED_IN'))) throw e;
    }
  }

  /** A sensitive, non-extractable session key holding known bytes (AES, or a generic HMAC secret). */
  secretKey(value: Uint8Array, kind: 'aes' | 'hmac'): number {
    const usage =
      kind === 'aes'
        ? [
            { type: pkcs11js.CKA_ENCRYPT, value: true },
            { type: pkcs11js.CKA_DECRYPT, value: true },
          ]
        : [
            { type: pkcs11js.CKA_SIGN, value: true },
            { type: pkcs11js.CKA_VERIFY, value: true },
          ];
    return handleNumber(
      this.p.C_CreateObject(this.session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: kind === 'aes' ? pkcs11js.CKK_AES : pkcs11js.CKK_GENERIC_SECRET },
        { type: pkcs11js.CKA_VALUE, value: Buffer.from(value) },
        { type: pkcs11js.CKA_TOKEN, value: false },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        ...usage,
      ]),
    );
  }

  /** An ECDSA P-256 pair generated in the token: the private handle and the public key as a JWK. */
  ecP256(): { priv: number; pub: number; jwk: { kty: 'EC'; crv: 'P-256'; x: string; y: string } } {
    const keys = this.p.C_GenerateKeyPair(
      this.session,
      { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
      [
        { type: pkcs11js.CKA_TOKEN, value: false },
        { type: pkcs11js.CKA_VERIFY, value: true },
        // DER OID 1.2.840.10045.3.1.7 (prime256v1)
        { type: pkcs11js.CKA_EC_PARAMS, value: Buffer.from('06082a8648ce3d030107', 'hex') },
      ],
      [
        { type: pkcs11js.CKA_TOKEN, value: false },
        { type: pkcs11js.CKA_SIGN, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      ],
    );
    const [point] = this.p.C_GetAttributeValue(this.session, keys.publicKey, [{ type: pkcs11js.CKA_EC_POINT }]);
    // CKA_EC_POINT is DER OCTET STRING(04 ‖ X ‖ Y): 04 41 04 X(32) Y(32).
    const der = point!.value as Buffer;
    if (der.length !== 67 || der[0] !== 0x04 || der[1] !== 65 || der[2] !== 0x04) throw new Error('unexpected CKA_EC_POINT encoding');
    return {
      priv: handleNumber(keys.privateKey),
      pub: handleNumber(keys.publicKey),
      jwk: { kty: 'EC', crv: 'P-256', x: der.subarray(3, 35).toString('base64url'), y: der.subarray(35).toString('base64url') },
    };
  }

  /** An RSA-2048 pair generated in the token: the private handle and the public key as a JWK. */
  rsa2048(): { priv: number; pub: number; jwk: { kty: 'RSA'; n: string; e: string } } {
    const keys = this.p.C_GenerateKeyPair(
      this.session,
      { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN },
      [
        { type: pkcs11js.CKA_TOKEN, value: false },
        { type: pkcs11js.CKA_VERIFY, value: true },
        { type: pkcs11js.CKA_MODULUS_BITS, value: 2048 },
        { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
      ],
      [
        { type: pkcs11js.CKA_TOKEN, value: false },
        { type: pkcs11js.CKA_SIGN, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      ],
    );
    const [n, e] = this.p.C_GetAttributeValue(this.session, keys.publicKey, [
      { type: pkcs11js.CKA_MODULUS },
      { type: pkcs11js.CKA_PUBLIC_EXPONENT },
    ]);
    return {
      priv: handleNumber(keys.privateKey),
      pub: handleNumber(keys.publicKey),
      jwk: { kty: 'RSA', n: (n!.value as Buffer).toString('base64url'), e: (e!.value as Buffer).toString('base64url') },
    };
  }

  close(): void {
    this.p.C_CloseSession(this.session);
    if (this.#owned) this.p.C_Finalize();
    this.p.close();
  }
}
