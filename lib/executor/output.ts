/**
 * The task's stdout and stderr: a fifo whose write end the task gets, and whose read end the
 * executor pumps into rotating log files (Nomad's logmon, in the executor's own process). The
 * pump ends at EOF, i.e. when the last holder of the write end (maybe a child of the task that
 * outlives it) closes it; the task's exit never waits for that.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { native } from '../native';
import { DEFAULT_MAX_FILE_SIZE_MB, DEFAULT_MAX_FILES, RotatingLog } from './rotate';
import type { LogRotation } from './types';

export interface TaskOutput {
  /** the fd to give the task (closed by close()) */
  writeFd: number;
  /** call once the task has its copy */
  releaseWriteEnd(): void;
  /** resolves when the stream reached EOF (or was closed) */
  done: Promise<void>;
  /** stops pumping and closes everything */
  close(): void;
}

export function rotationOf(r: LogRotation | undefined): { maxFiles: number; maxFileSize: number } {
  return {
    maxFiles: r?.maxFiles ?? DEFAULT_MAX_FILES,
    maxFileSize: Math.max(1, Math.floor((r?.maxFileSizeMB ?? DEFAULT_MAX_FILE_SIZE_MB) * 1024 * 1024)),
  };
}

/** Output to /dev/null: no fifo, no pump. */
function discarded(): TaskOutput {
  const fd = fs.openSync('/dev/null', 'w');
  let open = true;
  const release = (): void => {
    if (open) fs.closeSync(fd);
    open = false;
  };
  return { writeFd: fd, releaseWriteEnd: release, done: Promise.resolve(), close: release };
}

/**
 * A pump from a fresh fifo at `fifoPath` (removed at once: only the fds matter) into rotating
 * files `<base>.N`; `base` undefined: discarded.
 */
export function openTaskOutput(base: string | undefined, rotation: LogRotation | undefined, fifoPath: string, onError: (e: unknown) => void): TaskOutput {
  if (base === undefined) return discarded();
  const log = new RotatingLog(base, rotationOf(rotation));
  try {
    fs.rmSync(fifoPath, { force: true });
    native().mkfifo(fifoPath, 0o600);
  } catch (e) {
    log.close();
    throw e;
  }
  let readFd = -1;
  let writeFd = -1;
  try {
    // the read end first, non-blocking (no writer yet), then the write end: the reader never sees
    // an EOF before the task has its copy
    readFd = fs.openSync(fifoPath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    writeFd = fs.openSync(fifoPath, fs.constants.O_WRONLY);
  } catch (e) {
    if (readFd >= 0) fs.closeSync(readFd);
    log.close();
    throw e;
  } finally {
    fs.rmSync(fifoPath, { force: true });
  }
  const sock = new net.Socket({ fd: readFd, readable: true, writable: false });
  let finished = false;
  const done = new Promise<void>((resolve) => {
    const finish = (): void => {
      if (finished) return;
      finished = true;
      log.close();
      resolve();
    };
    sock.on('data', (d: Buffer) => {
      try {
        log.write(d);
      } catch (e) {
        onError(e);
      }
    });
    sock.on('error', (e) => {
      onError(e);
      finish();
    });
    sock.on('close', finish);
  });
  let writeOpen = true;
  const releaseWriteEnd = (): void => {
    if (writeOpen) fs.closeSync(writeFd);
    writeOpen = false;
  };
  return {
    writeFd,
    releaseWriteEnd,
    done,
    close() {
      releaseWriteEnd();
      sock.destroy();
    },
  };
}
