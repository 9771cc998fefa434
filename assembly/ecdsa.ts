// ECDSA (SEC 1 v2 §4.1, FIPS 186-5 §6.4) and key-pair derivation over the curves of ec.ts.
//
// The nonce k and the private key d come from JS (RFC 6979 hedged nonces, CSPRNG keys): WASM never
// makes random bytes. Signing is constant time: k·G by the fixed-base comb (mulGen), r = x(R) mod n
// by an always-run conditional subtraction, k⁻¹ by the constant-time inversion of _field.ts (safegcd
// or Fermat), every product mod n in Montgomery form; only the validity bits that the return value
// reports decide a branch. Secret temporaries are wiped before returning. Verification works on public data and uses mulDoubleVartime.
import { wipe } from './_ct';
import {
  FE, fadd, ffromMont, finv, fmul, ftoMont, limbsFromBytes, limbsNonzero, limbsReduceOnce, limbsToBytes,
} from './_field';
import {
  PRES, S0, S1, S2, S3, S4, S5, S6, S7, cFN, cFP, cL, cN, ecWipe, jacobianXEqualsVartime, mulDoubleVartime, mulGen, pointLoad,
  pointStore, pointToAffine, scalarLoad, useCurve,
} from './ec';

// bits2int (SEC 1 v2 §4.1.3 step 5, FIPS 186-5 §6.4.1 step 4): the leftmost min(8·eLen, bitlen(n))
// bits of e as an integer, then reduced mod n (one subtraction: the value is < 2^bitlen(n) < 2n).
// eLen is public.
function hashToScalar(r: usize, e: usize, eLen: i32, bits: i32): void {
  memory.fill(r, 0, FE);
  if (eLen <= 0) return;
  if (8 * eLen <= bits) {
    limbsFromBytes(r, e, eLen, cN);
  } else {
    limbsFromBytes(r, e, cL, cN);
    const sh = <u32>(8 * cL - bits);
    if (sh != 0) {
      for (let i = 0; i < cN; i++) {
        const p = r + (<usize>i << 2);
        const hi: u32 = i + 1 < cN ? load<u32>(p, 4) : 0;
        store<u32>(p, (load<u32>(p) >> sh) | (hi << (32 - sh)));
      }
    }
  }
  limbsReduceOnce(r, cFN);
}

function orderBits(curve: i32): i32 {
  return curve == 2 ? 521 : 8 * cL;
}

// out = d·G as X‖Y; 1, or 0 (out zeroed) if d ∉ [1, n − 1].
export function ecPublicKey(curve: i32, d: usize, out: usize): i32 {
  if (!useCurve(curve)) return 0;
  const ok = scalarLoad(S0, d);
  if (ok == 0) {
    wipe(out, 2 * cL);
    ecWipe();
    return 0;
  }
  mulGen(PRES, S0);
  pointStore(out, out + <usize>cL, PRES);
  ecWipe();
  return 1;
}

// out = r‖s, signature of the hash e (eLen bytes) with private key d and nonce k. Returns 1, or 0 with
// out zeroed if d or k ∉ [1, n − 1] or r = 0 or s = 0 (the caller retries with a fresh k).
export function ecdsaSign(curve: i32, d: usize, k: usize, e: usize, eLen: i32, out: usize): i32 {
  if (!useCurve(curve)) return 0;
  const sd = S0, sk = S1, sr = S2, se = S3, t0 = S4, t1 = S5, ss = S6;
  const ok = scalarLoad(sd, d) & scalarLoad(sk, k);
  if (ok == 0) {
    wipe(out, 2 * cL);
    ecWipe();
    return 0;
  }
  const fn = cFN;
  // §4.1.3 steps 1-3: R = k·G, r = x(R) mod n (x < p < 2n).
  mulGen(PRES, sk);
  pointToAffine(sr, t0, PRES);
  ffromMont(sr, sr, cFP);
  store<u32>(sr + (<usize>cN << 2), 0);
  limbsReduceOnce(sr, fn);
  hashToScalar(se, e, eLen, orderBits(curve));
  // Step 6: s = k⁻¹(e + r·d) mod n.
  ftoMont(t0, sr, fn);
  ftoMont(t1, sd, fn);
  fmul(t0, t0, t1, fn);
  ftoMont(t1, se, fn);
  fadd(t0, t0, t1, fn);
  ftoMont(t1, sk, fn);
  finv(t1, t1, fn);
  fmul(t0, t0, t1, fn);
  ffromMont(ss, t0, fn);
  const good = limbsNonzero(sr, cN) & limbsNonzero(ss, cN);
  if (good == 0) {
    wipe(out, 2 * cL);
    ecWipe();
    return 0;
  }
  limbsToBytes(out, sr, cL);
  limbsToBytes(out + <usize>cL, ss, cL);
  ecWipe();
  return 1;
}

// 1 iff sig = r‖s is a valid signature of the hash e under the public key q = X‖Y (SEC 1 v2 §4.1.4):
// r, s ∈ [1, n − 1], Q on the curve with coordinates < p, x(u1·G + u2·Q) mod n = r. Public inputs only.
export function ecdsaVerify(curve: i32, q: usize, e: usize, eLen: i32, sig: usize): i32 {
  if (!useCurve(curve)) return 0;
  const qx = S0, qy = S1, sr = S2, ss = S3, se = S4, w = S5, u1 = S6, u2 = S7;
  const fn = cFN;
  if (scalarLoad(sr, sig) == 0 || scalarLoad(ss, sig + <usize>cL) == 0) return 0;
  if (pointLoad(qx, qy, q) == 0) return 0;
  hashToScalar(se, e, eLen, orderBits(curve));
  // w = s⁻¹ (Montgomery form); u = plain · Montgomery gives the plain product.
  ftoMont(w, ss, fn);
  finv(w, w, fn);
  fmul(u1, se, w, fn);
  fmul(u2, sr, w, fn);
  store<u32>(u1 + (<usize>cN << 2), 0);
  store<u32>(u2 + (<usize>cN << 2), 0);
  mulDoubleVartime(PRES, u1, u2, qx, qy);
  return <i32>jacobianXEqualsVartime(PRES, sr);
}
