// keyward/hsm: PKCS#11 hardware keys. The Pkcs11Provider (the Provider seam over an HSM token), its
// config, the typed object model over pkcs11js, and the typed errors.
export { Pkcs11Provider, type Pkcs11KeyOptions, type Pkcs11ProviderOptions } from './pkcs11-provider.js';
export { checkHsmConfig, loadHsmConfig, readPin, DEFAULT_SESSIONS, type HsmConfig } from './config.js';
export { HsmConfigError, KeyLabelError, ModuleLoadError, Pkcs11Error, TokenNotFoundError } from './errors.js';
export {
  Pkcs11Module, Slot, Session, ckrName, secretKeyTemplate, keyPairTemplates, generateAesKey, generateHmacKey, generateEcKeyPair, generateRsaKeyPair,
  type Attributes, type AttributeName, type KeyOptions, type Mechanism, type ModuleInfo, type ObjectHandle, type SecretKind, type TokenInfo,
} from './pkcs11.js';
export {
  HsmCluster, ClusterUnavailableError, CLUSTER_TRANSPORT_LABEL, DEFAULT_HEALTH_CHECK_MS, loadHsmSetup, openHsm,
  type HsmClusterConfig, type HsmSetup, type MemberStatus,
} from './cluster.js';
