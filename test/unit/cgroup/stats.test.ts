import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
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

  it('scanKeyed picks the wanted keys, NaN for absent ones, ignoring bytes past len', () => {
    const keys = new KeySet(['total_rss', 'total_cache', 'absent', 'rss']);
    const out = new Float64Array(4);
    const text = 'rss 1\ntotal_rss_huge 7\ntotal_rss 100\ntotal_cache 200\n';
    const buf = Buffer.from(text + 'absent 9\n');
    scanKeyed(buf, text.length, keys, out);
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
