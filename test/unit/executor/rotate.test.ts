import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RotatingLog, logIndexes } from '../../../lib/executor/rotate';

describe('RotatingLog', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-test-rotate-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const read = (base: string, i: number): string => fs.readFileSync(`${base}.${i}`, 'utf8');

  it('writes to <base>.0 until it is full, then .1, ...; a write is split at the limit', () => {
    const base = path.join(dir, 'web.stdout');
    const log = new RotatingLog(base, { maxFiles: 10, maxFileSize: 10 });
    log.write(Buffer.from('0123456'));
    log.write(Buffer.from('789abcdefghij'));
    log.write(Buffer.from('klmnopqrst'));
    log.close();
    expect(logIndexes(base)).toEqual([0, 1, 2]);
    expect(read(base, 0)).toBe('0123456789');
    expect(read(base, 1)).toBe('abcdefghij');
    expect(read(base, 2)).toBe('klmnopqrst');
  });

  it('keeps only the newest maxFiles files, and nothing is lost in them', () => {
    const base = path.join(dir, 'web.stderr');
    const log = new RotatingLog(base, { maxFiles: 2, maxFileSize: 4 });
    for (let i = 0; i < 10; i++) log.write(Buffer.from(`${i}${i}`));
    log.close();
    expect(logIndexes(base)).toEqual([3, 4]);
    expect(read(base, 3) + read(base, 4)).toBe('66778899');
  });

  it('a restarted writer appends to the newest file and goes on numbering', () => {
    const base = path.join(dir, 't.stdout');
    let log = new RotatingLog(base, { maxFiles: 5, maxFileSize: 6 });
    log.write(Buffer.from('aaaaaabb'));
    log.close();
    log = new RotatingLog(base, { maxFiles: 5, maxFileSize: 6 });
    expect(log.current).toBe(`${base}.1`);
    log.write(Buffer.from('ccccdd'));
    log.close();
    expect(logIndexes(base)).toEqual([0, 1, 2]);
    expect(read(base, 1)).toBe('bbcccc');
    expect(read(base, 2)).toBe('dd');
  });

  it('ignores other files in the directory', () => {
    const base = path.join(dir, 'x.stdout');
    fs.writeFileSync(path.join(dir, 'x.stdout.old'), 'keep');
    fs.writeFileSync(path.join(dir, 'x.stderr.0'), 'keep');
    const log = new RotatingLog(base, { maxFiles: 1, maxFileSize: 1 });
    log.write(Buffer.from('abc'));
    log.close();
    expect(logIndexes(base)).toEqual([2]);
    expect(fs.readdirSync(dir).sort()).toEqual(['x.stderr.0', 'x.stdout.2', 'x.stdout.old']);
  });
});
