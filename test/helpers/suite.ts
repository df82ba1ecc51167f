/**
 * The frame the container suites share. Each test gets a fresh state root; what it makes through
 * the suite (ids, bundles, directories, containers) is tracked, and after the test, passed or
 * failed, removed; then nothing of its containers may be left on the host (cgroups, mounts,
 * processes, state) and the host's mounts (the propagation of its `/` included) must be as they
 * were. That check is in afterEach so that a failing test cannot hide a leak from the next one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Container, runContainer, type ContainerExit } from '../../lib/container/container';
import { remove } from '../../lib/container/delete';
import { defaultRuntime } from '../../lib/container/runtime';
import type { Spec } from '../../lib/oci/schema';
import {
  type HullResult,
  assertHostReady,
  hostMountSnapshot,
  hull,
  mountsMentioning,
  recordedState,
  removeNewHullParents,
  settledLeftovers,
  snapshotHullParents,
} from './host';
import { type Bundle, type TempDir, makeBundle, stateRoot, tempDir, uniqueId } from './rootfs';

/** A process's stdio as files: stdin (/dev/null unless given), stdout and stderr captured. */
export interface Io {
  stdio: [number, number, number];
  out(): string;
  err(): string;
  /** closes this process's copies of the three fds (the given stdin too), once */
  close(): void;
}

export function captureIo(outPath: string, errPath: string, stdin?: number): Io {
  const fds: [number, number, number] = [stdin ?? fs.openSync('/dev/null', 'r'), fs.openSync(outPath, 'w+'), fs.openSync(errPath, 'w+')];
  let closed = false;
  return {
    stdio: fds,
    out: () => fs.readFileSync(outPath, 'utf8'),
    err: () => fs.readFileSync(errPath, 'utf8'),
    close() {
      if (closed) return;
      closed = true;
      for (const fd of fds) fs.closeSync(fd);
    },
  };
}

export interface SuiteOptions {
  /**
   * How the containers a test named are removed after it: `library`, remove(rt, id, force), in the
   * suites that drive the library; `cli`, `hull delete -f`, in the CLI suites, and only for ids
   * that have a state directory (a foreground `hull run` deletes its container itself).
   */
  removeWith: 'library' | 'cli';
  /** First after a test: release what holds on to its containers (terminals, exec'd processes). */
  release?: () => Promise<void> | void;
  /** After the containers are removed, before the leftover scan: what ends with them (a `hull run` in the background). */
  afterRemove?: () => Promise<void> | void;
  /** After the containers' own leftover scan: the suite's own cleanup of the host, and what else it finds left. */
  moreLeftovers?: () => string[];
}

export interface Ran {
  exit: ContainerExit;
  out: string;
  err: string;
  id: string;
  bundle: Bundle;
}

export interface Created {
  c: Container;
  id: string;
  /** the init's stdout and stderr (this process's fds are closed already: the init has its own) */
  io: Io;
  bundle: Bundle;
}

export interface ContainerOptions {
  edit?: (s: Spec) => void;
  /** for the id: `hull-test-<pid>-<tag>-<rand>` */
  tag?: string;
  /** changes the bundle (its rootfs) before the container is made */
  prepare?: (b: Bundle) => void;
}

interface Made {
  ids: string[];
  bundles: Bundle[];
  containers: Container[];
  dirs: TempDir[];
}

export class ContainerSuite {
  private made: Made = { ids: [], bundles: [], containers: [], dirs: [] };
  private currentRoot: TempDir | undefined;

  constructor(private readonly opts: SuiteOptions) {}

  /** The state root (`--root`) of the current test. */
  get root(): TempDir {
    if (!this.currentRoot) throw new Error('the state root exists only while a test runs');
    return this.currentRoot;
  }

  /** The bundles the current test made, in order. */
  get bundles(): readonly Bundle[] {
    return this.made.bundles;
  }

  /** The directories the current test made, in order. */
  get dirs(): readonly TempDir[] {
    return this.made.dirs;
  }

  /** A unique container id, removed (and checked for leftovers) after the test. */
  newId(tag: string): string {
    const id = uniqueId(tag);
    this.made.ids.push(id);
    return id;
  }

  /** A busybox bundle whose process runs `args`, removed after the test. */
  bundle(args: string[], edit?: (s: Spec) => void): Bundle {
    const b = makeBundle({ args, edit });
    this.made.bundles.push(b);
    return b;
  }

  /** A fresh directory under the tmpdir, removed after the test. */
  dir(tag: string): TempDir {
    const t = tempDir(tag);
    this.made.dirs.push(t);
    return t;
  }

  /** A container made outside create(), deleted (forced) after the test. */
  track(c: Container): Container {
    this.made.containers.push(c);
    return c;
  }

  /** stdio files in a directory of their own. */
  captureIo(): Io {
    const t = this.dir('io');
    return captureIo(path.join(t.dir, 'out'), path.join(t.dir, 'err'));
  }

  /** Runs a bundle to its exit with runContainer, in this process; gives its exit and output. */
  async run(args: string[], opts: ContainerOptions = {}): Promise<Ran> {
    const b = this.bundle(args, opts.edit);
    opts.prepare?.(b);
    const id = this.newId(opts.tag ?? 'run');
    const io = this.captureIo();
    try {
      const exit = await runContainer({ id, bundle: b.dir, root: this.root.dir, stdio: io.stdio });
      return { exit, out: io.out(), err: io.err(), id, bundle: b };
    } finally {
      io.close();
    }
  }

  /** Container.create of a bundle: the init waits for start(). */
  async create(args: string[], opts: ContainerOptions & { pidFile?: string } = {}): Promise<Created> {
    const b = this.bundle(args, opts.edit);
    opts.prepare?.(b);
    const id = this.newId(opts.tag ?? 'c');
    const io = this.captureIo();
    try {
      const c = await Container.create({ id, bundle: b.dir, root: this.root.dir, stdio: io.stdio, ...(opts.pidFile ? { pidFile: opts.pidFile } : {}) });
      this.track(c);
      return { c, id, io, bundle: b };
    } finally {
      // the init has its own copies; the files stay readable through io.out()/io.err()
      io.close();
    }
  }

  /** `hull --root <the test's root> [globals] ARGS` to completion. */
  cli(args: string[], globals?: string[]): HullResult {
    return hull(this.root.dir, args, globals ? { globals } : {});
  }

  /** What hull recorded of `id` in the test's root (see recordedState). */
  recorded(id: string): { status: string; pid: number } | undefined {
    return recordedState(this.root.dir, id);
  }

  /** Registers the hooks; call once, at the top level of a suite file. */
  register(): this {
    let parents: Set<string> | undefined;
    let mountsBefore: string[] = [];
    beforeAll(() => {
      assertHostReady();
      parents = snapshotHullParents();
    });
    afterAll(() => {
      if (parents) removeNewHullParents(parents);
    });
    beforeEach(() => {
      this.made = { ids: [], bundles: [], containers: [], dirs: [] };
      this.currentRoot = stateRoot();
      mountsBefore = hostMountSnapshot();
    });
    afterEach(async () => {
      const { ids, bundles, dirs } = this.made;
      const root = this.root;
      await this.opts.release?.();
      await this.removeContainers();
      await this.opts.afterRemove?.();
      const left: string[] = [];
      for (const id of ids) left.push(...(await settledLeftovers(id, { root: root.dir })));
      left.push(...(this.opts.moreLeftovers?.() ?? []));
      for (const b of bundles) left.push(...mountsMentioning(b.dir).map((l) => `mount ${l}`));
      for (const b of bundles) b.cleanup();
      for (const t of dirs) t.cleanup();
      root.cleanup();
      this.currentRoot = undefined;
      expect(left).toEqual([]);
      expect(hostMountSnapshot()).toEqual(mountsBefore);
    });
    return this;
  }

  private async removeContainers(): Promise<void> {
    const root = this.root.dir;
    for (const c of this.made.containers) await c.delete(true).catch(() => undefined);
    if (this.opts.removeWith === 'library') {
      const rt = defaultRuntime(root);
      for (const id of this.made.ids) await remove(rt, id, true).catch(() => undefined);
    } else {
      for (const id of this.made.ids) if (fs.existsSync(path.join(root, id))) hull(root, ['delete', '-f', id]);
    }
  }
}

/** A ContainerSuite with its hooks registered. */
export function containerSuite(opts: SuiteOptions): ContainerSuite {
  return new ContainerSuite(opts).register();
}
