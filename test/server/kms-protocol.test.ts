// The JSON 1.1 conversions at the edge: base64 blobs and epoch-second timestamps in and out, targets,
// and the wiping of decoded plaintext and of plaintext in responses.
import { describe, expect, it } from 'vitest';
import { decodeRequest, encodeError, encodeResponse, OPERATIONS, operationOf, wipeRequest } from '../../src/server/kms-protocol.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

describe('kms protocol', () => {
  it('maps targets to operations, and nothing else', () => {
    expect(operationOf('TrentService.GenerateDataKey').operation).toBe(OPERATIONS.GenerateDataKey);
    for (const t of [undefined, '', 'TrentService.', 'TrentService.hasOwnProperty', 'TrentService.__proto__', 'trentservice.ListKeys', 'TrentService.ListKeys ']) {
      expect(() => operationOf(t)).toThrow(expect.objectContaining({ name: 'UnknownOperationException' }));
    }
  });

  it('decodes the declared blobs (fresh, wipeable copies) and timestamps; leaves other members as they are', () => {
    const body = utf8(JSON.stringify({ KeyId: 'k', Plaintext: Buffer.from('secret').toString('base64'), EncryptionContext: { a: 'b' } }));
    const r = decodeRequest(OPERATIONS.Encrypt!, body);
    expect(r.Plaintext).toEqual(utf8('secret'));
    expect(r.Plaintext).not.toBeInstanceOf(Buffer);
    expect(r).toMatchObject({ KeyId: 'k', EncryptionContext: { a: 'b' } });
    wipeRequest(OPERATIONS.Encrypt!, r);
    expect(r.Plaintext).toEqual(new Uint8Array(6));
    const imp = decodeRequest(OPERATIONS.ImportKeyMaterial!, utf8('{"ValidTo":1764115200.5,"ImportToken":""}'));
    expect(imp.ValidTo).toEqual(new Date(1_764_115_200_500));
    expect(imp.ImportToken).toEqual(new Uint8Array(0));
    // Message is a blob for Sign, a plain member for an operation that does not declare it.
    expect(decodeRequest(OPERATIONS.Sign!, utf8('{"Message":"AAE="}')).Message).toEqual(Uint8Array.from([0, 1]));
    expect(decodeRequest(OPERATIONS.DescribeKey!, utf8('{"Message":"AAE="}')).Message).toBe('AAE=');
    expect(decodeRequest(OPERATIONS.ListKeys!, new Uint8Array())).toEqual({});
  });

  it('refuses bodies and members of the wrong JSON type as SerializationException', () => {
    const bad: [string, RegExp][] = [
      ['{', /not valid JSON/], ['null', /got null/], ['[]', /got array/], ['7', /got number/],
      ['{"Plaintext":{"a":1}}', /Plaintext: expected a base64 string, got object/],
      ['{"Plaintext":"QQ"}', /not valid base64/], ['{"Plaintext":"QQ==\\n"}', /not valid base64/], ['{"Plaintext":"Q-_="}', /not valid base64/],
    ];
    for (const [body, message] of bad) {
      expect(() => decodeRequest(OPERATIONS.Encrypt!, utf8(body))).toThrow(expect.objectContaining({ name: 'SerializationException', message: expect.stringMatching(message) }));
    }
    expect(() => decodeRequest(OPERATIONS.ImportKeyMaterial!, utf8('{"ValidTo":"2026-01-01"}'))).toThrow(/ValidTo: expected a timestamp in epoch seconds, got string/);
  });

  it('encodes blobs as base64 and dates as epoch seconds, drops undefined members, and zeroes plaintext once encoded', () => {
    const plaintext = utf8('data key');
    const privateKey = utf8('pkcs8');
    const out = JSON.parse(encodeResponse({
      Plaintext: plaintext, PrivateKeyPlaintext: privateKey, CiphertextBlob: Buffer.from([1, 2, 3]), Missing: undefined,
      KeyMetadata: { CreationDate: new Date(1_764_115_200_250), Nested: [{ When: new Date(0) }] },
    }));
    expect(out).toEqual({
      Plaintext: Buffer.from('data key').toString('base64'), PrivateKeyPlaintext: Buffer.from('pkcs8').toString('base64'), CiphertextBlob: 'AQID',
      KeyMetadata: { CreationDate: 1_764_115_200.25, Nested: [{ When: 0 }] },
    });
    expect(plaintext.every((b) => b === 0) && privateKey.every((b) => b === 0)).toBe(true);
    expect(encodeResponse(undefined)).toBe('{}');
    expect(JSON.parse(encodeError('NotFoundException', 'no "key"'))).toEqual({ __type: 'NotFoundException', message: 'no "key"' });
  });
});
