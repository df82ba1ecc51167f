import * as fs from 'node:fs';
import { HullError, syscallError } from '../errors';
import { native } from '../native';
import { cgroupIoError, isErrno, readCgroupFile } from './files';

export interface MemoryStats {
  /** bytes charged to the cgroup (v1 memory.usage_in_bytes, v2 memory.current) */
  usage: number;
  /** high-water mark (v1 memory.max_usage_in_bytes, v2 memory.peak on Linux 5.19+) */
  maxUsage?: number;
  /** anonymous memory (v1 total_rss, v2 anon) */
  rss?: number;
  /** page cache (v1 total_cache, v2 file) */
  cache?: number;
  swap?: number;
  kernelUsage?: number;
  mappedFile?: number;
  pgfault?: number;
  pgmajfault?: number;
}

export interface CpuStats {
  totalNs: number;
  userNs: number;
  systemNs: number;
  throttledPeriods: number;
  throttledTimeNs: number;
}

export interface PidsStats {
  current: number;
  /** undefined when unlimited (`max`) */
  limit?: number;
}

/** One sample of a container's cgroups. Zeros are only real for the fields named in `measured`. */
export interface CgroupStats {
  memory: MemoryStats;
  cpu: CpuStats;
  pids: PidsStats;
  oomKills: number;
  /** the fields this host really measured, e.g. `memory.rss`, `cpu.throttledTimeNs` */
  measured: readonly string[];
}

const MEASURABLE = [
  'memory.usage',
  'memory.maxUsage',
  'memory.rss',
  'memory.cache',
  'memory.swap',
  'memory.kernelUsage',
  'memory.mappedFile',
  'memory.pgfault',
  'memory.pgmajfault',
  'cpu.totalNs',
  'cpu.userNs',
  'cpu.systemNs',
  'cpu.throttledPeriods',
  'cpu.throttledTimeNs',
  'pids.current',
  'pids.limit',
  'oomKills',
] as const;

export type MeasuredField = (typeof MEASURABLE)[number];

/** The bit a sampler sets in its return value when it measured `field`. */
export function measuredBit(field: MeasuredField): number {
  return 1 << MEASURABLE.indexOf(field);
}

export function measuredNames(mask: number): string[] {
  return MEASURABLE.filter((_, i) => (mask & (1 << i)) !== 0);
}

export function emptyStats(): CgroupStats {
  return {
    memory: { usage: 0 },
    cpu: { totalNs: 0, userNs: 0, systemNs: 0, throttledPeriods: 0, throttledTimeNs: 0 },
    pids: { current: 0 },
    oomKills: 0,
    measured: [],
  };
}

/**
 * CPU use between two samples in percent of one core (100 = one core saturated, more on several cores),
 * from cumulative cgroup CPU time. 0 for the first sample or a non-positive delta (counter reset).
 */
export function cpuPercent(prev: Pick<CgroupStats, 'cpu'> | undefined, cur: Pick<CgroupStats, 'cpu'>, wallDeltaNs: number): number {
  if (!prev || wallDeltaNs <= 0) return 0;
  const used = cur.cpu.totalNs - prev.cpu.totalNs;
  return used <= 0 ? 0 : (used / wallDeltaNs) * 100;
}

// ---- string parsers (cold paths and tests) ----

/** A single-value file: an integer, or Infinity for `max` (v2 limits). */
export function parseSingleValue(text: string): number {
  const s = text.trim();
  if (s === 'max') return Infinity;
  if (!/^-?\d+$/.test(s)) throw new HullError(`invalid cgroup value \`${s}\``, { code: 'EINVAL' });
  return Number(s);
}

/** `key value` lines (memory.stat, cpu.stat, memory.events, cpuacct.stat). */
export function parseFlatKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0) out[line.slice(0, sp)] = parseSingleValue(line.slice(sp + 1));
  }
  return out;
}

/** `key sub=value sub=value` lines (io.stat, io.max, memory.pressure). */
export function parseNestedKeyed(text: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const line of text.split('\n')) {
    const [key, ...pairs] = line.trim().split(/\s+/);
    if (!key) continue;
    const inner: Record<string, number> = {};
    for (const pair of pairs) {
      const eq = pair.indexOf('=');
      if (eq > 0) inner[pair.slice(0, eq)] = parseNestedValue(pair.slice(eq + 1));
    }
    out[key] = inner;
  }
  return out;
}

function parseNestedValue(s: string): number {
  if (s === 'max') return Infinity;
  const n = Number(s);
  if (!Number.isFinite(n)) throw new HullError(`invalid cgroup value \`${s}\``, { code: 'EINVAL' });
  return n;
}

/** A cpuset list like `0-3,8,10-11` (cpuset(7) "List format") → sorted cpu numbers. `''` → []. */
export function parseCpuList(text: string): number[] {
  const s = text.trim();
  if (!s) return [];
  const out = new Set<number>();
  for (const part of s.split(',')) addCpuRange(part, out);
  return [...out].sort((a, b) => a - b);
}

function addCpuRange(part: string, out: Set<number>): void {
  const m = /^(\d+)(?:-(\d+))?$/.exec(part);
  if (!m) throw new HullError(`invalid cpu list element \`${part}\``, { code: 'EINVAL' });
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (hi < lo) throw new HullError(`invalid cpu range \`${part}\``, { code: 'EINVAL' });
  for (let i = lo; i <= hi; i++) out.add(i);
}

// ---- byte parsers (the sampling hot path: no strings, no objects) ----

const SPACE = 0x20;
const NEWLINE = 0x0a;
const MINUS = 0x2d;

/** An integer in buf[start, end) up to the first space or newline; Infinity for `max`; NaN if absent. */
export function parseValueBytes(buf: Buffer, start: number, end: number): number {
  let i = start;
  while (i < end && buf[i] === SPACE) i++;
  if (buf[i] === 0x6d /* m */ && buf[i + 1] === 0x61 && buf[i + 2] === 0x78) return Infinity;
  const neg = buf[i] === MINUS;
  if (neg) i++;
  let n = 0;
  let digits = 0;
  for (; i < end; i++) {
    const d = (buf[i] as number) - 0x30;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
    digits++;
  }
  if (digits === 0) return NaN;
  return neg ? -n : n;
}

/** Keys to pick out of a flat-keyed file, encoded once. */
export class KeySet {
  readonly keys: Buffer[];
  constructor(names: readonly string[]) {
    this.keys = names.map((n) => Buffer.from(n, 'latin1'));
  }
}

/** Fills out[i] with the value of keys[i] in buf[start, end), NaN for keys the text lacks. One pass, no allocation. */
export function scanKeyed(buf: Buffer, start: number, end: number, set: KeySet, out: Float64Array): void {
  out.fill(NaN);
  let line = start;
  while (line < end) {
    let eol = buf.indexOf(NEWLINE, line);
    if (eol < 0 || eol > end) eol = end;
    const sp = buf.indexOf(SPACE, line);
    if (sp > line && sp < eol) {
      const k = findKey(buf, line, sp, set.keys);
      if (k >= 0) out[k] = parseValueBytes(buf, sp + 1, eol);
    }
    line = eol + 1;
  }
}

function findKey(buf: Buffer, start: number, end: number, keys: Buffer[]): number {
  const len = end - start;
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k] as Buffer;
    if (key.length === len && bytesEqual(buf, start, key, len)) return k;
  }
  return -1;
}

function bytesEqual(buf: Buffer, start: number, key: Buffer, len: number): boolean {
  for (let j = 0; j < len; j++) if (buf[start + j] !== key[j]) return false;
  return true;
}

// ---- open-once files ----

/** Shared by every StatFile: reads are synchronous and parsed before the next one, so one buffer serves all. */
let scratch: Buffer = Buffer.allocUnsafe(16 * 1024);

const NOT_LOADED = -2;

/**
 * A cgroup file opened once and re-read with pread(2) at offset 0. cgroupfs regenerates a file's text whenever it
 * is read from offset 0 (seq_file restarts at position 0), so there is no need to reopen per sample. A PreadBatch
 * may have read it already for this sample; otherwise it reads itself.
 */
export class StatFile {
  private fd = -1;
  private missing = false;
  /** where the text of the last read is: [start, start + length) of data */
  private data: Buffer = scratch;
  private start = 0;
  private loaded = NOT_LOADED;

  constructor(readonly path: string) {}

  /** The open fd, opening it first; -1 when the file does not exist. */
  fdOrOpen(): number {
    if (this.fd < 0) this.open();
    return this.fd;
  }

  /** A batch read this file's text into buf[start, start + length) for the next read(). */
  preloaded(buf: Buffer, start: number, length: number): void {
    this.data = buf;
    this.start = start;
    this.loaded = length;
  }

  /** Reads the file; returns its length (the text is at this.data[this.start...]), or -1 when it does not exist. */
  read(): number {
    if (this.loaded !== NOT_LOADED) {
      const n = this.loaded;
      this.loaded = NOT_LOADED;
      return n;
    }
    if (this.fd < 0 && !this.open()) return -1;
    for (;;) {
      const n = this.pread();
      if (n < scratch.length) {
        this.data = scratch;
        this.start = 0;
        return n;
      }
      scratch = Buffer.allocUnsafe(scratch.length * 2); // rare: a file longer than the buffer
    }
  }

  /** The single-value file as a number: NaN when missing, Infinity for `max`. */
  value(): number {
    const n = this.read();
    return n < 0 ? NaN : parseValueBytes(this.data, this.start, this.start + n);
  }

  /** Picks `set`'s keys into `out` (NaN each when the file is missing). */
  keyed(set: KeySet, out: Float64Array): void {
    const n = this.read();
    if (n < 0) out.fill(NaN);
    else scanKeyed(this.data, this.start, this.start + n, set, out);
  }

  /** The file as one decimal number a line (cgroup.procs): empty when missing. */
  numbers(): number[] {
    const n = this.read();
    const out: number[] = [];
    const { data, start } = this;
    let v = -1;
    for (let i = start; i < start + n; i++) {
      const c = data[i] as number;
      if (c >= 0x30 && c <= 0x39) v = (v < 0 ? 0 : v * 10) + (c - 0x30);
      else if (v >= 0) {
        out.push(v);
        v = -1;
      }
    }
    if (v >= 0) out.push(v);
    return out;
  }

  /** Drops a batch's text that was not read. */
  unload(): void {
    this.loaded = NOT_LOADED;
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    this.loaded = NOT_LOADED;
  }

  private open(): boolean {
    if (this.missing) return false;
    try {
      this.fd = fs.openSync(this.path, fs.constants.O_RDONLY);
      return true;
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw cgroupIoError(e, `open \`${this.path}\``, this.path);
      this.missing = true;
      return false;
    }
  }

  private pread(): number {
    try {
      return fs.readSync(this.fd, scratch, 0, scratch.length, 0);
    } catch (e) {
      // ENODEV: the cgroup was removed under us
      throw cgroupIoError(e, `read \`${this.path}\``, this.path);
    }
  }
}

/** Room for one file in a batch: v2 memory.stat, the longest file sampled, is about 1.5 KiB. */
const SLOT = 4096;
/** Shared by every batch, for the same reason as scratch; made at the first fill, grows to the largest batch. */
let batchBuf: Buffer | undefined;

/**
 * Reads a sample's files with one native call (pread each at offset 0). From JS, Node's cost per readSync
 * call was more than the syscall itself: a sample read file by file cost 1.6x the C floor before parsing.
 */
export class PreadBatch {
  private fds = new Int32Array(0);
  private lens = new Int32Array(0);
  private open: StatFile[] = [];
  private pending: StatFile[];

  constructor(files: readonly StatFile[]) {
    this.pending = [...files];
  }

  /** Reads every file into the shared buffer; each StatFile's next read() returns its part. */
  fill(): void {
    if (this.pending.length > 0) this.openPending();
    const n = this.open.length;
    if (n === 0) return;
    if (!batchBuf || batchBuf.length < n * SLOT) batchBuf = Buffer.allocUnsafe(Math.max(n, 16) * SLOT);
    native().preadAll(this.fds, this.lens, batchBuf, SLOT);
    for (let i = 0; i < n; i++) this.deliver(batchBuf, this.open[i] as StatFile, this.lens[i] as number, i * SLOT);
  }

  private deliver(buf: Buffer, f: StatFile, len: number, at: number): void {
    // ENODEV: the cgroup was removed under us
    if (len < 0) throw syscallError(`read \`${f.path}\``, -len, { syscall: 'pread', path: f.path });
    // a full slot may be a longer text cut short: the file reads itself with room to spare
    if (len < SLOT) f.preloaded(buf, at, len);
  }

  /** Forgets what the samplers did not read, so that no file returns this sample's text at the next one. */
  discard(): void {
    for (const f of this.open) f.unload();
  }

  /** After the files were closed: their fds are no longer theirs, and the next fill opens them again. */
  reset(): void {
    this.pending = [...this.open, ...this.pending];
    this.open = [];
    this.fds = new Int32Array(0);
    this.lens = new Int32Array(0);
  }

  /** Files open at the first fill (as StatFile.read would open them); missing ones stay out of the batch. */
  private openPending(): void {
    const fds: number[] = [];
    for (const f of this.pending) {
      const fd = f.fdOrOpen();
      if (fd < 0) continue;
      this.open.push(f);
      fds.push(fd);
    }
    this.pending = [];
    this.fds = Int32Array.from([...this.fds, ...fds]);
    this.lens = new Int32Array(this.fds.length);
  }
}

/** One controller's part of a sample; returns the measuredBit()s of the fields it filled. */
export interface StatsSampler {
  sample(into: CgroupStats): number;
  close(): void;
  /** the files sample() reads, for the reader to read them all in one call beforehand */
  files?(): readonly StatFile[];
}

/** A sampler over files opened once: what files() lists and close() closes is what file() made. */
export abstract class FileSampler implements StatsSampler {
  private readonly list: StatFile[] = [];

  abstract sample(into: CgroupStats): number;

  files(): readonly StatFile[] {
    return this.list;
  }

  close(): void {
    for (const f of this.list) f.close();
  }

  protected file(p: string): StatFile {
    const f = new StatFile(p);
    this.list.push(f);
    return f;
  }
}

/** Samples a set of controllers; keep one per container and call read() at each tick, close() at the end. */
export class StatsReader {
  private lastMask = -1;
  private lastMeasured: readonly string[] = [];

  private readonly batch: PreadBatch;

  constructor(private readonly samplers: readonly StatsSampler[]) {
    this.batch = new PreadBatch(samplers.flatMap((x) => x.files?.() ?? []));
  }

  read(): CgroupStats {
    const s = emptyStats();
    let mask = 0;
    try {
      this.batch.fill();
      for (const sampler of this.samplers) mask |= sampler.sample(s);
    } finally {
      this.batch.discard();
    }
    s.measured = this.measuredFor(mask);
    return s;
  }

  close(): void {
    for (const sampler of this.samplers) sampler.close();
    this.batch.reset();
  }

  /** The same host measures the same fields every tick: reuse the frozen list. */
  private measuredFor(mask: number): readonly string[] {
    if (mask !== this.lastMask) {
      this.lastMask = mask;
      this.lastMeasured = Object.freeze(measuredNames(mask));
    }
    return this.lastMeasured;
  }
}

/** One sample from freshly opened files: for one-off reads (`hull state`, tests). */
export function sampleOnce(samplers: readonly StatsSampler[]): CgroupStats {
  const reader = new StatsReader(samplers);
  try {
    return reader.read();
  } finally {
    reader.close();
  }
}

/** NaN (not measured) → undefined, for the optional fields of a sample. */
export function opt(v: number): number | undefined {
  return Number.isNaN(v) ? undefined : v;
}

/** `bit` when `v` was measured (not NaN), else 0. */
export function bitIf(v: number, bit: number): number {
  return Number.isNaN(v) ? 0 : bit;
}

/** a[i], NaN past the end. */
export function at(a: Float64Array, i: number): number {
  return a[i] ?? NaN;
}

/** Stores a sampled value into an optional field (undefined when not measured); returns `bit` if measured. */
export function put<T extends object>(obj: T, key: { [K in keyof T]: T[K] extends number | undefined ? K : never }[keyof T], v: number, bit: number): number {
  (obj as Record<PropertyKey, unknown>)[key] = Number.isNaN(v) ? undefined : v;
  return Number.isNaN(v) ? 0 : bit;
}

// ---- memory: what both versions read, stored alike ----

/**
 * What a memory sampler read, NaN for what the host has no file or key for. The versions read
 * different files (v1 memory.usage_in_bytes and total_rss, v2 memory.current and anon, ...) into
 * these same fields, and store them alike with putMemory().
 */
export interface MemoryReading {
  usage: number;
  maxUsage: number;
  rss: number;
  cache: number;
  swap: number;
  kernelUsage: number;
  mappedFile: number;
  pgfault: number;
  pgmajfault: number;
  oomKills: number;
}

/** A reading with nothing measured yet: a sampler keeps one and refills it at each tick. */
export function memoryReading(): MemoryReading {
  return { usage: NaN, maxUsage: NaN, rss: NaN, cache: NaN, swap: NaN, kernelUsage: NaN, mappedFile: NaN, pgfault: NaN, pgmajfault: NaN, oomKills: NaN };
}

const MEMORY_BITS = {
  usage: measuredBit('memory.usage'),
  maxUsage: measuredBit('memory.maxUsage'),
  rss: measuredBit('memory.rss'),
  cache: measuredBit('memory.cache'),
  swap: measuredBit('memory.swap'),
  kernel: measuredBit('memory.kernelUsage'),
  mapped: measuredBit('memory.mappedFile'),
  pgfault: measuredBit('memory.pgfault'),
  pgmajfault: measuredBit('memory.pgmajfault'),
  oom: measuredBit('oomKills'),
};

/**
 * Stores a memory reading into a sample; returns the measuredBit()s of what was measured. usage and
 * oomKills are required fields of a sample: 0 when not measured. The others stay undefined then.
 */
export function putMemory(s: CgroupStats, r: MemoryReading): number {
  const m = s.memory;
  const B = MEMORY_BITS;
  m.usage = Number.isNaN(r.usage) ? 0 : r.usage;
  s.oomKills = Number.isNaN(r.oomKills) ? 0 : r.oomKills;
  return (
    bitIf(r.usage, B.usage) |
    bitIf(r.oomKills, B.oom) |
    put(m, 'maxUsage', r.maxUsage, B.maxUsage) |
    put(m, 'rss', r.rss, B.rss) |
    put(m, 'cache', r.cache, B.cache) |
    put(m, 'swap', r.swap, B.swap) |
    put(m, 'kernelUsage', r.kernelUsage, B.kernel) |
    put(m, 'mappedFile', r.mappedFile, B.mapped) |
    put(m, 'pgfault', r.pgfault, B.pgfault) |
    put(m, 'pgmajfault', r.pgmajfault, B.pgmajfault)
  );
}

/**
 * linux.resources.memory.checkBeforeUpdate: refuses a limit below what the cgroup uses now, read
 * from `usageFile` (v1 memory.usage_in_bytes, v2 memory.current). No limit, or -1, checks nothing.
 */
export function checkLimitAboveUsage(dir: string, usageFile: string, limit: number | undefined): void {
  if (!limit || limit < 0) return;
  const usage = parseSingleValue(readCgroupFile(dir, usageFile));
  if (limit < usage) {
    throw new HullError(`linux.resources.memory.limit: ${limit} is below the current usage ${usage} of \`${dir}\``, {
      code: 'EBUSY',
      path: dir,
      field: 'linux.resources.memory.limit',
    });
  }
}
