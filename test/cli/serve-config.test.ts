// keyward serve settings: flags over KEYWARD_SERVE_* over the --config file over defaults, each value
// checked with a message naming where it came from.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args.js';
import { resolveServeConfig, SETTINGS } from '../../src/cli/serve-config.js';
import { SERVE_HELP } from '../../src/cli/serve.js';

const dir = mkdtempSync(join(tmpdir(), 'keyward-serve-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configFile(content: unknown): string {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('resolveServeConfig', () => {
  it('has defaults', () => {
    expect(resolveServeConfig({}, {})).toEqual({
      port: 8080, host: '127.0.0.1', cert: undefined, key: undefined, maxBodyBytes: 1024 * 1024, drainTimeoutS: 30,
      quiet: false, metrics: true, xks: true, xksPathPrefix: '', xksRegion: undefined,
    });
  });

  it('takes a flag over the environment over the file', () => {
    const file = configFile({ port: 1111, host: '127.0.0.2', drainTimeout: 5, metrics: false, xksPathPrefix: '/a', quiet: true });
    const env = { KEYWARD_SERVE_PORT: '2222', KEYWARD_SERVE_XKS_PATH_PREFIX: '/b', KEYWARD_SERVE_METRICS: '1', KEYWARD_SERVE_XKS: 'false' };
    const c = resolveServeConfig({ config: file, port: '3333' }, env);
    expect(c).toMatchObject({ port: 3333, host: '127.0.0.2', drainTimeoutS: 5, metrics: true, xks: false, xksPathPrefix: '/b', quiet: true });
    expect(resolveServeConfig({ config: file, 'no-metrics': true }, env).metrics).toBe(false);
    // The file may be named by the environment too.
    expect(resolveServeConfig({}, { KEYWARD_SERVE_CONFIG: file }).port).toBe(1111);
  });

  it('refuses bad values naming their source, unknown file keys and unreadable files', () => {
    const bad = (values: Record<string, string>, env: Record<string, string>, re: RegExp) => {
      expect(() => resolveServeConfig(values, env)).toThrow(UsageError);
      expect(() => resolveServeConfig(values, env)).toThrow(re);
    };
    bad({ port: '70000' }, {}, /--port: expected an integer from 0 to 65535/);
    bad({}, { KEYWARD_SERVE_DRAIN_TIMEOUT: 'soon' }, /KEYWARD_SERVE_DRAIN_TIMEOUT: expected an integer/);
    bad({}, { KEYWARD_SERVE_QUIET: 'yes' }, /KEYWARD_SERVE_QUIET: expected true, false, 1 or 0/);
    bad({ config: configFile({ port: '80' }) }, {}, /port: expected an integer/);
    bad({ config: configFile({ quiet: 'true' }) }, {}, /quiet: expected true or false/);
    bad({ config: configFile({ maxBody: 10 }) }, {}, /maxBody: expected an integer from 1024/);
    bad({ config: configFile({ prot: 80 }) }, {}, /unknown settings: prot/);
    bad({ config: configFile('[1]') }, {}, /must hold a JSON object/);
    bad({ config: configFile('{') }, {}, /not valid JSON/);
    bad({ config: join(dir, 'absent.json') }, {}, /cannot read the config file .*ENOENT/);
  });

  it('every setting is documented in keyward serve --help by its flag, variable and file key', () => {
    for (const s of SETTINGS) {
      expect(SERVE_HELP).toContain(s.env);
      expect(SERVE_HELP).toContain(s.file);
      if (s.flag) expect(SERVE_HELP).toContain(`--${s.flag}`);
    }
  });
});
