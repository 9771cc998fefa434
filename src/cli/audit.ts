// Audit commands: `audit verify` checks the whole hash chain and the head proof; `audit tail` prints the
// last records. Records hold no key material or plaintext, so they are printed as they are.
import type { AuditRecord } from '../store/types.js';
import { intOption } from './args.js';
import { say, sayJson, withStore, type Command } from './command.js';

const verify: Command = {
  name: 'audit verify',
  options: {},
  operands: { min: 0, max: 0 },
  async run({ global: g }) {
    return withStore(g, async (kw) => {
      const r = await kw.verifyAudit();
      if (g.json) sayJson(r);
      if (r.ok) {
        if (!g.json) say(`audit log intact: ${r.count} records, head seq ${r.headSeq}`);
        return 0;
      }
      process.stderr.write(`keyward audit verify: the audit log is broken at seq ${r.seq}: ${r.reason}\n`);
      return 1;
    });
  },
};

function line(r: AuditRecord): string {
  return [new Date(r.time).toISOString(), r.principal, r.operation, r.keyId ?? '-', r.outcome].join('  ');
}

const tail: Command = {
  name: 'audit tail',
  options: { lines: { type: 'string', short: 'n' } },
  operands: { min: 0, max: 0 },
  async run({ global: g, values }) {
    const n = intOption(values, 'lines', 1, 100_000) ?? 20;
    return withStore(g, async (kw) => {
      for (const r of await kw.auditTail(n)) {
        if (g.json) {
          sayJson({
            seq: r.seq, time: new Date(r.time).toISOString(), requestId: r.requestId, principal: r.principal, operation: r.operation,
            region: r.region, keyId: r.keyId, encryptionContext: r.encryptionContext, outcome: r.outcome,
          });
        } else say(line(r));
      }
      return 0;
    });
  },
};

export const auditCommands: readonly Command[] = [verify, tail];
