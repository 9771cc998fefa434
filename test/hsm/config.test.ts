// HSM config from a JSON file and the environment: precedence, the PIN only from the environment or a
// private PIN file, and a typed HsmConfigError naming the field for everything incomplete or wrong.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkHsmConfig, loadHsmConfig, readPin } from '../../src/hsm/config.js';
import { HsmConfigError } from '../../src/hsm/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'keyward-hsm-config-'));
const file = (name: string, content: string, mode = 0o600): string => {
  const f = join(dir, name);
  writeFileSync(f, content, { mode });
  return f;
};

function configError(f: () => unknown): HsmConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(HsmConfigError);
    return e as HsmConfigError;
  }
  throw new Error('expected an HsmConfigError');
}

describe('loadHsmConfig', () => {
  it('reads the environment alone', () => {
    const c = loadHsmConfig({ env: { KEYWARD_HSM_MODULE: '/lib/p11.so', KEYWARD_HSM_TOKEN: 'kw', KEYWARD_HSM_PIN: '1234' } });
    expect(c).toEqual({ module: '/lib/p11.so', tokenLabel: 'kw', pin: '1234', sessions: 4 });
  });

  it('reads a JSON file, and the environment overrides it field by field (token label replaces slot, PIN replaces PIN file)', () => {
    const f = file('hsm.json', JSON.stringify({ module: '/lib/a.so', slot: 3, pinFile: '/etc/pin', sessions: 8, gcmSessions: 1 }));
    expect(loadHsmConfig({ file: f, env: {} })).toEqual({ module: '/lib/a.so', slot: 3, pinFile: '/etc/pin', sessions: 8, gcmSessions: 1 });
    expect(loadHsmConfig({ file: f, env: { KEYWARD_HSM_MODULE: '/lib/b.so', KEYWARD_HSM_TOKEN: 'kw', KEYWARD_HSM_PIN: '9999', KEYWARD_HSM_SESSIONS: '2', KEYWARD_HSM_GCM_SESSIONS: '3' } })).toEqual({
      module: '/lib/b.so', tokenLabel: 'kw', pin: '9999', sessions: 2, gcmSessions: 3,
    });
    expect(loadHsmConfig({ file: f, env: { KEYWARD_HSM_SLOT: '0', KEYWARD_HSM_PIN_FILE: '/run/pin' } })).toMatchObject({ slot: 0, pinFile: '/run/pin' });
  });

  it('refuses a PIN in the file, unknown fields, bad JSON and a missing file, naming them', () => {
    expect(configError(() => loadHsmConfig({ file: file('p.json', '{"module":"/x.so","tokenLabel":"a","pin":"1234"}'), env: {} })).field).toBe('pin');
    const pinMsg = configError(() => loadHsmConfig({ file: file('p2.json', '{"pin":"55667788"}'), env: {} })).message;
    expect(pinMsg).not.toContain('55667788');
    expect(configError(() => loadHsmConfig({ file: file('u.json', '{"modul":"/x.so"}'), env: {} }))).toMatchObject({ field: 'modul', message: expect.stringMatching(/unknown field "modul"/) });
    expect(configError(() => loadHsmConfig({ file: file('b.json', '{module:'), env: {} })).message).toMatch(/is not JSON/);
    expect(configError(() => loadHsmConfig({ file: file('a.json', '[]'), env: {} })).message).toMatch(/JSON object/);
    expect(configError(() => loadHsmConfig({ file: join(dir, 'none.json'), env: {} })).message).toMatch(/ENOENT/);
    expect(configError(() => loadHsmConfig({ env: { KEYWARD_HSM_MODULE: '/x.so', KEYWARD_HSM_SLOT: 'one', KEYWARD_HSM_PIN: '1' } })).field).toBe('KEYWARD_HSM_SLOT');
  });
});

describe('checkHsmConfig', () => {
  const base = { module: '/lib/p11.so', tokenLabel: 'kw', pin: '1234' };

  it('needs a module, exactly one of token label and slot, exactly one of PIN and PIN file, sane sessions', () => {
    expect(configError(() => checkHsmConfig({ ...base, module: '' })).field).toBe('module');
    expect(configError(() => checkHsmConfig({ module: '/x.so', pin: '1' })).message).toMatch(/exactly one of the token label .* and the slot/);
    expect(configError(() => checkHsmConfig({ ...base, slot: 1 })).message).toMatch(/not both/);
    expect(configError(() => checkHsmConfig({ ...base, tokenLabel: 'x'.repeat(33) })).field).toBe('tokenLabel');
    expect(configError(() => checkHsmConfig({ module: '/x.so', slot: -1, pin: '1' })).field).toBe('slot');
    expect(configError(() => checkHsmConfig({ module: '/x.so', tokenLabel: 'a' })).field).toBe('pin');
    expect(configError(() => checkHsmConfig({ ...base, pinFile: '/p' })).message).toMatch(/not both/);
    for (const sessions of [0, 257, 1.5]) expect(configError(() => checkHsmConfig({ ...base, sessions })).field).toBe('sessions');
    for (const gcmSessions of [0, 257, 1.5, '1' as unknown as number]) {
      expect(configError(() => checkHsmConfig({ ...base, gcmSessions }))).toMatchObject({ field: 'gcmSessions', message: expect.stringMatching(/^expected gcmSessions to be an integer in 1\.\.256, got /) });
    }
    expect(checkHsmConfig(base).sessions).toBe(4);
    expect(checkHsmConfig(base)).not.toHaveProperty('gcmSessions');
    const e = configError(() => checkHsmConfig({ ...base, pin: '' }));
    expect(e.field).toBe('pin');
  });
});

describe('readPin', () => {
  it('gives the PIN, or the PIN file without its trailing newline', () => {
    expect(readPin({ module: '/x.so', tokenLabel: 'a', pin: '4321' })).toBe('4321');
    expect(readPin({ module: '/x.so', tokenLabel: 'a', pinFile: file('pin1', '8642\n') })).toBe('8642');
    expect(readPin({ module: '/x.so', tokenLabel: 'a', pinFile: file('pin2', 'ab cd') })).toBe('ab cd');
  });

  it('refuses a PIN file readable by group or others, an empty one and a missing one, without the PIN in the message', () => {
    const open = file('pin3', '13579\n', 0o640);
    const e = configError(() => readPin({ module: '/x.so', tokenLabel: 'a', pinFile: open }));
    expect(e.message).toMatch(/readable by group or others \(mode 640\); chmod 600 it/);
    expect(e.message).not.toContain('13579');
    expect(configError(() => readPin({ module: '/x.so', tokenLabel: 'a', pinFile: file('pin4', '\n') })).message).toMatch(/is empty/);
    expect(configError(() => readPin({ module: '/x.so', tokenLabel: 'a', pinFile: join(dir, 'nopin') })).message).toMatch(/ENOENT/);
  });
});
