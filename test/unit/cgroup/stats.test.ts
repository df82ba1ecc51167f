import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HullError } from '../../../lib/errors';
import { native } from '../../../lib/native';
import {
  FileSampler,
  KeySet,
  StatFile,
  StatsReader,
  type StatsSampler,
  cpuPercent,
  emptyStats,
  measuredBit,
  parseCpuList,
  parseFlatKeyed,
  parseNestedKeyed,
  parseSingleValue,
  parseValueBytes,
  scanKeyed,
} from '../../../lib/cgroup/stats';

describe('string parsers', () => {
  it('parseSingleValue reads integers and max', () => {
    expect(parseSingleValue('9223372036854771712\n')).toBe(9223372036854771712);
    expect(parseSingleValue('-1\n')).toBe(-1);
    expect(parseSingleValue('max\n')).toBe(Infinity);
    expect(() => parseSingleValue('12k')).toThrow(/invalid cgroup value `12k`/);
  });

  it('parseFlatKeyed reads memory.stat and cpu.stat', () => {
    expect(parseFlatKeyed('anon 4096\nfile 8192\nfile_mapped 0\n')).toEqual({ anon: 4096, file: 8192, file_mapped: 0 });
    expect(parseFlatKeyed('oom_kill_disable 0\nunder_oom 0\noom_kill 3\n')['oom_kill']).toBe(3);
  });

  it('parseNestedKeyed reads io.stat and memory.pressure', () => {
    expect(parseNestedKeyed('8:0 rbytes=90112 wbytes=0 rios=3 wios=0 dbytes=0 dios=0\n254:0 rbytes=1 wbytes=max\n')).toEqual({
      '8:0': { rbytes: 90112, wbytes: 0, rios: 3, wios: 0, dbytes: 0, dios: 0 },
      '254:0': { rbytes: 1, wbytes: Infinity },
    });
    expect(parseNestedKeyed('some avg10=0.12 avg60=0.00 avg300=0.00 total=1234\n')['some']?.['avg10']).toBe(0.12);
  });

  it('parseCpuList expands ranges', () => {
    expect(parseCpuList('0-3,8,10-11\n')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList('')).toEqual([]);
    expect(() => parseCpuList('3-1')).toThrow(/invalid cpu range `3-1`/);
    expect(() => parseCpuList('a')).toThrow(/invalid cpu list element `a`/);
  });
});

describe('byte parsers', () => {
  it('parseValueBytes stops at whitespace and knows max', () => {
    const b = Buffer.from('  12345\nrest');
    expect(parseValueBytes(b, 0, b.length)).toBe(12345);
    expect(parseValueBytes(Buffer.from('max\n'), 0, 4)).toBe(Infinity);
    expect(parseValueBytes(Buffer.from('-1\n'), 0, 3)).toBe(-1);
    expect(parseValueBytes(Buffer.from('\n'), 0, 1)).toBeNaN();
  });

  it('scanKeyed picks the wanted keys, NaN for absent ones, ignoring bytes outside [start, end)', () => {
    const keys = new KeySet(['total_rss', 'total_cache', 'absent', 'rss']);
    const out = new Float64Array(4);
    const text = 'rss 1\ntotal_rss_huge 7\ntotal_rss 100\ntotal_cache 200\n';
    const buf = Buffer.from(text + 'absent 9\n');
    scanKeyed(buf, 0, text.length, keys, out);
    expect([...out]).toEqual([100, 200, NaN, 1]);
    const shifted = Buffer.from(`total_rss 5\n${text}`);
    scanKeyed(shifted, 'total_rss 5\n'.length, shifted.length, keys, out);
    expect([...out]).toEqual([100, 200, NaN, 1]);
  });
});

describe('StatFile', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-statfile-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('re-reads the same fd at offset 0 and sees new content', () => {
    const p = path.join(dir, 'memory.current');
    fs.writeFileSync(p, '100\n');
    const f = new StatFile(p);
    expect(f.value()).toBe(100);
    fs.writeFileSync(p, '250\n'); // same inode: truncated and rewritten
    expect(f.value()).toBe(250);
    f.close();
  });

  it('reports a missing file as NaN, once and for all', () => {
    const f = new StatFile(path.join(dir, 'memory.peak'));
    expect(f.value()).toBeNaN();
    fs.writeFileSync(path.join(dir, 'memory.peak'), '1\n');
    expect(f.value()).toBeNaN();
    f.close();
  });

  it('grows the shared buffer for a long file', () => {
    const p = path.join(dir, 'memory.stat');
    const filler = Array.from({ length: 3000 }, (_, i) => `key_${i} ${i}`).join('\n');
    fs.writeFileSync(p, `${filler}\nwanted 42\n`);
    const out = new Float64Array(1);
    const f = new StatFile(p);
    f.keyed(new KeySet(['wanted']), out);
    expect(out[0]).toBe(42);
    f.close();
  });
});

describe('StatsReader', () => {
  const sampler = (mask: number, rss: number): StatsSampler => ({
    sample: (s) => {
      s.memory.rss = rss;
      return mask;
    },
    close: jest.fn(),
  });

  it('unions the measured fields and reuses the list while it does not change', () => {
    const a = sampler(measuredBit('memory.rss'), 5);
    const b = sampler(measuredBit('cpu.totalNs'), 5);
    const reader = new StatsReader([a, b]);
    const s1 = reader.read();
    const s2 = reader.read();
    expect(s1.measured).toEqual(['memory.rss', 'cpu.totalNs']);
    expect(s2.measured).toBe(s1.measured);
    expect(s2).not.toBe(s1);
    reader.close();
    expect(a.close).toHaveBeenCalled();
    expect(b.close).toHaveBeenCalled();
  });
});

describe('StatsReader over files', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-batch-'))));
  afterEach(() => {
    jest.restoreAllMocks();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const put = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);

  /** usage and the keyed stat every sample; peak only when asked, to leave a batch's text unread */
  class TwoFiles extends FileSampler {
    readonly usage = this.file(path.join(dir, 'memory.usage_in_bytes'));
    readonly stat = this.file(path.join(dir, 'memory.stat'));
    readonly peak = this.file(path.join(dir, 'memory.max_usage_in_bytes'));
    readonly absent = this.file(path.join(dir, 'memory.kmem.usage_in_bytes'));
    readonly keys = new KeySet(['total_rss', 'wanted']);
    readonly v = new Float64Array(2);
    readPeak = true;
    sample(s: ReturnType<typeof emptyStats>): number {
      s.memory.usage = this.usage.value();
      this.stat.keyed(this.keys, this.v);
      s.memory.rss = this.v[0] as number;
      s.memory.cache = this.v[1] as number;
      s.memory.kernelUsage = this.absent.value();
      if (this.readPeak) s.memory.maxUsage = this.peak.value();
      return measuredBit('memory.usage');
    }
  }

  it('reads every file of a sample in one native call, and each sample anew', () => {
    put('memory.usage_in_bytes', '100\n');
    put('memory.stat', 'total_cache 1\ntotal_rss 7\n');
    put('memory.max_usage_in_bytes', '300\n');
    const addon = native();
    const real = addon.preadAll.bind(addon);
    // the batch's text is what the samplers parse: a usage of 777 put in its first slot comes out
    const batch = jest.spyOn(addon, 'preadAll').mockImplementation((fds, lens, buf, slot) => {
      real(fds, lens, buf, slot);
      lens[0] = buf.write('777\n', 0, 'latin1');
    });
    const reader = new StatsReader([new TwoFiles()]);
    const s1 = reader.read();
    expect([s1.memory.usage, s1.memory.rss, s1.memory.maxUsage, s1.memory.kernelUsage]).toEqual([777, 7, 300, NaN]);
    expect(batch).toHaveBeenCalledTimes(1);
    expect(batch.mock.calls[0]?.[0]).toHaveLength(3); // the missing file is not in the batch
    batch.mockRestore();
    put('memory.usage_in_bytes', '150\n');
    put('memory.stat', 'total_rss 9\n');
    const again = jest.spyOn(addon, 'preadAll');
    const s2 = reader.read();
    expect([s2.memory.usage, s2.memory.rss, s2.memory.maxUsage]).toEqual([150, 9, 300]);
    expect(again).toHaveBeenCalledTimes(1);
    reader.close();
  });

  it('gives no file the previous sample\'s text when a sampler skipped it', () => {
    put('memory.usage_in_bytes', '1\n');
    put('memory.stat', 'total_rss 1\n');
    put('memory.max_usage_in_bytes', '300\n');
    const sampler = new TwoFiles();
    const reader = new StatsReader([sampler]);
    sampler.readPeak = false;
    reader.read(); // peak's text of this sample goes unread
    put('memory.max_usage_in_bytes', '400\n');
    // outside a reader's read() the file reads itself: the batch's stale 300 must not come back
    expect(sampler.peak.value()).toBe(400);
    reader.close();
  });

  it('opens its files again for a read after close, and never reads through the fds it closed', () => {
    put('memory.usage_in_bytes', '1\n');
    put('memory.stat', 'total_rss 1\n');
    put('memory.max_usage_in_bytes', '1\n');
    const reader = new StatsReader([new TwoFiles()]);
    expect(reader.read().memory.usage).toBe(1);
    reader.close();
    put('memory.usage_in_bytes', '2\n');
    expect(reader.read().memory.usage).toBe(2);
    reader.close();
  });

  it('reads a file longer than its slot whole', () => {
    const filler = Array.from({ length: 1000 }, (_, i) => `key_${i} ${i}`).join('\n');
    put('memory.usage_in_bytes', '1\n');
    put('memory.stat', `${filler}\nwanted 42\n`);
    put('memory.max_usage_in_bytes', '1\n');
    const reader = new StatsReader([new TwoFiles()]);
    expect(reader.read().memory.cache).toBe(42);
    reader.close();
  });

  it('names the file and the syscall when a read fails', () => {
    put('memory.usage_in_bytes', '1\n');
    fs.mkdirSync(path.join(dir, 'memory.stat')); // a directory opens, and pread gives EISDIR
    const reader = new StatsReader([new TwoFiles()]);
    let err: unknown;
    try {
      reader.read();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HullError);
    expect(err).toMatchObject({ code: 'EISDIR', syscall: 'pread', path: path.join(dir, 'memory.stat') });
    expect((err as Error).message).toMatch(/^read `.*memory\.stat`: /);
    reader.close();
  });

  it('preadAll refuses arrays that do not fit, naming the argument', () => {
    const fds = Int32Array.of(0, 1);
    expect(() => native().preadAll(fds, new Int32Array(1), Buffer.alloc(64), 32)).toThrow(/preadAll: lens/);
    expect(() => native().preadAll(fds, new Int32Array(2), Buffer.alloc(32), 32)).toThrow(/preadAll: buf/);
    expect(() => native().preadAll([0] as unknown as Int32Array, new Int32Array(1), Buffer.alloc(32), 32)).toThrow(/preadAll: fds/);
    expect(() => native().preadAll(fds, new Int32Array(2), Buffer.alloc(64), 0)).toThrow(/preadAll: slot/);
  });
});

describe('cpuPercent', () => {
  const at = (totalNs: number) => ({ ...emptyStats(), cpu: { ...emptyStats().cpu, totalNs } });

  it('is Δcpu / Δwall × 100, one core = 100', () => {
    expect(cpuPercent(at(0), at(500_000_000), 1e9)).toBe(50);
    expect(cpuPercent(at(1e9), at(3e9), 1e9)).toBe(200);
  });

  it('is 0 on the first sample and on counter resets', () => {
    expect(cpuPercent(undefined, at(5e9), 1e9)).toBe(0);
    expect(cpuPercent(at(5e9), at(1e9), 1e9)).toBe(0);
    expect(cpuPercent(at(0), at(1e9), 0)).toBe(0);
  });
});
