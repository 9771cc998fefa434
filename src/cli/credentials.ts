// Access keys of the KMS endpoint: credentials create, credentials list. They live in DIR/credentials.json,
// secrets sealed under the store's unseal key (src/server/credentials.ts), and work while `keyward serve`
// runs: the server reads the file again when it meets an access key id it does not know.
import { CredentialStore, createCredential, principalFor } from '../server/credentials.js';
import { need } from './args.js';
import { requireStore, say, sayJson, type Command } from './command.js';

/** The account Keyward.open gives the store when none is configured ($KEYWARD_ACCOUNT, else 000000000000). */
function account(): string {
  return process.env.KEYWARD_ACCOUNT ?? '000000000000';
}

const create: Command = {
  name: 'credentials create',
  options: { principal: { type: 'string' } },
  operands: { min: 0, max: 0 },
  async run({ global: g, values }) {
    const dir = requireStore(g);
    const principal = principalFor(need(values, 'principal'), account());
    const k = await createCredential(dir, principal);
    // The only time the secret is shown: stdout, never a log.
    sayJson({ AccessKeyId: k.AccessKeyId, SecretAccessKey: k.SecretAccessKey, Principal: k.Principal });
    return 0;
  },
};

const list: Command = {
  name: 'credentials list',
  options: {},
  operands: { min: 0, max: 0 },
  async run({ global: g }) {
    const store = CredentialStore.open(requireStore(g));
    try {
      const keys = store.list();
      if (g.json) sayJson({ Credentials: keys });
      else for (const k of keys) say(`${k.AccessKeyId}  ${k.Principal}  ${k.Created.toISOString()}`);
      return 0;
    } finally {
      store.close();
    }
  },
};

export const credentialCommands: readonly Command[] = [create, list];
