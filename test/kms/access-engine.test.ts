// Access control through the engine: principals × every key operation against the default policy with
// separate administrators and users, account-level operations, conditions on the encryption context,
// explicit deny, and audit of refusals.
import { describe, expect, it } from 'vitest';
import type { Keyward } from '../../src/kms/keyward.js';
import { ACCOUNT, ADMIN, ALICE, BOB, MALLORY, engine, utf8 } from './_engine.js';

type Role = 'admin' | 'user';
type Op = (kw: Keyward, ids: Ids) => Promise<unknown>;
interface Ids {
  sym: string;
  ecc: string;
  hmac: string;
  blob: Uint8Array;
  sig: Uint8Array;
  mac: Uint8Array;
}

// Each key operation and the roles of the default policy that grant it (administrators get Describe*
// and Get*, so DescribeKey and GetPublicKey are theirs too).
const OPS: [string, Role[], Op][] = [
  ['DescribeKey', ['admin', 'user'], (kw, k) => kw.describeKey({ KeyId: k.sym })],
  ['Encrypt', ['user'], (kw, k) => kw.encrypt({ KeyId: k.sym, Plaintext: utf8('x') })],
  ['Decrypt', ['user'], (kw, k) => kw.decrypt({ CiphertextBlob: k.blob })],
  ['ReEncrypt', ['user'], (kw, k) => kw.reEncrypt({ CiphertextBlob: k.blob, DestinationKeyId: k.sym })],
  ['GenerateDataKey', ['user'], (kw, k) => kw.generateDataKey({ KeyId: k.sym, KeySpec: 'AES_256' })],
  ['GenerateDataKeyWithoutPlaintext', ['user'], (kw, k) => kw.generateDataKeyWithoutPlaintext({ KeyId: k.sym, KeySpec: 'AES_256' })],
  ['GenerateDataKeyPair', ['user'], (kw, k) => kw.generateDataKeyPair({ KeyId: k.sym, KeyPairSpec: 'ECC_NIST_P256' })],
  ['Sign', ['user'], (kw, k) => kw.sign({ KeyId: k.ecc, Message: utf8('m'), SigningAlgorithm: 'ECDSA_SHA_256' })],
  ['Verify', ['user'], (kw, k) => kw.verify({ KeyId: k.ecc, Message: utf8('m'), Signature: k.sig, SigningAlgorithm: 'ECDSA_SHA_256' })],
  ['GetPublicKey', ['admin', 'user'], (kw, k) => kw.getPublicKey({ KeyId: k.ecc })],
  ['GenerateMac', ['user'], (kw, k) => kw.generateMac({ KeyId: k.hmac, Message: utf8('m'), MacAlgorithm: 'HMAC_SHA_256' })],
  ['VerifyMac', ['user'], (kw, k) => kw.verifyMac({ KeyId: k.hmac, Message: utf8('m'), Mac: k.mac, MacAlgorithm: 'HMAC_SHA_256' })],
  ['GetKeyPolicy', ['admin'], (kw, k) => kw.getKeyPolicy({ KeyId: k.sym })],
  ['ListKeyPolicies', ['admin'], (kw, k) => kw.listKeyPolicies({ KeyId: k.sym })],
  ['ListResourceTags', ['admin'], (kw, k) => kw.listResourceTags({ KeyId: k.sym })],
  ['TagResource', ['admin'], (kw, k) => kw.tagResource({ KeyId: k.sym, Tags: [{ TagKey: 't', TagValue: 'v' }] })],
  ['UntagResource', ['admin'], (kw, k) => kw.untagResource({ KeyId: k.sym, TagKeys: ['t'] })],
  ['EnableKeyRotation', ['admin'], (kw, k) => kw.enableKeyRotation({ KeyId: k.sym })],
  ['GetKeyRotationStatus', ['admin'], (kw, k) => kw.getKeyRotationStatus({ KeyId: k.sym })],
  ['ListKeyRotations', ['admin'], (kw, k) => kw.listKeyRotations({ KeyId: k.sym })],
  ['DisableKeyRotation', ['admin'], (kw, k) => kw.disableKeyRotation({ KeyId: k.sym })],
  ['RotateKeyOnDemand', ['admin'], (kw, k) => kw.rotateKeyOnDemand({ KeyId: k.sym })],
  ['CreateAlias', ['admin'], (kw, k) => kw.createAlias({ AliasName: `alias/${kw.principal.replace(/[^a-zA-Z0-9]/g, '-')}`, TargetKeyId: k.sym })],
  ['DisableKey', ['admin'], (kw, k) => kw.disableKey({ KeyId: k.hmac })],
  ['EnableKey', ['admin'], (kw, k) => kw.enableKey({ KeyId: k.hmac })],
  ['PutKeyPolicy', ['admin'], async (kw, k) => kw.putKeyPolicy({ KeyId: k.sym, Policy: (await adminView(kw).getKeyPolicy({ KeyId: k.sym })).Policy })],
  ['ScheduleKeyDeletion', ['admin'], (kw, k) => kw.scheduleKeyDeletion({ KeyId: k.ecc })],
  ['CancelKeyDeletion', ['admin'], (kw, k) => kw.cancelKeyDeletion({ KeyId: k.ecc })],
  ['EnableKey', ['admin'], (kw, k) => kw.enableKey({ KeyId: k.ecc })],
];

const adminView = (kw: Keyward): Keyward => kw.as(ADMIN);

async function setup() {
  const h = await engine({ keyAdministrators: [ADMIN], keyUsers: [ALICE] });
  const admin = h.kw.as(ADMIN);
  const alice = h.kw.as(ALICE);
  const sym = (await admin.createKey()).KeyMetadata.KeyId;
  const ecc = (await admin.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata.KeyId;
  const hmac = (await admin.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata.KeyId;
  const ids: Ids = {
    sym, ecc, hmac,
    blob: (await alice.encrypt({ KeyId: sym, Plaintext: utf8('x') })).CiphertextBlob,
    sig: (await alice.sign({ KeyId: ecc, Message: utf8('m'), SigningAlgorithm: 'ECDSA_SHA_256' })).Signature,
    mac: (await alice.generateMac({ KeyId: hmac, Message: utf8('m'), MacAlgorithm: 'HMAC_SHA_256' })).Mac,
  };
  return { h, ids };
}

async function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(() => 'ok', (e: Error) => e.name);
}

describe('default key policy: administrators and users are separate', () => {
  it('each principal can call exactly the operations of its role, in operation order', async () => {
    const { h, ids } = await setup();
    const roles: [string, 'admin' | 'user' | 'none'][] = [[ADMIN, 'admin'], [ALICE, 'user'], [BOB, 'none'], [MALLORY, 'none'], [`arn:aws:iam::${ACCOUNT}:root`, 'none']];
    for (const [principal, role] of roles) {
      const kw = h.kw.as(principal);
      for (const [name, needs, op] of OPS) {
        const got = await outcome(op(kw, ids));
        const want = role !== 'none' && needs.includes(role) ? 'ok' : 'AccessDeniedException';
        expect(got, `${principal} ${name}`).toBe(want);
      }
    }
    const audit = await h.kw.auditTail(1000);
    const denied = audit.filter((r) => r.outcome === 'AccessDeniedException');
    const allowed = OPS.filter(([, r]) => r.includes('admin')).length + OPS.filter(([, r]) => r.includes('user')).length;
    expect(denied.length).toBe(OPS.length * roles.length - allowed);
    expect(await h.kw.verifyAudit()).toMatchObject({ ok: true });
  });

  it('account-level operations are open to the account and closed to other accounts', async () => {
    const { h } = await setup();
    for (const p of [ADMIN, ALICE, BOB]) {
      const kw = h.kw.as(p);
      expect(await outcome(kw.listKeys())).toBe('ok');
      expect(await outcome(kw.listAliases())).toBe('ok');
      expect(await outcome(kw.generateRandom({ NumberOfBytes: 8 }))).toBe('ok');
    }
    const m = h.kw.as(MALLORY);
    expect(await outcome(m.listKeys())).toBe('AccessDeniedException');
    expect(await outcome(m.createKey())).toBe('AccessDeniedException');
    expect(await outcome(m.generateRandom({ NumberOfBytes: 8 }))).toBe('AccessDeniedException');
    expect(await outcome(h.kw.as('not-an-arn').listKeys())).toBe('ValidationException');
  });
});

describe('policy conditions and explicit deny', () => {
  it('a Deny on Decrypt unless the context says dept=finance beats the users statement', async () => {
    const { h, ids } = await setup();
    const admin = h.kw.as(ADMIN);
    const alice = h.kw.as(ALICE);
    const doc = JSON.parse((await admin.getKeyPolicy({ KeyId: ids.sym })).Policy) as { Statement: object[] };
    doc.Statement.push({
      Sid: 'finance only', Effect: 'Deny', Principal: { AWS: '*' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: '*',
      Condition: { StringNotEquals: { 'kms:EncryptionContext:dept': 'finance' } },
    });
    await admin.putKeyPolicy({ KeyId: ids.sym, Policy: JSON.stringify(doc) });
    const fin = await alice.encrypt({ KeyId: ids.sym, Plaintext: utf8('f'), EncryptionContext: { dept: 'finance' } });
    const hr = await alice.encrypt({ KeyId: ids.sym, Plaintext: utf8('h'), EncryptionContext: { dept: 'hr' } });
    expect((await alice.decrypt({ CiphertextBlob: fin.CiphertextBlob, EncryptionContext: { dept: 'finance' } })).Plaintext).toEqual(utf8('f'));
    expect(await outcome(alice.decrypt({ CiphertextBlob: hr.CiphertextBlob, EncryptionContext: { dept: 'hr' } }))).toBe('AccessDeniedException');
    expect(await outcome(alice.generateDataKey({ KeyId: ids.sym, KeySpec: 'AES_256' }))).toBe('AccessDeniedException');
    expect(await outcome(alice.generateDataKey({ KeyId: ids.sym, KeySpec: 'AES_256', EncryptionContext: { dept: 'finance' } }))).toBe('ok');
  });

  it('PutKeyPolicy refuses a policy that would lock the caller out, unless bypassed', async () => {
    const { h, ids } = await setup();
    const admin = h.kw.as(ADMIN);
    const lockout = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: ALICE }, Action: 'kms:*', Resource: '*' }] });
    expect(await outcome(admin.putKeyPolicy({ KeyId: ids.sym, Policy: lockout }))).toBe('MalformedPolicyDocumentException');
    expect(await outcome(admin.putKeyPolicy({ KeyId: ids.sym, Policy: lockout, BypassPolicyLockoutSafetyCheck: true }))).toBe('ok');
    expect(await outcome(admin.describeKey({ KeyId: ids.sym }))).toBe('AccessDeniedException');
    expect(await outcome(h.kw.as(ALICE).putKeyPolicy({ KeyId: ids.sym, Policy: lockout }))).toBe('ok');
  });
});
