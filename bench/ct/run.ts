// `npm run ct [-- --scale=0.1] [-- --only=ECDH]`: every constant-time target and the positive controls,
// one report line each; exit code 1 if a control is not flagged or a target leaks. --scale multiplies
// every measurement count (a quick look, not evidence); --only keeps the targets whose name contains it
// (the controls always run).
import { cpus, loadavg } from 'node:os';
import { aesTargets } from './aes.js';
import { controls } from './controls.js';
import { CONFIRM, formatResult, LEAK_T, runConfirmed, type Runnable } from './dudect.js';
import { ecdhTargets } from './ecdh.js';
import { ecdsaTargets } from './ecdsa.js';
import { gcmTargets } from './gcm.js';
import { ghashTargets } from './ghash.js';
import { hkdfTargets } from './hkdf.js';
import { hmacTargets } from './hmac.js';
import { checkOaepClasses, oaepControls, oaepTargets } from './oaep.js';
import { rsaTargets } from './rsa.js';
import { tsCompareTargets } from './ts-compare.js';

function arg(name: string): string | undefined {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a?.slice(name.length + 3);
}

const scale = Number(arg('scale') ?? 1);
if (!(scale > 0)) throw new RangeError(`--scale must be a positive number, got ${arg('scale')}`);
const only = arg('only');

const targets: Runnable[] = [
  ...aesTargets,
  ...ghashTargets,
  ...gcmTargets,
  ...hmacTargets,
  ...hkdfTargets,
  ...ecdsaTargets,
  ...ecdhTargets,
  ...rsaTargets,
  ...oaepTargets,
  ...tsCompareTargets,
].filter((t) => only === undefined || t.name.includes(only));

checkOaepClasses();
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`constant-time check (dudect-style), ${new Date().toISOString()}, ${cpus().length}× ${cpus()[0]?.model}, load ${load()}`);
console.log(
  `Welch's t per crop; |t| > ${LEAK_T} on any crop is a leak if a second run with ${CONFIRM}× the measurements confirms it; ` +
    `n = measurements per class; ×batch = calls per measurement${scale === 1 ? '' : `; scale ${scale}`}`,
);
let ok = true;
for (const t of [...controls, ...oaepControls, ...targets]) {
  const results = runConfirmed(t, Math.max(500, Math.round(t.measurements * scale)));
  results.forEach((r, i) => console.log(formatResult(r, i < results.length - 1)));
  ok &&= results.at(-1)!.ok;
}
console.log(`load at the end ${load()}; ${ok ? 'PASS: every control flagged, no target leaks' : 'FAIL'}`);
process.exit(ok ? 0 : 1);
