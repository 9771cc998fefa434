// ECDH primitive (SEC 1 v2 §3.3.1, NIST SP 800-56A r3 §5.7.1.2): the x-coordinate of d·Q.
//
// The peer point is validated first (coordinates < p, on the curve: SEC 1 v2 §3.2.2.1; all four
// curves have prime order, so a point on the curve other than the neutral element is in the group).
//
// CT: d·Q runs in constant time (mulCt); what may leak is the curve and the validity bits the return
// value reports (d in range, Q valid, result not the neutral element), the only values a branch reads.
// Temporaries are wiped before returning.
import { wipe } from './_ct';
import { PRES, S0, S1, S2, cL, ecWipe, mulCt, pointLoad, pointStore, scalarLoad, useCurve } from './ec';

// out = x(d·Q) (L bytes); 1, or 0 with out zeroed if d ∉ [1, n − 1], Q is not a valid point or the
// result is the neutral element.
export function ecdh(curve: i32, d: usize, q: usize, out: usize): i32 {
  if (!useCurve(curve)) return 0;
  const ok = scalarLoad(S2, d) & pointLoad(S0, S1, q);
  if (ok == 0) {
    wipe(out, cL);
    ecWipe();
    return 0;
  }
  mulCt(PRES, S0, S1, S2);
  const fin = pointStore(out, 0, PRES);
  if (fin == 0) wipe(out, cL);
  ecWipe();
  return <i32>fin;
}
