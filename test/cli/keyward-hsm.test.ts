// The built CLI on an HSM-backed store (SoftHSM2): init --hsm keeps the region key in the token and
// writes no unseal key; create-key (also --origin AWS_CLOUDHSM), encrypt and decrypt work with --hsm
// or $KEYWARD_HSM_CONFIG; without the HSM config the store refuses to open, naming it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hsmConfigFile, SOFTHSM_MODULE, softhsmTokens, USER_PIN } from '../hsm/_softhsm.js';
import { keyward, ok, requireBuild, tempDirs } from './_cli.js';

softhsmTokens('cli-hsm');

describe('keyward CLI on an HSM', () => {
  requireBuild();
  const tmp = tempDirs();

  it('init --hsm, create-key, encrypt and decrypt through the built CLI against SoftHSM2', () => {
    const work = tmp();
    const dir = join(work, 'store');
    const cfg = hsmConfigFile(work, 'cli-hsm');

    const init = ok(keyward(['--dir', dir, 'init', '--hsm', cfg]));
    expect(init.out).toMatch(/region key: the non-extractable token key keyward-rk-us-east-1 in the HSM/);
    expect(existsSync(join(dir, 'unseal.key'))).toBe(false);

    const soft = JSON.parse(ok(keyward(['--dir', dir, '--hsm', cfg, '--json', 'create-key'])).out) as { KeyMetadata: { KeyId: string; Origin: string } };
    expect(soft.KeyMetadata.Origin).toBe('AWS_KMS');
    const hard = JSON.parse(ok(keyward(['--dir', dir, '--json', 'create-key', '--origin', 'AWS_CLOUDHSM'], undefined, { KEYWARD_HSM_CONFIG: cfg })).out) as {
      KeyMetadata: { KeyId: string; Origin: string };
    };
    expect(hard.KeyMetadata.Origin).toBe('AWS_CLOUDHSM');

    const data = randomBytes(100_000);
    const src = join(work, 'data.bin');
    writeFileSync(src, data);
    for (const id of [soft.KeyMetadata.KeyId, hard.KeyMetadata.KeyId]) {
      const enc = join(work, `${id}.kw`);
      const out = join(work, `${id}.out`);
      ok(keyward(['--dir', dir, '--hsm', cfg, 'encrypt', '--key', id, '--context', 'app=cli', '--in', src, '--out', enc]));
      expect(readFileSync(enc).includes(data.subarray(0, 64))).toBe(false);
      ok(keyward(['--dir', dir, 'decrypt', '--context', 'app=cli', '--in', enc, '--out', out], undefined, { KEYWARD_HSM_CONFIG: cfg }));
      expect(readFileSync(out).equals(data)).toBe(true);
    }

    // The environment alone configures the HSM too.
    const env = { KEYWARD_HSM_MODULE: SOFTHSM_MODULE, KEYWARD_HSM_TOKEN: 'cli-hsm', KEYWARD_HSM_PIN: USER_PIN };
    const listed = JSON.parse(ok(keyward(['--dir', dir, '--json', 'list-keys'], undefined, env)).out) as { Keys: { KeyId: string }[] };
    expect(listed.Keys.map((k) => k.KeyId).sort()).toEqual([soft.KeyMetadata.KeyId, hard.KeyMetadata.KeyId].sort());
    const badPin = keyward(['--dir', dir, 'list-keys'], undefined, { ...env, KEYWARD_HSM_PIN: '00000000' });
    expect(badPin.status).toBe(1);
    expect(badPin.err).toMatch(/Pkcs11Error: C_Login failed: CKR_PIN_INCORRECT/);
    expect(badPin.err).not.toContain('00000000');

    // Without the HSM config the store does not open, and says what it needs.
    const refused = keyward(['--dir', dir, 'list-keys']);
    expect(refused.status).toBe(1);
    expect(refused.err).toMatch(/UnsealError: this store keeps its region keys in an HSM: open it with the HSM config/);
    // A software store refuses --origin AWS_CLOUDHSM.
    const plain = join(work, 'plain');
    ok(keyward(['--dir', plain, 'init']));
    const r = keyward(['--dir', plain, 'create-key', '--origin', 'AWS_CLOUDHSM']);
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/UnsupportedOperationException: Origin AWS_CLOUDHSM needs an HSM-backed Keyward/);
  });
});
