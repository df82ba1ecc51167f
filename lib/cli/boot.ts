/**
 * How bin/hull.js starts the CLI. Every `hull` command is a fresh Node process (an engine runs
 * create, start, state and delete as four of them), so what it costs to get to main() is paid
 * each time. Two costs are cut here, both measured on `hull run` (bench: launch):
 *
 * - module resolution: the CLI is one file, dist/hull-cli.js, bundled at build time
 *   (scripts/bundle-cli.js), not some fifty files each found by statx and openat;
 * - compilation: V8's code cache for that file, made at build time with every function compiled
 *   (scripts/cli-cache.js), so that the functions a command runs are not parsed and compiled
 *   first.
 *
 * V8 checks a cache against its own version and flags, and against the source only by its
 * length: a cache made for another build of the same length would be taken. So the bundle ends
 * with its build id (a hash of its text) and the cache starts with the id it was made from; one
 * that does not match is not given to V8. A cache V8 refuses (another Node, other flags) costs
 * only the compilation it would have saved.
 */
import { isAscii } from 'node:buffer';
import * as fs from 'node:fs';
import Module = require('node:module');
import * as path from 'node:path';
import * as vm from 'node:vm';

/** The last line of a bundle: `//# hull-build <id>`. */
export const BUILD_ID_MARK = '\n//# hull-build ';
/** A cache file: this magic, the bundle's build id, a newline, then V8's data. */
export const CACHE_MAGIC = 'hull-code-cache 1 ';

export type CacheUse = 'accepted' | 'rejected' | 'stale' | 'absent';

export interface LoadedBundle<T> {
  exports: T;
  /** accepted by V8; rejected by V8; stale (made for another build); absent (no usable file) */
  cache: CacheUse;
}

/** The build id at the end of a bundle's source, or undefined when it has none. */
export function buildIdOf(source: string): string | undefined {
  const at = source.lastIndexOf(BUILD_ID_MARK);
  if (at < 0) return undefined;
  const id = source.slice(at + BUILD_ID_MARK.length).trim();
  return /^[0-9a-f]{16,}$/.test(id) ? id : undefined;
}

/** The header a cache for build `id` starts with. */
export function cacheHeader(id: string): Buffer {
  return Buffer.from(`${CACHE_MAGIC}${id}\n`, 'latin1');
}

/** The wrapper CommonJS puts around a module: the cache is made for exactly this text. */
export function wrapSource(source: string): string {
  return Module.wrap(source);
}

/**
 * The file's text. The build keeps the bundle ASCII, which decodes as latin1 in half the time
 * of UTF-8 and gives V8 a one-byte string to scan; any other text decodes as UTF-8.
 */
function sourceText(bytes: Buffer): string {
  return bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
}

/** V8's data from a cache file made for build `id`; why there is none otherwise. */
function readCache(cacheFile: string, id: string | undefined): Buffer | 'stale' | 'absent' {
  let data: Buffer;
  try {
    data = fs.readFileSync(cacheFile);
  } catch {
    return 'absent'; // a bundle without a cache still runs, only compiles as it goes
  }
  if (id === undefined) return 'stale';
  const header = cacheHeader(id);
  if (data.length <= header.length || !data.subarray(0, header.length).equals(header)) return 'stale';
  return data.subarray(header.length);
}

/** Loads a CommonJS bundle with its code cache, as require() would load the file. */
export function loadBundle<T>(bundle: string, cacheFile: string): LoadedBundle<T> {
  const file = path.resolve(bundle);
  const source = sourceText(fs.readFileSync(file));
  const cached = readCache(cacheFile, buildIdOf(source));
  const script = new vm.Script(wrapSource(source), {
    filename: file,
    ...(typeof cached === 'string' ? {} : { cachedData: cached }),
  });
  const mod = { exports: {} as T };
  const wrapper = script.runInThisContext() as (e: T, r: NodeJS.Require, m: { exports: T }, f: string, d: string) => void;
  wrapper.call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
  const cache: CacheUse = typeof cached === 'string' ? cached : script.cachedDataRejected ? 'rejected' : 'accepted';
  return { exports: mod.exports, cache };
}
