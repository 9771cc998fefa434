// How a PKCS#11 module is initialized in Keyward: the native addon makes the C_Initialize (also when
// pkcs11js opens the module through Pkcs11Module.load) and hands the module its adaptive mutexes with
// CKF_OS_LOCKING_OK; the last of its users finalizes. The fixture (fixtures/init-probe.c) reports through
// C_GetInfo what C_Initialize received, after two threads of its own have incremented a counter under
// one of those mutexes, and how many times the process has initialized it.
import { describe, expect, it } from 'vitest';
import { loadNative } from '../../src/hsm/native.js';
import { Pkcs11Module } from '../../src/hsm/pkcs11.js';
import { compileFixture } from './_fixtures.js';

const probe = compileFixture('init-probe', ['-lpthread']);
const initialized = (n: number) => `mutex:given os:1 exclusion:ok #${n}`;

describe('PKCS#11 module initialization', () => {
  it('Pkcs11Module.load initializes through the addon (mutex callbacks that exclude, CKF_OS_LOCKING_OK); the last user finalizes', () => {
    const release = loadNative().retainModule(probe);
    const m = Pkcs11Module.load(probe);
    expect(m.info().manufacturer).toBe('keyward test fixture');
    expect(m.info().library).toBe(initialized(1));
    m.close();
    // The addon still holds it: a new load shares that initialization.
    const shared = Pkcs11Module.load(probe);
    expect(shared.info().library).toBe(initialized(1));
    shared.close();
    release();
    release();
    // Nobody held it any more, so it was finalized: this load initializes afresh.
    const again = Pkcs11Module.load(probe);
    expect(again.info().library).toBe(initialized(2));
    again.close();
  });
});
