import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { BUILD_ID_MARK, buildIdOf, cacheHeader, loadBundle, wrapSource } from '../../../lib/cli/boot';

describe('loadBundle', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-boot-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A bundle whose answer() returns `value`, ending with build id `id`. */
  function bundle(name: string, value: number, id: string): string {
    const file = path.join(dir, name);
    const body = `exports.answer = () => ${value};\nexports.where = [__filename, __dirname];\nexports.dep = require('./dep.js');`;
    fs.writeFileSync(file, `${body}${BUILD_ID_MARK}${id}\n`);
    return file;
  }

  /** A cache of `file` as made for build `id` (top-level code only: enough for V8 to take or refuse it). */
  function cacheOf(file: string, id: string, data?: Buffer): string {
    const cache = `${file}.cache`;
    const v8data = data ?? new vm.Script(wrapSource(fs.readFileSync(file, 'utf8')), { filename: file }).createCachedData();
    fs.writeFileSync(cache, Buffer.concat([cacheHeader(id), v8data]));
    return cache;
  }

  const A = 'a'.repeat(32);
  const B = 'b'.repeat(32);

  beforeEach(() => fs.writeFileSync(path.join(dir, 'dep.js'), 'module.exports = "dep";'));

  it('runs the bundle as a CommonJS module of its own path, with the cache V8 accepts', () => {
    const file = bundle('cli.js', 1, A);
    const r = loadBundle<{ answer(): number; where: string[]; dep: string }>(file, cacheOf(file, A));
    expect(r.cache).toBe('accepted');
    expect(r.exports.answer()).toBe(1);
    expect(r.exports.where).toEqual([file, dir]);
    expect(r.exports.dep).toBe('dep'); // require() resolves beside the bundle
  });

  it('does not give V8 a cache made for another build of the same length', () => {
    // V8 checks the source only by its length: this cache would be taken, with the other build's code
    const one = bundle('one.js', 1, A);
    const two = bundle('two.js', 2, B);
    expect(fs.statSync(one).size).toBe(fs.statSync(two).size);
    const cache = cacheOf(one, A);
    fs.copyFileSync(cache, `${two}.cache`);
    const r = loadBundle<{ answer(): number }>(two, `${two}.cache`);
    expect(r.cache).toBe('stale');
    expect(r.exports.answer()).toBe(2);
  });

  it('runs without a cache, and with one V8 refuses', () => {
    // sources V8 has not compiled in this process: it would serve a repeated one from memory
    const file = bundle('cli.js', 3, A);
    const r = loadBundle<{ answer(): number }>(file, path.join(dir, 'none.cache'));
    expect(r.cache).toBe('absent');
    expect(r.exports.answer()).toBe(3);
    const other = bundle('other.js', 5, A);
    const refused = loadBundle<{ answer(): number }>(other, cacheOf(other, A, Buffer.from('not a v8 code cache, not at all')));
    expect(refused.cache).toBe('rejected');
    expect(refused.exports.answer()).toBe(5);
  });

  it('keeps the text of a bundle that is not ASCII (read as UTF-8; an ASCII one is read as latin1)', () => {
    const file = path.join(dir, 'utf8.js');
    fs.writeFileSync(file, 'exports.unit = "µs μs ≥";\n');
    expect(loadBundle<{ unit: string }>(file, path.join(dir, 'none.cache')).exports.unit).toBe('µs μs ≥');
  });

  it('takes no cache for a bundle without a build id', () => {
    const file = path.join(dir, 'plain.js');
    fs.writeFileSync(file, 'exports.answer = () => 4;\n');
    const r = loadBundle<{ answer(): number }>(file, cacheOf(file, A));
    expect(r).toMatchObject({ cache: 'stale' });
    expect(r.exports.answer()).toBe(4);
  });
});

describe('buildIdOf', () => {
  it('reads the id of the last line, and only a hex one', () => {
    expect(buildIdOf(`x${BUILD_ID_MARK}0123456789abcdef0123\n`)).toBe('0123456789abcdef0123');
    expect(buildIdOf('x\n')).toBeUndefined();
    expect(buildIdOf(`x${BUILD_ID_MARK}not-hex\n`)).toBeUndefined();
    expect(buildIdOf(`x${BUILD_ID_MARK}abc\n`)).toBeUndefined(); // too short to be a hash
  });
});
