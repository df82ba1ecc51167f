'use strict';
/** Per-process accounting from /proc: CPU time (all threads), wakeups, PSS/RSS. */
const fs = require('node:fs');

function threads(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
}

/** ns on a CPU, summed over the threads alive now (/proc/<pid>/task/<tid>/schedstat, field 1). */
function cpuNs(pid) {
  let sum = 0;
  for (const tid of threads(pid)) {
    try {
      sum += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended
    }
  }
  return sum;
}

/**
 * ns of CPU of the whole process including threads that have ended: utime+stime of
 * /proc/<pid>/stat is cumulative for the process but in clock ticks (10 ms); schedstat is exact but
 * per live thread. Both are returned.
 */
function cpu(pid) {
  let ticks = NaN;
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    ticks = Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
  } catch {
    // gone
  }
  return { ns: cpuNs(pid), ticks };
}

/** Context switches (voluntary + involuntary) summed over live threads: each is a wakeup or a preemption. */
function switches(pid) {
  let sum = 0;
  for (const tid of threads(pid)) {
    try {
      const s = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      sum += Number((s.match(/^voluntary_ctxt_switches:\s*(\d+)/m) || [])[1] || 0);
      sum += Number((s.match(/^nonvoluntary_ctxt_switches:\s*(\d+)/m) || [])[1] || 0);
    } catch {
      // the thread ended
    }
  }
  return sum;
}

/** /proc/<pid>/smaps_rollup in KiB: { Rss, Pss, Pss_Anon, Pss_File, Pss_Shmem, ... } */
function smapsRollup(pid) {
  const out = {};
  const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  for (const m of text.matchAll(/^(\w+):\s+(\d+) kB/gm)) out[m[1]] = Number(m[2]);
  return out;
}

module.exports = { cpuNs, cpu, switches, smapsRollup, threads };
