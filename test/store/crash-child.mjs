// The process the crash-durability test kills with SIGKILL. It commits units from many concurrent callers
// and writes one line per settled unit to stdout (fd 1, synchronously, so a line is out before the next
// step): `ack <seq> <id>` once commit() resolved, `nak <id>` when it was refused as a conflict.
//   node crash-child.mjs <store module URL> <db path> <round> <audit MAC key>

import { createHash, createHmac } from 'node:crypto';
import { writeSync } from 'node:fs';

const [moduleUrl, dbPath, round, macKey] = process.argv.slice(2);
const { openSqliteStore } = await import(moduleUrl);
const { StoreConflictError } = await import(new URL('./types.js', moduleUrl).href);

const REGION = 'us-east-1';
const line = (s) => writeSync(1, `${s}\n`);

const store = await openSqliteStore(dbPath);
store.setAuditMac((data) => createHmac('sha256', macKey).update(data).digest());

const audit = (id, operation, keyId) => ({
  time: Date.now(),
  requestId: id,
  principal: 'arn:aws:iam::111122223333:user/crash',
  operation,
  region: REGION,
  keyId,
  encryptionContext: { round },
  outcome: 'Success',
});
const now = Date.now();
// Every round re-points alias/anchor at the anchor key; units told to create it again must conflict.
await store.commit(
  [
    { kind: 'putKey', record: { region: REGION, keyId: 'anchor', metadata: {}, policy: '{}', settings: {} } },
    { kind: 'putAlias', record: { region: REGION, aliasName: 'alias/anchor', keyId: 'anchor', createdAt: now, updatedAt: now }, mustNotExist: false },
  ],
  audit(`${round}-anchor`, 'CreateAlias', 'anchor'),
);
line('ready');

let next = 0;
async function caller() {
  for (;;) {
    const id = `${round}-${next++}`;
    const conflict = next % 10 === 0;
    const t = Date.now();
    const mutations = [
      { kind: 'putKey', record: { region: REGION, keyId: id, metadata: { KeyId: id }, policy: '{}', settings: { round } } },
      {
        kind: 'putKeyVersion',
        record: { region: REGION, keyId: id, version: 1, domainVersion: 1, ekt: createHash('sha256').update(id).digest(), createdAt: t, rotationType: 'CREATE' },
      },
      { kind: 'putTag', record: { region: REGION, keyId: id, tagKey: 'id', tagValue: id } },
      {
        kind: 'putAlias',
        record: { region: REGION, aliasName: conflict ? 'alias/anchor' : `alias/${id}`, keyId: id, createdAt: t, updatedAt: t },
        mustNotExist: true,
      },
    ];
    try {
      const record = await store.commit(mutations, audit(id, 'CreateKey', id));
      line(`ack ${record.seq} ${id}`);
    } catch (err) {
      if (!(err instanceof StoreConflictError) || !conflict) {
        line(`error ${id} ${err}`);
        process.exit(1);
      }
      line(`nak ${id}`);
    }
  }
}

await Promise.all(Array.from({ length: 64 }, caller));
