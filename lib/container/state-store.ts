/**
 * Container state under the root directory (--root, default /run/hull): one directory per
 * container holding state.json, written atomically (write a temporary file, then rename), and
 * exec.fifo while the container waits for start.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HullError, fromNodeError } from '../errors';
import type { Spec } from '../oci/schema';
import type { ContainerStatus } from './status';

export const DEFAULT_ROOT = '/run/hull';

/** What hull keeps in a container's directory. */
const STATE_FILES = ['state.json', 'config.json', 'exec.fifo'];

/** unlink(2), where a missing file is what was wanted. */
export function unlinkIfThere(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fromNodeError(e, `unlink \`${file}\``);
  }
}

export interface ContainerRecord {
  ociVersion: string;
  id: string;
  status: ContainerStatus;
  pid: number;
  bundle: string;
  rootfs: string;
  annotations: Record<string, string>;
  created: string;
  /** start time of the init in clock ticks since boot (/proc/<pid>/stat field 22), against pid reuse */
  startTime: number;
  /** linux.cgroupsPath as given in the config, or undefined for the default */
  cgroupsPath?: string;
  /** the container's cgroup directories by hierarchy, as created */
  cgroupPaths: Record<string, string>;
  owner: string;
}

const ID_RE = /^[\w+.-]+$/;

/** runc's rule: ids are names of directories under the root, so no slashes and no `.`/`..`. */
export function validateId(id: string): void {
  if (!id || !ID_RE.test(id) || id === '.' || id === '..' || id.length > 1024) {
    throw new HullError(`invalid container id \`${id}\`: use letters, digits, and + . _ -`, { code: 'EINVALIDARG', field: 'id' });
  }
}

export class StateStore {
  constructor(readonly root: string = DEFAULT_ROOT) {}

  dir(id: string): string {
    return path.join(this.root, id);
  }

  fifoPath(id: string): string {
    return path.join(this.dir(id), 'exec.fifo');
  }

  /** Claims the id: fails if a container of that id exists. */
  claim(id: string): void {
    validateId(id);
    fs.mkdirSync(this.root, { recursive: true, mode: 0o711 });
    try {
      fs.mkdirSync(this.dir(id), { mode: 0o711 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new HullError(`container \`${id}\` already exists`, { code: 'EEXISTS', path: this.dir(id) });
      }
      throw fromNodeError(e, `mkdir \`${this.dir(id)}\``);
    }
  }

  write(rec: ContainerRecord): void {
    const file = path.join(this.dir(rec.id), 'state.json');
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(rec));
    fs.renameSync(tmp, file);
  }

  /** The config the container was created with: exec takes its process defaults from it. */
  writeConfig(id: string, spec: Spec): void {
    fs.writeFileSync(path.join(this.dir(id), 'config.json'), JSON.stringify(spec));
  }

  readConfig(id: string): Spec {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.dir(id), 'config.json'), 'utf8')) as Spec;
    } catch (e) {
      throw fromNodeError(e, `read config of \`${id}\``);
    }
  }

  /** The record, or undefined while the container is still being created. */
  read(id: string): ContainerRecord | undefined {
    validateId(id);
    try {
      return JSON.parse(fs.readFileSync(path.join(this.dir(id), 'state.json'), 'utf8')) as ContainerRecord;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fromNodeError(e, `read state of \`${id}\``);
      if (fs.existsSync(this.dir(id))) return undefined;
      // podman and containerd match "does not exist" to learn that a container is gone
      throw new HullError(`container \`${id}\` does not exist`, { code: 'ENOTFOUND', path: this.dir(id) });
    }
  }

  list(): string[] {
    try {
      return fs.readdirSync(this.root).filter((n) => ID_RE.test(n)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fromNodeError(e, `readdir \`${this.root}\``);
    }
  }

  /**
   * Removes the container's directory. The files hull puts there go one by one, with one
   * syscall each, where fs.rmSync's recursive walk makes several (lstat, readdir, retries); the
   * walk takes over for anything else: other entries, or a file that would not go.
   */
  remove(id: string): void {
    const dir = this.dir(id);
    try {
      for (const f of STATE_FILES) unlinkIfThere(path.join(dir, f));
      fs.rmdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Writes a pid file atomically, as conmon and containerd read it as soon as create returns. */
export function writePidFile(file: string, pid: number): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, String(pid));
  fs.renameSync(tmp, file);
}
