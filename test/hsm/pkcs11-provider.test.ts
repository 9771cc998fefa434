// Pkcs11Provider against a real SoftHSM2 token: the shared conformance suite first.
import { Pkcs11Provider } from '../../src/hsm/pkcs11-provider.js';
import { providerConformance } from '../crypto/provider-conformance.js';
import { softhsmTokens } from './_softhsm.js';

const T = softhsmTokens('conformance', 'hardware', 'pin-test');

providerConformance('Pkcs11Provider (SoftHSM2)', () => new Pkcs11Provider(T.conformance));
