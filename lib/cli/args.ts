import { HullError } from '../errors';

/** How a command's flags are declared: name → whether it takes a value; aliases map short names. */
export interface FlagSpec {
  values: string[];
  booleans: string[];
  aliases?: Record<string, string>;
  /** flags that may be given more than once (collected into a list) */
  repeat?: string[];
}

export interface Parsed {
  flags: Record<string, string | boolean | string[]>;
  positionals: string[];
}

function usage(msg: string): HullError {
  return new HullError(msg, { code: 'EINVALIDARG' });
}

function setFlag(out: Parsed, spec: FlagSpec, name: string, value: string | boolean): void {
  if (spec.repeat?.includes(name)) {
    const list = (out.flags[name] as string[] | undefined) ?? [];
    list.push(String(value));
    out.flags[name] = list;
  } else {
    out.flags[name] = value;
  }
}

/**
 * runc-style arguments: `--flag value`, `--flag=value`, `-f`, and `--` to end the flags. Flags
 * may come before or among the positionals, as podman and containerd put them before the id.
 * With stopAtPositional, everything from the first positional on is left as is (a command line).
 */
export function parseArgs(argv: string[], spec: FlagSpec, stopAtPositional = false): Parsed {
  const out: Parsed = { flags: {}, positionals: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      if (stopAtPositional) {
        out.positionals.push(...argv.slice(i));
        break;
      }
      out.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const rawName = arg.replace(/^--?/, '').slice(0, eq > 0 ? eq - (arg.startsWith('--') ? 2 : 1) : undefined);
    const name = spec.aliases?.[rawName] ?? rawName;
    if (spec.booleans.includes(name)) {
      setFlag(out, spec, name, eq > 0 ? arg.slice(eq + 1) !== 'false' : true);
    } else if (spec.values.includes(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw usage(`flag --${name} needs a value`);
      setFlag(out, spec, name, value);
    } else {
      throw usage(`unknown flag \`${arg}\``);
    }
  }
  return out;
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function bool(p: Parsed, name: string): boolean {
  return p.flags[name] === true;
}

export function list(p: Parsed, name: string): string[] {
  const v = p.flags[name];
  return Array.isArray(v) ? v : [];
}

/** The one positional a command takes, such as the container id. */
export function needId(p: Parsed, command: string): string {
  const id = p.positionals[0];
  if (!id) throw usage(`${command}: missing the container id`);
  return id;
}
