import { parseArgs } from '../../../lib/cli/args';
import { exitStatusCode, parseSignal } from '../../../lib/signals';

const spec = { values: ['bundle', 'pid-file'], booleans: ['detach', 'force'], aliases: { b: 'bundle', d: 'detach', f: 'force' } };

describe('parseArgs', () => {
  it('takes flags before and among positionals, in both forms', () => {
    expect(parseArgs(['--bundle', '/b', 'id1', '--pid-file=/p', '-d'], spec)).toEqual({
      flags: { bundle: '/b', 'pid-file': '/p', detach: true },
      positionals: ['id1'],
    });
  });

  it('stops at -- and, for a command line, at the first positional', () => {
    expect(parseArgs(['-f', '--', '-x'], spec).positionals).toEqual(['-x']);
    expect(parseArgs(['sh', '-c', 'x'], spec, true).positionals).toEqual(['sh', '-c', 'x']);
  });

  it('names an unknown flag, and a flag without its value', () => {
    expect(() => parseArgs(['--nope'], spec)).toThrow('unknown flag `--nope`');
    expect(() => parseArgs(['--bundle'], spec)).toThrow('flag --bundle needs a value');
  });
});

describe('signals', () => {
  it('parses names with or without SIG, any case, and numbers', () => {
    expect(parseSignal('SIGKILL')).toBe(9);
    expect(parseSignal('term')).toBe(15);
    expect(parseSignal('10')).toBe(10);
    expect(() => parseSignal('65')).toThrow('unknown signal `65`');
  });

  it('gives 128+N for death by signal N', () => {
    expect(exitStatusCode({ exitCode: null, signal: 9 })).toBe(137);
    expect(exitStatusCode({ exitCode: 3, signal: null })).toBe(3);
  });
});
