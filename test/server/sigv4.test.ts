// SigV4 verification: known answers from the AWS Signature Version 4 test suite and the AWS General
// Reference example, then every refusal with its AWS exception name, and requests signed and presigned by
// the AWS SDK's own signer (@smithy/signature-v4 over node:crypto).
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { amzDate, canonicalQuery, canonicalUri, signingKey, SigV4Verifier, uriEncode, type SignedRequest } from '../../src/server/sigv4.js';
import { NodeSha256 } from './_sha256.js';

const AKID = 'AKIDEXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const SUITE_TIME = Date.UTC(2015, 7, 30, 12, 36, 0);
const utf8 = (s: string) => new TextEncoder().encode(s);

function verifier(service = 'service', region = 'us-east-1') {
  return new SigV4Verifier({ region, service, lookup: (id) => (id === AKID ? { secret: utf8(SECRET), name: 'example' } : undefined) });
}

function authorization(scope: string, signedHeaders: string, signature: string): string {
  return `AWS4-HMAC-SHA256 Credential=${AKID}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}

/** Expects `fn` to throw the AWS exception `name` with a message matching `message`. */
function refuses(fn: () => unknown, name: string, message?: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${name}`).toBeInstanceOf(Error);
  expect((err as Error).name).toBe(name);
  if (message) expect((err as Error).message).toMatch(message);
}

// AWS SigV4 test suite (aws-sig-v4-test-suite, 2015-08-30 12:36:00 UTC, us-east-1, service "service"),
// and the IAM ListUsers example of the AWS General Reference.
const VECTORS: { name: string; service: string; req: SignedRequest }[] = [
  {
    name: 'get-vanilla', service: 'service',
    req: {
      method: 'GET', url: '/', body: new Uint8Array(),
      rawHeaders: ['Host', 'example.amazonaws.com', 'X-Amz-Date', '20150830T123600Z', 'Authorization',
        authorization('20150830/us-east-1/service/aws4_request', 'host;x-amz-date', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31')],
    },
  },
  {
    name: 'get-vanilla-query-order-key-case', service: 'service',
    req: {
      method: 'GET', url: '/?Param2=value2&Param1=value1', body: new Uint8Array(),
      rawHeaders: ['Host', 'example.amazonaws.com', 'X-Amz-Date', '20150830T123600Z', 'Authorization',
        authorization('20150830/us-east-1/service/aws4_request', 'host;x-amz-date', 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500')],
    },
  },
  {
    name: 'get-header-key-duplicate', service: 'service',
    req: {
      method: 'GET', url: '/', body: new Uint8Array(),
      rawHeaders: ['Host', 'example.amazonaws.com', 'My-Header1', 'value2', 'My-Header1', 'value2', 'My-Header1', 'value1',
        'X-Amz-Date', '20150830T123600Z', 'Authorization',
        authorization('20150830/us-east-1/service/aws4_request', 'host;my-header1;x-amz-date', 'c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea')],
    },
  },
  {
    name: 'IAM ListUsers (General Reference)', service: 'iam',
    req: {
      method: 'GET', url: '/?Action=ListUsers&Version=2010-05-08', body: new Uint8Array(),
      rawHeaders: ['Content-Type', 'application/x-www-form-urlencoded; charset=utf-8', 'Host', 'iam.amazonaws.com', 'X-Amz-Date', '20150830T123600Z',
        'Authorization', authorization('20150830/us-east-1/iam/aws4_request', 'content-type;host;x-amz-date', '5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7')],
    },
  },
];

/** The request with the header `name` (first occurrence) given `value`. */
function withHeader(req: SignedRequest, name: string, value: string): SignedRequest {
  const raw = [...req.rawHeaders];
  const i = raw.findIndex((h, j) => j % 2 === 0 && h.toLowerCase() === name.toLowerCase());
  if (i < 0) raw.push(name, value);
  else raw[i + 1] = value;
  return { ...req, rawHeaders: raw };
}

describe('SigV4 known answers', () => {
  for (const v of VECTORS) {
    it(`AWS test suite: ${v.name} verifies, and a flipped signature bit does not`, () => {
      const got = verifier(v.service).verify(v.req, SUITE_TIME);
      expect(got.accessKeyId).toBe(AKID);
      expect(got.form).toBe('header');
      const auth = v.req.rawHeaders[v.req.rawHeaders.length - 1]!;
      const last = auth.at(-1)!;
      const flipped = withHeader(v.req, 'Authorization', auth.slice(0, -1) + (last === '0' ? '1' : '0'));
      refuses(() => verifier(v.service).verify(flipped, SUITE_TIME), 'InvalidSignatureException', /does not match the signature you provided/);
    });
  }

  it('the signing key of the General Reference example', () => {
    // AWS General Reference, "Examples of how to derive a signing key": secret above, 20120215, us-east-1, iam.
    expect(Buffer.from(signingKey(utf8(SECRET), '20120215', 'us-east-1', 'iam')).toString('hex'))
      .toBe('f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d');
  });

  it('encodes and sorts as SigV4 says', () => {
    expect(uriEncode("a b/c~d!'()*_.-")).toBe('a%20b%2Fc~d%21%27%28%29%2A_.-');
    expect(canonicalQuery([['b', '2'], ['a', 'z'], ['a', 'y'], ['X-Amz-Signature', 's'], ['c d', '+']], 'X-Amz-Signature')).toBe('a=y&a=z&b=2&c%20d=%2B');
    expect(canonicalUri('')).toBe('/');
    expect(canonicalUri('/a/./b/../c/')).toBe('/a/c/');
    expect(canonicalUri('/a%20b')).toBe('/a%2520b');
    expect(amzDate(SUITE_TIME)).toBe('20150830T123600Z');
  });
});

describe('SigV4 refusals', () => {
  const base = VECTORS[0]!.req;
  const v = verifier();

  it('no Authorization header and no query signature: MissingAuthenticationTokenException', () => {
    refuses(() => v.verify({ ...base, rawHeaders: base.rawHeaders.slice(0, 4) }, SUITE_TIME), 'MissingAuthenticationTokenException', /Missing Authentication Token/);
  });

  it('incomplete or malformed Authorization: IncompleteSignatureException', () => {
    const cases: [string, RegExp][] = [
      ['AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=00', /requires 'Credential'/],
      [`AWS4-HMAC-SHA256 Credential=${AKID}/20150830/us-east-1/service/aws4_request`, /requires 'SignedHeaders'.*requires 'Signature'/],
      ['AWS4-HMAC-SHA1 Credential=a/b/c/d/e, SignedHeaders=host, Signature=00', /Unsupported AWS 'algorithm'/],
      ['AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service, SignedHeaders=host;x-amz-date, Signature=00', /exactly 5 slash-delimited/],
      [authorization('20150830/us-east-1/service/aws4_request', 'x-amz-date', '00'), /'Host' must be a 'SignedHeader'/],
      [authorization('20150830/us-east-1/service/aws4_request', 'host', '00'), /'X-Amz-Date' must be a 'SignedHeader'/],
      [authorization('20150830/us-east-1/service/aws4_request', 'Host;X-Amz-Date', '00'), /lower-case/],
    ];
    for (const [auth, message] of cases) refuses(() => v.verify(withHeader(base, 'Authorization', auth), SUITE_TIME), 'IncompleteSignatureException', message);
    refuses(() => v.verify(withHeader(base, 'X-Amz-Date', '2015-08-30T12:36:00Z'), SUITE_TIME), 'IncompleteSignatureException', /ISO-8601 'basic format'/);
    refuses(() => v.verify(withHeader(base, 'X-Amz-Date', '20150231T123600Z'), SUITE_TIME), 'IncompleteSignatureException', /ISO-8601/);
    refuses(() => v.verify({ ...base, rawHeaders: [...base.rawHeaders, 'Authorization', 'x'] }, SUITE_TIME), 'IncompleteSignatureException', /2 Authorization headers/);
  });

  it('a scope for another date, region, service or terminator: InvalidSignatureException', () => {
    const scopes: [string, RegExp][] = [
      ['20150831/us-east-1/service/aws4_request', /Date in Credential scope does not match/],
      ['20150830/eu-west-1/service/aws4_request', /scoped to a valid region, not 'eu-west-1'/],
      ['20150830/us-east-1/kms/aws4_request', /scoped to correct service: 'service'/],
      ['20150830/us-east-1/service/aws5_request', /valid terminator/],
    ];
    for (const [scope, message] of scopes) {
      refuses(() => v.verify(withHeader(base, 'Authorization', authorization(scope, 'host;x-amz-date', '00')), SUITE_TIME), 'InvalidSignatureException', message);
    }
  });

  it('outside the ±5-minute window: InvalidSignatureException "Signature expired" / "not yet current"', () => {
    refuses(() => v.verify(base, SUITE_TIME + 5 * 60_000 + 1000), 'InvalidSignatureException',
      /^Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z \(20150830T124101Z - 5 min\.\)$/);
    refuses(() => v.verify(base, SUITE_TIME - 5 * 60_000 - 1000), 'InvalidSignatureException', /^Signature not yet current: 20150830T123600Z is still later than/);
    expect(v.verify(base, SUITE_TIME + 5 * 60_000).accessKeyId).toBe(AKID);
    expect(v.verify(base, SUITE_TIME - 5 * 60_000).accessKeyId).toBe(AKID);
  });

  it('an unknown access key id, or a session token: UnrecognizedClientException', () => {
    const other = withHeader(base, 'Authorization', authorization('20150830/us-east-1/service/aws4_request', 'host;x-amz-date', '00').replace(AKID, 'AKIDUNKNOWN'));
    refuses(() => v.verify(other, SUITE_TIME), 'UnrecognizedClientException', /security token included in the request is invalid/);
    const withToken = withHeader(
      withHeader(base, 'X-Amz-Security-Token', 'session'), 'Authorization',
      authorization('20150830/us-east-1/service/aws4_request', 'host;x-amz-date;x-amz-security-token', '00'),
    );
    refuses(() => v.verify(withToken, SUITE_TIME), 'UnrecognizedClientException', /security token/);
  });

  it('a changed body, a changed signed header, an unsigned x-amz-* header: InvalidSignatureException', () => {
    refuses(() => v.verify({ ...base, body: utf8('x') }, SUITE_TIME), 'InvalidSignatureException', /does not match the signature/);
    refuses(() => v.verify(withHeader(base, 'Host', 'evil.example.com'), SUITE_TIME), 'InvalidSignatureException', /does not match the signature/);
    refuses(() => v.verify({ ...base, method: 'POST' }, SUITE_TIME), 'InvalidSignatureException', /does not match the signature/);
    refuses(() => v.verify({ ...base, url: '/?a=b' }, SUITE_TIME), 'InvalidSignatureException', /does not match the signature/);
    refuses(() => v.verify(withHeader(base, 'X-Amz-Target', 'TrentService.Decrypt'), SUITE_TIME), 'InvalidSignatureException', /not signed: x-amz-target/);
    refuses(() => v.verify(withHeader(base, 'X-Amz-Content-Sha256', 'UNSIGNED-PAYLOAD'), SUITE_TIME), 'InvalidSignatureException', /x-amz-content-sha256/);
  });
});

describe('requests signed by the AWS SDK signer', () => {
  const signer = new SignatureV4({ credentials: { accessKeyId: AKID, secretAccessKey: SECRET }, region: 'us-east-1', service: 'kms', sha256: NodeSha256 });
  const v = verifier('kms');
  const now = Date.UTC(2026, 10, 26, 9, 0, 0);
  const body = '{"KeyId":"alias/x","Plaintext":"aGk="}';
  const request = () => new HttpRequest({
    method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: 4566, path: '/',
    headers: { host: '127.0.0.1:4566', 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Encrypt', 'x-amz-user-agent': 'test' },
    body,
  });
  const toSigned = (r: HttpRequest): SignedRequest => {
    const q = Object.entries(r.query ?? {}).map(([k, x]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(x))}`).join('&');
    return { method: r.method, url: q ? `/?${q}` : '/', rawHeaders: Object.entries(r.headers).flat(), body: utf8(body) };
  };

  it('header form: verifies; a body or header changed after signing does not', async () => {
    const signed = toSigned(await signer.sign(request(), { signingDate: new Date(now) }) as HttpRequest);
    expect(v.verify(signed, now).form).toBe('header');
    refuses(() => v.verify({ ...signed, body: utf8(body.replace('aGk=', 'aGl=')) }, now), 'InvalidSignatureException');
    refuses(() => v.verify(withHeader(signed, 'x-amz-target', 'TrentService.Decrypt'), now), 'InvalidSignatureException');
    refuses(() => v.verify(withHeader(signed, 'x-amz-user-agent', 'other'), now), 'InvalidSignatureException');
  });

  it('presigned form: valid until X-Amz-Expires, then "Signature expired"; not before its date', async () => {
    const signed = toSigned(await signer.presign(request(), { signingDate: new Date(now), expiresIn: 60 }) as HttpRequest);
    expect(signed.url).toMatch(/X-Amz-Signature=[0-9a-f]{64}/);
    expect(v.verify(signed, now + 60_000).form).toBe('query');
    refuses(() => v.verify(signed, now + 61_000), 'InvalidSignatureException', /^Signature expired: .* \(.* - 60 sec\.\)$/);
    refuses(() => v.verify(signed, now - 6 * 60_000), 'InvalidSignatureException', /not yet current/);
    refuses(() => v.verify({ ...signed, url: signed.url.replace('X-Amz-Expires=60', 'X-Amz-Expires=600') }, now), 'InvalidSignatureException', /does not match/);
    refuses(() => v.verify({ ...signed, rawHeaders: [...signed.rawHeaders, 'Authorization', 'AWS4-HMAC-SHA256 x'] }, now), 'IncompleteSignatureException', /Only one auth mechanism/);
  });
});
