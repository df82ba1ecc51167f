/**
 * Many containers in a row leave nothing behind, and an OOM kill reaches the exit result.
 * 200 create/start/kill/delete cycles: afterwards the test process has the fds and children it
 * had before, and no cgroup, mount or process of any of the 200 remains.
 */
import * as fs from 'node:fs';
import { Container } from '../../lib/container/container';
import { assertHostReady, childrenOf, describeContainers, findCgroups, mountsMentioning, pidsInCgroupsNamed } from '../helpers/host';
import { fdCount } from '../helpers/recvtty';
import { makeBundle, stateRoot, uniqueId, type Bundle, type TempDir } from '../helpers/rootfs';

describeContainers('container churn', () => {
  let root: TempDir;
  let bundle: Bundle;
  const prefix = uniqueId('churn');

  beforeAll(() => {
    assertHostReady();
    root = stateRoot();
    bundle = makeBundle({ args: ['sleep', '1000'] });
  });

  afterAll(() => {
    bundle.cleanup();
    root.cleanup();
  });

  it('200 create, start, kill and delete cycles leave no fd, child, cgroup, mount or process', async () => {
    // one cycle first, so that lazily loaded modules and the exit watcher's own fds are counted
    const warm = await Container.create({ id: `${prefix}-warm`, bundle: bundle.dir, root: root.dir });
    warm.start();
    warm.kill('KILL');
    await warm.wait();
    await warm.delete();
    const fds = fdCount();
    const kids = childrenOf(process.pid);
    for (let i = 0; i < 200; i++) {
      const c = await Container.create({ id: `${prefix}-${i}`, bundle: bundle.dir, root: root.dir });
      c.start();
      c.kill('KILL');
      expect((await c.wait()).status).toBe(137);
      await c.delete();
    }
    expect(fdCount()).toBe(fds);
    expect(childrenOf(process.pid)).toEqual(kids);
    expect(findCgroups(prefix)).toEqual([]);
    expect(mountsMentioning(prefix, bundle.dir)).toEqual([]);
    expect(pidsInCgroupsNamed(prefix)).toEqual([]);
    expect(fs.readdirSync(root.dir).filter((n) => n.startsWith(prefix))).toEqual([]);
  }, 120_000);

  it('a process OOM-killed under a 32 MiB limit shows in the exit result', async () => {
    const hog = makeBundle({
      // the shell keeps a 200 MB string in memory: far over the limit
      args: ['sh', '-c', 'x=$(head -c 200000000 /dev/zero | tr "\\0" x); echo ${#x}'],
      edit: (s) => (s.linux!.resources = { ...s.linux!.resources, memory: { limit: 32 << 20, swap: 32 << 20 } }),
    });
    try {
      const c = await Container.create({ id: `${prefix}-oom`, bundle: hog.dir, root: root.dir, stdio: [-1, -1, -1] });
      c.start();
      const exit = await c.wait();
      await c.delete(true);
      expect(exit.oomKilled).toBe(true);
      expect(exit.signal).toBe(9);
    } finally {
      hog.cleanup();
    }
  }, 30_000);
});
