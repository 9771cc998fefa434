// AWS Signature Version 4 verification, from the AWS documentation ("Create a signed AWS API request",
// "Elements of an AWS API request signature", "Authenticating requests: using query parameters"):
//
//   CanonicalRequest = Method \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n
//                      SignedHeaders \n HexEncode(SHA256(payload))
//   StringToSign     = "AWS4-HMAC-SHA256" \n X-Amz-Date \n date/region/service/aws4_request \n
//                      HexEncode(SHA256(CanonicalRequest))
//   SigningKey       = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")
//   Signature        = HexEncode(HMAC(SigningKey, StringToSign))
//
// Both forms are accepted: the Authorization header, and the presigned query parameters (X-Amz-Algorithm,
// -Credential, -Date, -Expires, -SignedHeaders, -Signature). The payload hash is always computed from the
// body received, so a body changed after signing never verifies. The signature is compared in constant
// time inside the WASM core (hmacVerify); the secret and signing keys never leave this module's callers.
import { hmac, hmacVerify } from '../crypto/hmac.js';
import { sha256 } from '../crypto/sha2.js';
import {
  IncompleteSignatureException, InvalidSignatureException, MissingAuthenticationTokenException, UnrecognizedClientException,
} from './errors.js';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
const TERMINATOR = 'aws4_request';
/** How far X-Amz-Date may be from the server's clock (AWS: 5 minutes for most services). */
export const DEFAULT_MAX_SKEW_MS = 5 * 60_000;
/** The longest X-Amz-Expires a presigned request may ask for (AWS: 7 days). */
export const MAX_PRESIGN_EXPIRES_S = 604_800;
/** Signing keys kept (one per access key and day); past this the cache starts over. */
const KEY_CACHE_MAX = 4096;

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const HEX_SIGNATURE = /^[0-9a-f]{64}$/;
const SIGNED_HEADER = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

/** What verification needs of an HTTP request, as it arrived. */
export interface SignedRequest {
  method: string;
  /** The request target: path and query string, still percent-encoded (IncomingMessage.url). */
  url: string;
  /** Header names and values alternating, duplicates kept, in arrival order (IncomingMessage.rawHeaders). */
  rawHeaders: readonly string[];
  body: Uint8Array;
}

/** A credential as the verifier needs it: the UTF-8 bytes of the secret access key. */
export interface SigV4Credential {
  readonly secret: Uint8Array;
}

export interface SigV4VerifierOptions<C extends SigV4Credential> {
  /** The only region a credential scope may name. */
  region: string;
  /** The only service a credential scope may name ('kms'). */
  service: string;
  /** The credential of an access key id, or undefined for an unknown one. */
  lookup(accessKeyId: string): C | undefined;
  maxSkewMs?: number;
}

export interface Verified<C> {
  accessKeyId: string;
  credential: C;
  form: 'header' | 'query';
}

interface Claim {
  form: 'header' | 'query';
  algorithm: string;
  credential: string;
  signedHeaders: string;
  signature: string;
  amzDate: string;
  /** X-Amz-Expires in seconds (query form only). */
  expires?: string;
}

const utf8 = new TextEncoder();
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** RFC 3986 percent-encoding of everything but the unreserved characters A-Z a-z 0-9 - _ . ~ (SigV4 UriEncode). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** 20150830T123600Z for a time in ms. */
export function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function parseAmzDate(s: string): number | undefined {
  const m = AMZ_DATE.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, se);
  // Date.UTC rolls 20150230 over to March: only a date that formats back to itself is real.
  return amzDate(ms) === s ? ms : undefined;
}

/** The headers by lower-case name, every value in arrival order. */
function headerMap(raw: readonly string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const list = map.get(name);
    if (list) list.push(raw[i + 1]!);
    else map.set(name, [raw[i + 1]!]);
  }
  return map;
}

/** The query string's parameters, percent-decoded, in order. */
function queryParams(query: string): [string, string][] {
  const out: [string, string][] = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    try {
      out.push(eq < 0 ? [decodeURIComponent(part), ''] : [decodeURIComponent(part.slice(0, eq)), decodeURIComponent(part.slice(eq + 1))]);
    } catch {
      throw new IncompleteSignatureException('the query string holds a malformed percent-encoding');
    }
  }
  return out;
}

/** The canonical URI: the path with dot segments removed (RFC 3986 §5.2.4), each segment encoded once more. */
export function canonicalUri(path: string): string {
  const segments: string[] = [];
  for (const s of path.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') segments.pop();
    else segments.push(s);
  }
  const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
  return `/${segments.map(uriEncode).join('/')}${trailing}`;
}

/** Name=value pairs encoded, sorted by name then value, joined by '&'; `omit` is left out (X-Amz-Signature). */
export function canonicalQuery(params: readonly [string, string][], omit?: string): string {
  return params
    .filter(([k]) => k !== omit)
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** One `name:value\n` line per signed header: values trimmed, inner runs of spaces made one, duplicates joined by ','. */
function canonicalHeaders(signed: readonly string[], headers: Map<string, string[]>): string {
  let out = '';
  for (const name of signed) {
    const values = headers.get(name);
    if (values === undefined) throw new InvalidSignatureException(`the signed header '${name}' is not in the request`);
    out += `${name}:${values.map((v) => v.trim().replace(/\s+/g, ' ')).join(',')}\n`;
  }
  return out;
}

/** The SigV4 signing key for a secret (UTF-8 bytes) and a scope. */
export function signingKey(secret: Uint8Array, date: string, region: string, service: string): Uint8Array {
  const seed = new Uint8Array(4 + secret.length);
  seed.set(utf8.encode('AWS4'));
  seed.set(secret, 4);
  const kDate = hmac('SHA-256', seed, utf8.encode(date));
  seed.fill(0);
  const kRegion = hmac('SHA-256', kDate, utf8.encode(region));
  kDate.fill(0);
  const kService = hmac('SHA-256', kRegion, utf8.encode(service));
  kRegion.fill(0);
  const key = hmac('SHA-256', kService, utf8.encode(TERMINATOR));
  kService.fill(0);
  return key;
}

function single(headers: Map<string, string[]>, name: string): string | undefined {
  const v = headers.get(name);
  if (v === undefined) return undefined;
  if (v.length !== 1) throw new IncompleteSignatureException(`the request has ${v.length} ${name} headers; expected one`);
  return v[0];
}

function headerClaim(auth: string, headers: Map<string, string[]>): Claim {
  const space = auth.indexOf(' ');
  const algorithm = space < 0 ? auth : auth.slice(0, space);
  const parts = new Map<string, string>();
  for (const p of (space < 0 ? '' : auth.slice(space + 1)).split(',')) {
    const t = p.trim();
    if (t === '') continue;
    const eq = t.indexOf('=');
    const k = eq < 0 ? t : t.slice(0, eq);
    if (parts.has(k)) throw new IncompleteSignatureException(`the Authorization header gives '${k}' twice`);
    parts.set(k, eq < 0 ? '' : t.slice(eq + 1));
  }
  if (algorithm !== ALGORITHM) throw new IncompleteSignatureException(`Unsupported AWS 'algorithm': '${algorithm.slice(0, 40)}' (expected ${ALGORITHM})`);
  const amz = single(headers, 'x-amz-date');
  const missing = [
    ...['Credential', 'SignedHeaders', 'Signature'].filter((k) => !parts.get(k)).map((k) => `Authorization header requires '${k}' parameter.`),
    ...(amz === undefined ? ["Authorization header requires existence of a 'X-Amz-Date' header."] : []),
  ];
  if (missing.length > 0) throw new IncompleteSignatureException(missing.join(' '));
  return {
    form: 'header', algorithm, credential: parts.get('Credential')!, signedHeaders: parts.get('SignedHeaders')!,
    signature: parts.get('Signature')!, amzDate: amz!,
  };
}

const QUERY_PARAMS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature'] as const;

function queryClaim(params: readonly [string, string][]): Claim {
  const get = (name: string): string | undefined => {
    const all = params.filter(([k]) => k === name);
    if (all.length > 1) throw new IncompleteSignatureException(`the query string gives ${name} ${all.length} times`);
    return all[0]?.[1];
  };
  const v = Object.fromEntries(QUERY_PARAMS.map((n) => [n, get(n)]));
  const missing = QUERY_PARAMS.filter((n) => !v[n]);
  if (missing.length > 0) throw new IncompleteSignatureException(`AWS query-string parameters must include ${missing.map((n) => `'${n}'`).join(', ')}.`);
  if (v['X-Amz-Algorithm'] !== ALGORITHM) {
    throw new IncompleteSignatureException(`Unsupported AWS 'algorithm': '${v['X-Amz-Algorithm']!.slice(0, 40)}' (expected ${ALGORITHM})`);
  }
  return {
    form: 'query', algorithm: ALGORITHM, credential: v['X-Amz-Credential']!, signedHeaders: v['X-Amz-SignedHeaders']!,
    signature: v['X-Amz-Signature']!, amzDate: v['X-Amz-Date']!, expires: v['X-Amz-Expires']!,
  };
}

/** Verifies SigV4 signatures for one region and service against a credential lookup. */
export class SigV4Verifier<C extends SigV4Credential> {
  private readonly keys = new Map<string, { secret: Uint8Array; key: Uint8Array }>();
  private readonly maxSkewMs: number;

  constructor(private readonly opts: SigV4VerifierOptions<C>) {
    this.maxSkewMs = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  }

  /**
   * The credential that signed `req`, at time `now` (ms).
   * @throws MissingAuthenticationTokenException, IncompleteSignatureException, InvalidSignatureException
   *   (wrong signature, scope, or a date outside the window: "Signature expired" / "not yet current"),
   *   UnrecognizedClientException (unknown access key id, or a session token)
   */
  verify(req: SignedRequest, now: number): Verified<C> {
    const q = req.url.indexOf('?');
    const path = q < 0 ? req.url : req.url.slice(0, q);
    const params = queryParams(q < 0 ? '' : req.url.slice(q + 1));
    const headers = headerMap(req.rawHeaders);
    const auth = headers.get('authorization');
    const presigned = params.some(([k]) => k === 'X-Amz-Algorithm');
    if (auth && presigned) {
      throw new IncompleteSignatureException('Only one auth mechanism allowed: the Authorization header or the X-Amz-Algorithm query parameters, not both');
    }
    if (!auth && !presigned) throw new MissingAuthenticationTokenException('Missing Authentication Token');
    if (auth && auth.length !== 1) throw new IncompleteSignatureException(`the request has ${auth.length} Authorization headers; expected one`);
    const claim = auth ? headerClaim(auth[0]!, headers) : queryClaim(params);

    const t = parseAmzDate(claim.amzDate);
    if (t === undefined) throw new IncompleteSignatureException(`Date must be in ISO-8601 'basic format'. Got '${claim.amzDate.slice(0, 40)}'. (e.g. 20150830T123600Z)`);
    const scope = claim.credential.split('/');
    if (scope.length !== 5 || scope[0] === '') {
      throw new IncompleteSignatureException(`Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${claim.credential.slice(0, 200)}'`);
    }
    const [accessKeyId, date, region, service, terminator] = scope as [string, string, string, string, string];
    if (date !== claim.amzDate.slice(0, 8)) {
      throw new InvalidSignatureException(`Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${date.slice(0, 20)}' != '${claim.amzDate.slice(0, 8)}'`);
    }
    if (region !== this.opts.region) throw new InvalidSignatureException(`Credential should be scoped to a valid region, not '${region.slice(0, 40)}'; this endpoint serves '${this.opts.region}'.`);
    if (service !== this.opts.service) throw new InvalidSignatureException(`Credential should be scoped to correct service: '${this.opts.service}'.`);
    if (terminator !== TERMINATOR) throw new InvalidSignatureException(`Credential should be scoped with a valid terminator: '${TERMINATOR}', not '${terminator.slice(0, 40)}'.`);

    const signed = claim.signedHeaders.split(';');
    if (!signed.every((h) => SIGNED_HEADER.test(h))) throw new IncompleteSignatureException('SignedHeaders must be lower-case header names separated by semicolons');
    if (!signed.includes('host')) throw new IncompleteSignatureException("'Host' must be a 'SignedHeader' in the AWS Authorization.");
    if (claim.form === 'header' && !signed.includes('x-amz-date')) throw new IncompleteSignatureException("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");
    const unsigned = [...headers.keys()].filter((h) => h.startsWith('x-amz-') && !signed.includes(h));
    if (unsigned.length > 0) throw new InvalidSignatureException(`There were headers present in the request which were not signed: ${unsigned.join(', ')}`);

    this.checkTime(claim, t, now);
    if (headers.has('x-amz-security-token') || params.some(([k]) => k === 'X-Amz-Security-Token')) {
      // Keyward issues long-term access keys only; a session token names credentials it never made.
      throw new UnrecognizedClientException('The security token included in the request is invalid.');
    }
    const credential = this.opts.lookup(accessKeyId);
    if (credential === undefined) throw new UnrecognizedClientException('The security token included in the request is invalid.');

    const payloadHash = hex(sha256(req.body));
    const declared = single(headers, 'x-amz-content-sha256');
    if (declared !== undefined && declared !== payloadHash) {
      throw new InvalidSignatureException('The x-amz-content-sha256 header does not match the SHA-256 of the request body');
    }
    const canonical = [
      req.method, canonicalUri(path), canonicalQuery(params, claim.form === 'query' ? 'X-Amz-Signature' : undefined),
      canonicalHeaders(signed, headers), claim.signedHeaders, payloadHash,
    ].join('\n');
    const stringToSign = `${ALGORITHM}\n${claim.amzDate}\n${date}/${region}/${service}/${TERMINATOR}\n${hex(sha256(utf8.encode(canonical)))}`;
    const valid = HEX_SIGNATURE.test(claim.signature)
      && hmacVerify('SHA-256', this.key(accessKeyId, credential.secret, date), utf8.encode(stringToSign), Buffer.from(claim.signature, 'hex'));
    if (!valid) {
      throw new InvalidSignatureException(
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      );
    }
    return { accessKeyId, credential, form: claim.form };
  }

  /** Zeroes and forgets every cached signing key. */
  clear(): void {
    for (const k of this.keys.values()) k.key.fill(0);
    this.keys.clear();
  }

  private checkTime(claim: Claim, t: number, now: number): void {
    const skewMin = Math.round(this.maxSkewMs / 60_000);
    if (t > now + this.maxSkewMs) {
      throw new InvalidSignatureException(`Signature not yet current: ${claim.amzDate} is still later than ${amzDate(now + this.maxSkewMs)} (${amzDate(now)} + ${skewMin} min.)`);
    }
    if (claim.form === 'header') {
      if (t < now - this.maxSkewMs) {
        throw new InvalidSignatureException(`Signature expired: ${claim.amzDate} is now earlier than ${amzDate(now - this.maxSkewMs)} (${amzDate(now)} - ${skewMin} min.)`);
      }
      return;
    }
    const expires = claim.expires!;
    if (!/^\d{1,7}$/.test(expires) || Number(expires) < 1 || Number(expires) > MAX_PRESIGN_EXPIRES_S) {
      throw new IncompleteSignatureException(`X-Amz-Expires must be a whole number of seconds from 1 to ${MAX_PRESIGN_EXPIRES_S}, got '${expires.slice(0, 20)}'`);
    }
    if (now > t + Number(expires) * 1000) {
      throw new InvalidSignatureException(`Signature expired: ${claim.amzDate} is now earlier than ${amzDate(now - Number(expires) * 1000)} (${amzDate(now)} - ${expires} sec.)`);
    }
  }

  /** The signing key of a credential for one day, derived once (AWS recommends caching it). */
  private key(accessKeyId: string, secret: Uint8Array, date: string): Uint8Array {
    const id = `${accessKeyId}/${date}`;
    const hit = this.keys.get(id);
    if (hit && hit.secret === secret) return hit.key;
    if (this.keys.size >= KEY_CACHE_MAX) this.clear();
    const key = signingKey(secret, date, this.opts.region, this.opts.service);
    hit?.key.fill(0);
    this.keys.set(id, { secret, key });
    return key;
  }
}
