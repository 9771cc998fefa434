// Data commands: encrypt and decrypt (the envelope format of src/keys/envelope.ts under a data key from
// GenerateDataKey), sign and verify (Sign/Verify on an asymmetric key). Only the data itself is written
// out; data keys stay in memory and are zeroed by the envelope streams.
import { createEnvelopeDecryptStream, createEnvelopeEncryptStream } from '../keys/envelope.js';
import { ValidationException } from '../kms/errors.js';
import type { MessageType, SigningAlgorithm } from '../kms/types.js';
import { contextOption, need, str, UsageError, type Parsed } from './args.js';
import { requireStore, say, sayJson, withStore, type Command } from './command.js';
import { openInput, readInput, transformTo, writeOutput } from './io.js';

/** Sign and Verify take at most 4096 bytes of message (AWS KMS). */
const MAX_MESSAGE = 4096;
/** The longest signature Verify takes (6144 bytes, AWS KMS), as base64 text with room for line breaks. */
const MAX_SIGNATURE_FILE = 16384;

const io = { in: { type: 'string' }, out: { type: 'string' } } as const;

// Both hold the store only around their engine call, not for the whole stream: one process owns a store
// at a time, and so `keyward encrypt ... | keyward decrypt` works (decrypt opens the store once the
// header arrives, after encrypt has closed it).
const encrypt: Command = {
  name: 'encrypt',
  options: { key: { type: 'string' }, context: { type: 'string', multiple: true }, ...io },
  operands: { min: 0, max: 0 },
  async run({ global: g, values }) {
    const keyId = need(values, 'key');
    const ctx = contextOption(values);
    const input = openInput(str(values, 'in'));
    const dk = await withStore(g, (kw) => kw.generateDataKey({ KeyId: keyId, KeySpec: 'AES_256', ...(ctx ? { EncryptionContext: ctx } : {}) }));
    // The stream owns dk.Plaintext from here and zeroes it when it ends or fails.
    await transformTo(input, createEnvelopeEncryptStream(dk.Plaintext, dk.CiphertextBlob), str(values, 'out'));
    return 0;
  },
};

const decrypt: Command = {
  name: 'decrypt',
  options: { context: { type: 'string', multiple: true }, ...io },
  operands: { min: 0, max: 0 },
  async run({ global: g, values }) {
    const ctx = contextOption(values);
    requireStore(g);
    const input = openInput(str(values, 'in'));
    const open = async (blob: Uint8Array) =>
      (await withStore(g, (kw) => kw.decrypt({ CiphertextBlob: blob, ...(ctx ? { EncryptionContext: ctx } : {}) }))).Plaintext;
    await transformTo(input, createEnvelopeDecryptStream(open), str(values, 'out'));
    return 0;
  },
};

function message(values: Parsed['values'], op: string): Promise<Uint8Array> {
  return readInput(str(values, 'in'), MAX_MESSAGE, () =>
    new ValidationException(`the input is longer than ${MAX_MESSAGE} bytes, the most ${op} takes; hash it and pass the digest with --digest`));
}

/** The engine checks the algorithm against the key's spec (InvalidKeyUsageException, ValidationException). */
function signParams(values: Parsed['values']): { KeyId: string; SigningAlgorithm: SigningAlgorithm; MessageType: MessageType } {
  return { KeyId: need(values, 'key'), SigningAlgorithm: need(values, 'algorithm') as SigningAlgorithm, MessageType: values.digest === true ? 'DIGEST' : 'RAW' };
}

const signOptions = { key: { type: 'string' }, algorithm: { type: 'string' }, digest: { type: 'boolean' }, base64: { type: 'boolean' } } as const;

const sign: Command = {
  name: 'sign',
  options: { ...signOptions, ...io },
  operands: { min: 0, max: 0 },
  async run({ global: g, values }) {
    const params = signParams(values);
    const msg = await message(values, 'Sign');
    return withStore(g, async (kw) => {
      const { Signature } = await kw.sign({ ...params, Message: msg });
      const out = values.base64 === true ? Buffer.from(`${Buffer.from(Signature).toString('base64')}\n`) : Signature;
      await writeOutput(out, str(values, 'out'));
      return 0;
    });
  },
};

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

async function signature(values: Parsed['values']): Promise<Uint8Array> {
  const path = need(values, 'signature');
  if (path === '-' && (str(values, 'in') ?? '-') === '-') throw new UsageError('--signature and the message cannot both come from stdin');
  const raw = await readInput(path, MAX_SIGNATURE_FILE, () => new ValidationException(`${path} is longer than any signature`));
  if (values.base64 !== true) return raw;
  const text = Buffer.from(raw).toString('latin1').replace(/\s+/g, '');
  if (!BASE64.test(text)) throw new ValidationException(`${path} is not base64 (given --base64)`);
  return Buffer.from(text, 'base64');
}

const verify: Command = {
  name: 'verify',
  options: { ...signOptions, signature: { type: 'string' }, in: io.in },
  operands: { min: 0, max: 0 },
  async run({ global: g, values }) {
    const params = signParams(values);
    const sig = await signature(values);
    const msg = await message(values, 'Verify');
    return withStore(g, async (kw) => {
      // An invalid signature is KMSInvalidSignatureException, printed and exit 1 like any failure.
      const r = await kw.verify({ ...params, Message: msg, Signature: sig });
      if (g.json) sayJson(r);
      else say(`signature valid (${r.SigningAlgorithm}, ${r.KeyId})`);
      return 0;
    });
  },
};

export const dataCommands: readonly Command[] = [encrypt, decrypt, sign, verify];
