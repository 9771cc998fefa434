// The command line: global options, then the command (one word, or two for `audit verify|tail`), then its
// options and operands. Global options may also follow the command. Parsing is node:util parseArgs in
// strict mode, so an unknown option, a missing value or a stray operand is a UsageError (exit 64).
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** The command line is wrong: the CLI prints the message and the usage text and exits 64. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export const GLOBAL_OPTIONS = {
  dir: { type: 'string' },
  region: { type: 'string' },
  hsm: { type: 'string' },
  postgres: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

export interface GlobalOptions {
  /** The store directory: --dir, else $KEYWARD_DIR, else ./.keyward. */
  dir: string;
  region: string | undefined;
  /** The HSM config file of an HSM-backed store: --hsm, else $KEYWARD_HSM_CONFIG. */
  hsm: string | undefined;
  /** The PostgreSQL URL of a store kept in a database instead of DIR/keyward.db: --postgres, else $KEYWARD_POSTGRES_URL. */
  postgres: string | undefined;
  json: boolean;
  help: boolean;
}

export interface Parsed {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/**
 * Splits argv into the leading global options and the command words with everything after them.
 * `twoWord`: commands that take a subcommand; `optionLike`: commands spelled as options (--version).
 */
export function splitCommand(
  argv: string[], twoWord: readonly string[], optionLike: readonly string[],
): { leading: string[]; command: string | undefined; rest: string[] } {
  const leading: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-') || a === '-' || optionLike.includes(a)) break;
    leading.push(a);
    const name = a.replace(/^--?/, '').split('=')[0]!;
    const spec = (GLOBAL_OPTIONS as OptionSpec)[name];
    if (!spec && !Object.values(GLOBAL_OPTIONS).some((o) => 'short' in o && `-${o.short}` === a)) {
      throw new UsageError(`unknown option ${a} before the command`);
    }
    if (spec?.type === 'string' && !a.includes('=')) {
      if (i + 1 >= argv.length) throw new UsageError(`option ${a} needs a value`);
      leading.push(argv[++i]!);
    }
  }
  let command = argv[i];
  let next = i + 1;
  if (command !== undefined && twoWord.includes(command) && argv[next] !== undefined && !argv[next]!.startsWith('-')) {
    command = `${command} ${argv[next]}`;
    next++;
  }
  return { leading, command, rest: argv.slice(next) };
}

/** Parses tokens against the global options plus `options`; `operands` is how many operands are allowed. */
export function parse(tokens: string[], options: OptionSpec, operands: { min: number; max: number; names?: string }): Parsed {
  let parsed: Parsed;
  try {
    parsed = parseArgs({ args: tokens, options: { ...GLOBAL_OPTIONS, ...options }, strict: true, allowPositionals: true });
  } catch (e) {
    // parseArgs's ERR_PARSE_ARGS_* messages name the option and what is wrong with it.
    if ((e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError((e as Error).message);
    throw e;
  }
  const n = parsed.positionals.length;
  if (n < operands.min) throw new UsageError(`missing ${operands.names ?? 'operand'}`);
  if (n > operands.max) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[operands.max])}`);
  return parsed;
}

export function globalOptions(values: Parsed['values'], env: NodeJS.ProcessEnv = process.env): GlobalOptions {
  return {
    dir: str(values, 'dir') ?? env.KEYWARD_DIR ?? '.keyward',
    region: str(values, 'region'),
    hsm: str(values, 'hsm') ?? (env.KEYWARD_HSM_CONFIG || undefined),
    postgres: str(values, 'postgres') ?? (env.KEYWARD_POSTGRES_URL || undefined),
    json: values.json === true,
    help: values.help === true,
  };
}

export function str(values: Parsed['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A required option's value. */
export function need(values: Parsed['values'], name: string): string {
  const v = str(values, name);
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

/** An integer option within [min, max], or undefined when absent. */
export function intOption(values: Parsed['values'], name: string, min: number, max: number): number | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** One of the allowed values, or undefined when absent. */
export function choice<T extends string>(values: Parsed['values'], name: string, allowed: readonly T[]): T | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}; got ${JSON.stringify(v)}`);
  return v as T;
}

/** The encryption context from repeated --context k=v; undefined when none was given. */
export function contextOption(values: Parsed['values']): Record<string, string> | undefined {
  const pairs = values.context;
  if (!Array.isArray(pairs) || pairs.length === 0) return undefined;
  const ctx: Record<string, string> = {};
  for (const p of pairs as string[]) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new UsageError(`--context takes key=value, got ${JSON.stringify(p)}`);
    const k = p.slice(0, eq);
    if (Object.hasOwn(ctx, k)) throw new UsageError(`--context gives the key ${JSON.stringify(k)} twice`);
    ctx[k] = p.slice(eq + 1);
  }
  return ctx;
}
