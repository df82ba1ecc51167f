import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StateStore, unlinkIfThere } from '../../../lib/container/state-store';
import { native } from '../../../lib/native';

describe('StateStore.remove', () => {
  let root: string;
  let store: StateStore;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-store-'));
    store = new StateStore(root);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const made = (id: string, files: string[]) => {
    store.claim(id);
    for (const f of files) fs.writeFileSync(path.join(root, id, f), '{}');
  };

  it('removes the directory with the files hull keeps there', () => {
    made('c1', ['state.json', 'config.json']);
    native().mkfifo(path.join(root, 'c1', 'exec.fifo'), 0o600);
    store.remove('c1');
    expect(fs.readdirSync(root)).toEqual([]);
  });

  it('removes whatever else is in it, such as a writer\'s leftover temporary file', () => {
    made('c2', ['state.json', 'state.json.4242.tmp']);
    fs.mkdirSync(path.join(root, 'c2', 'sub'));
    fs.writeFileSync(path.join(root, 'c2', 'sub', 'x'), '');
    store.remove('c2');
    expect(fs.readdirSync(root)).toEqual([]);
  });

  it('removes a directory where one of hull\'s names is not a plain file', () => {
    made('c3', ['state.json']);
    fs.mkdirSync(path.join(root, 'c3', 'config.json')); // unlink gives EISDIR: the walk takes over
    store.remove('c3');
    expect(fs.readdirSync(root)).toEqual([]);
  });

  it('is a no-op for a directory that is gone', () => {
    expect(() => store.remove('never-made')).not.toThrow();
  });
});

describe('unlinkIfThere', () => {
  it('unlinks, accepts a missing file, and names the file on any other error', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-unlink-'));
    try {
      const f = path.join(dir, 'f');
      fs.writeFileSync(f, '');
      unlinkIfThere(f);
      expect(fs.existsSync(f)).toBe(false);
      expect(() => unlinkIfThere(f)).not.toThrow();
      fs.mkdirSync(f); // unlink of a directory: EISDIR
      expect(() => unlinkIfThere(f)).toThrow(new RegExp(`unlink \`${f}\``));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
