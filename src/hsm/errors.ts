// Typed errors of the PKCS#11 layer. A failed Cryptoki call is a Pkcs11Error with structured fields
// (the CKR_* name, its numeric code, and the C_* function that returned it), never a string to parse.
// The native addon (src/hsm/native.ts) raises the same shape. Nothing here ever carries a PIN or key
// material: messages name the module path, token label, slot and function only.

/** A Cryptoki function returned something other than CKR_OK. */
export class Pkcs11Error extends Error {
  override name = 'Pkcs11Error';
  constructor(
    /** The CKR_* name of the return value, e.g. 'CKR_PIN_INCORRECT' (or 'CKR_0x…' for unknown vendor codes). */
    readonly ckr: string,
    /** The numeric CK_RV. */
    readonly code: number,
    /** The Cryptoki function that failed, e.g. 'C_Login'. */
    readonly method: string,
    detail?: string,
  ) {
    super(`${method} failed: ${ckr} (0x${code.toString(16).padStart(8, '0')})${detail ? `: ${detail}` : ''}`);
  }
}

/** The PKCS#11 module could not be loaded (no such file, not a shared library, no C_GetFunctionList). */
export class ModuleLoadError extends Error {
  override name = 'ModuleLoadError';
  constructor(
    /** The module path as configured. */
    readonly module: string,
    reason: string,
  ) {
    super(`cannot load PKCS#11 module ${module}: ${reason}`);
  }
}

/** No initialized token with the configured label, or no such slot. */
export class TokenNotFoundError extends Error {
  override name = 'TokenNotFoundError';
  constructor(
    /** The token label or slot id that was asked for. */
    readonly token: string | bigint,
    /** Labels of the tokens the module does present, to make a typo obvious. */
    readonly available: readonly string[],
  ) {
    const what = typeof token === 'string' ? `token labelled '${token}'` : `slot ${token}`;
    super(`no ${what} in the PKCS#11 module (tokens present: ${available.length ? available.map((l) => `'${l}'`).join(', ') : 'none'})`);
  }
}

/** The HSM configuration (file or environment) is incomplete or contradictory; `field` names the culprit. */
export class HsmConfigError extends Error {
  override name = 'HsmConfigError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** A token key looked up or created by label: none has it, several have it, or it is taken already. */
export class KeyLabelError extends Error {
  override name = 'KeyLabelError';
  constructor(
    readonly label: string,
    readonly reason: 'not-found' | 'ambiguous' | 'exists',
  ) {
    const what = { 'not-found': 'no token key is labelled', ambiguous: 'several token keys are labelled', exists: 'a token key is already labelled' }[reason];
    super(`${what} '${label}'`);
  }
}

/** Every member of an HSM cluster in service failed (or none is in service): `failures` holds each member's error. */
export class ClusterUnavailableError extends Error {
  override name = 'ClusterUnavailableError';
  constructor(
    readonly operation: string,
    readonly failures: readonly { member: string; error: unknown }[],
  ) {
    super(`no HSM cluster member could run ${operation}${failures.length ? `: ${failures.map((f) => `${f.member}: ${(f.error as Error)?.message ?? String(f.error)}`).join('; ')}` : ': every member is out of service'}`);
  }
}
