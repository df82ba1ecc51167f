'use strict';
/**
 * The Node side of bench/floor/spawn.c: a long-lived helper that posix_spawns commands and times
 * them with CLOCK_MONOTONIC, so that CLI contestants are timed the way a shell or hyperfine -N
 * would time them, not through Node's event loop.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const readline = require('node:readline');

class Spawner {
  /** bin: the compiled spawn.c; errFile: where the children's stderr goes (appended) */
  constructor(bin, errFile) {
    this.errFile = errFile;
    fs.writeFileSync(errFile, '');
    this.proc = spawn(bin, [errFile], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.queue = [];
    this.rl = readline.createInterface({ input: this.proc.stdout });
    this.rl.on('line', (line) => {
      const w = this.queue.shift();
      if (!w) return;
      const [ns, failed, status, usr, sys] = line.trim().split(/\s+/).map(Number);
      const res = { ms: ns / 1e6, failed, status, userMs: usr / 1000, sysMs: sys / 1000 };
      if (failed !== 0) res.stderr = this.errTail(w.errOffset);
      w.resolve(res);
    });
    this.proc.on('exit', () => {
      for (const w of this.queue.splice(0)) w.reject(new Error('the spawn helper exited'));
    });
  }

  errTail(offset) {
    try {
      const buf = fs.readFileSync(this.errFile);
      return buf.subarray(Math.max(offset, buf.length - 2000)).toString('utf8').trim();
    } catch {
      return '';
    }
  }

  /** Starts every argv at once, waits for all; resolves {ms, failed, status, userMs, sysMs, stderr?}. */
  batch(argvs) {
    for (const a of argvs) {
      for (const s of a) if (/[\t\n]/.test(String(s))) throw new Error(`spawn: argument with a tab or newline: ${JSON.stringify(s)}`);
    }
    let errOffset = 0;
    try {
      errOffset = fs.statSync(this.errFile).size;
    } catch {
      // first use
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ resolve, reject, errOffset });
      this.proc.stdin.write(`${argvs.length}\n${argvs.map((a) => a.join('\t')).join('\n')}\n`);
    });
  }

  /** One command; rejects when it fails (non-zero exit or a signal). */
  async run(argv) {
    const r = await this.batch([argv]);
    if (r.failed) throw new Error(`\`${argv.join(' ')}\` failed (status ${r.status}): ${r.stderr || 'no stderr'}`);
    return r;
  }

  close() {
    try {
      this.proc.stdin.end();
    } catch {
      // gone
    }
  }
}

module.exports = { Spawner };
