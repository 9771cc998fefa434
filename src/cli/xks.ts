// keyward xks …: the XKS proxy's access keys, external keys, their allow lists and status, and the kill
// switch. Everything but create-key works while `keyward serve` runs (it edits files the server re-reads
// on its next request); create-key needs the engine, so it runs while the store is not being served.
import { createCredential, principalFor } from '../server/credentials.js';
import { XKS_API_PATH } from '../server/xks.js';
import { createXksKey, readXksKeys, setXksEnabled, updateXksKey, XKS_CREDENTIALS_FILE, type XksKeyRecord } from '../server/xks-keys.js';
import { need, str, UsageError, type Parsed } from './args.js';
import { requireStore, say, sayJson, withStore, type Command } from './command.js';

export const XKS_HELP = `usage: keyward [--dir DIR] xks <subcommand> [options]

The AWS KMS external key store (XKS) proxy that \`keyward serve\` runs. An external key is an AES-256 key
whose material is kept only encrypted under a Keyward KMS key (GenerateDataKey with the encryption
context keyward:xks-external-key-id and keyward:xks-key-version), so that key's policy, state and audit
trail govern it; disabling or deleting that KMS key stops the external key (within a minute while
serving: unwrapped keys are cached that long).

subcommands:
  create-credentials [--principal NAME] [--path-prefix PREFIX]
        a new access key for AWS KMS to sign XKS requests with (DIR/xks-credentials.json, sealed under
        the unseal key). Prints JSON with the key and the XKS proxy configuration file the AWS KMS
        console accepts (XksProxyUriPath, XksProxyAuthenticationCredential). NAME defaults to aws-kms-xks.
  create-key --id EXTERNAL_KEY_ID --key KEY [--allow-principal ARN]... [--allow-kms-key ARN]...
        a new external key protected by KEY (a symmetric KMS key: id, ARN or alias). EXTERNAL_KEY_ID: 1
        to 128 of A-Z a-z 0-9 . _ -. Needs the store, so not while keyward serve holds it.
  set-allow-list EXTERNAL_KEY_ID [--allow-principal ARN]... [--allow-kms-key ARN]...
        replaces the key's allow lists. A request's requestMetadata.awsPrincipalArn must be in the
        principal list and its kmsKeyArn in the KMS key list (403 AccessDeniedException otherwise); an
        empty list does not restrict. Principals may be IAM ARNs, service principals (ec2.amazonaws.com)
        or "AWS Internal".
  disable-key EXTERNAL_KEY_ID | enable-key EXTERNAL_KEY_ID
        the key's status: a DISABLED key reports so in GetKeyMetadata and refuses encrypt and decrypt
  disable | enable
        the kill switch: disable refuses every XKS request (health, metadata, encrypt, decrypt) with
        InvalidStateException at once, also while serving; enable serves them again
  list  the external keys (no key material) and the kill switch`;

function allowLists(values: Parsed['values']): { allowedPrincipals: string[]; allowedKmsKeyArns: string[] } {
  const list = (name: string) => (Array.isArray(values[name]) ? (values[name] as string[]) : []);
  return { allowedPrincipals: list('allow-principal'), allowedKmsKeyArns: list('allow-kms-key') };
}

function summary(k: XksKeyRecord) {
  return {
    ExternalKeyId: k.ExternalKeyId, WrappingKeyArn: k.WrappingKeyArn, Status: k.Status, AllowedPrincipals: k.AllowedPrincipals,
    AllowedKmsKeyArns: k.AllowedKmsKeyArns, Versions: k.Versions.length, Created: k.Created,
  };
}

const ALLOW_OPTIONS = { 'allow-principal': { type: 'string', multiple: true }, 'allow-kms-key': { type: 'string', multiple: true } } as const;

const createCredentials: Command = {
  name: 'xks create-credentials',
  help: XKS_HELP,
  options: { principal: { type: 'string' }, 'path-prefix': { type: 'string' } },
  operands: { min: 0, max: 0 },
  async run({ global: g, values }) {
    const dir = requireStore(g);
    const prefix = str(values, 'path-prefix') ?? '';
    if (!/^(\/[A-Za-z0-9_-]+)*$/.test(prefix)) throw new UsageError(`--path-prefix ${JSON.stringify(prefix)}: expected '' or /segments of A-Z a-z 0-9 _ -`);
    const principal = principalFor(str(values, 'principal') ?? 'aws-kms-xks', process.env.KEYWARD_ACCOUNT ?? '000000000000');
    // XKS spec, Appendix A: the secret has at least 256 bits of entropy (32 bytes, 44 base64 characters).
    const k = await createCredential(dir, principal, { file: XKS_CREDENTIALS_FILE, secretBytes: 32 });
    sayJson({
      AccessKeyId: k.AccessKeyId, SecretAccessKey: k.SecretAccessKey, Principal: k.Principal,
      XksProxyUriPath: `${prefix}${XKS_API_PATH}`,
      XksProxyAuthenticationCredential: { AccessKeyId: k.AccessKeyId, RawSecretAccessKey: k.SecretAccessKey },
    });
    return 0;
  },
};

const createKey: Command = {
  name: 'xks create-key',
  help: XKS_HELP,
  options: { id: { type: 'string' }, key: { type: 'string' }, ...ALLOW_OPTIONS },
  operands: { min: 0, max: 0 },
  async run({ global: g, values }) {
    const dir = requireStore(g);
    const record = await withStore(g, (kw) => createXksKey(kw, dir, { externalKeyId: need(values, 'id'), wrappingKeyId: need(values, 'key'), ...allowLists(values) }));
    sayJson(summary(record));
    return 0;
  },
};

const setAllowList: Command = {
  name: 'xks set-allow-list',
  help: XKS_HELP,
  options: ALLOW_OPTIONS,
  operands: { min: 1, max: 1, names: 'EXTERNAL_KEY_ID' },
  async run({ global: g, values, positionals }) {
    sayJson(summary(await updateXksKey(requireStore(g), positionals[0]!, allowLists(values))));
    return 0;
  },
};

function keyStatus(name: string, status: 'ENABLED' | 'DISABLED'): Command {
  return {
    name, help: XKS_HELP, options: {}, operands: { min: 1, max: 1, names: 'EXTERNAL_KEY_ID' },
    async run({ global: g, positionals }) {
      sayJson(summary(await updateXksKey(requireStore(g), positionals[0]!, { status })));
      return 0;
    },
  };
}

function killSwitch(name: string, enabled: boolean): Command {
  return {
    name, help: XKS_HELP, options: {}, operands: { min: 0, max: 0 },
    async run({ global: g }) {
      await setXksEnabled(requireStore(g), enabled);
      say(enabled ? 'XKS proxy enabled' : 'XKS proxy disabled: every XKS request is refused with InvalidStateException');
      return 0;
    },
  };
}

const list: Command = {
  name: 'xks list',
  help: XKS_HELP,
  options: {},
  operands: { min: 0, max: 0 },
  async run({ global: g }) {
    const { file } = readXksKeys(requireStore(g));
    if (g.json) sayJson({ Disabled: file.disabled, Keys: file.keys.map(summary) });
    else {
      say(`kill switch: ${file.disabled ? 'DISABLED (every XKS request is refused)' : 'enabled'}`);
      for (const k of file.keys) say(`${k.ExternalKeyId}  ${k.Status}  ${k.WrappingKeyArn}  principals: ${k.AllowedPrincipals.join(',') || 'any'}  kms keys: ${k.AllowedKmsKeyArns.join(',') || 'any'}`);
    }
    return 0;
  },
};

export const xksCommands: readonly Command[] = [
  createCredentials, createKey, setAllowList, keyStatus('xks disable-key', 'DISABLED'), keyStatus('xks enable-key', 'ENABLED'),
  killSwitch('xks disable', false), killSwitch('xks enable', true), list,
];
