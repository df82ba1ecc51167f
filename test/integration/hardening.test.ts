/**
 * The hardening a task gets from `hull spec`'s defaults, on the real kernel: masked and read-only
 * kernel files, no_new_privs, and the devices cgroup, which lets a task make character device
 * nodes but no block device node, and open no device that is not on the default list (the host's
 * disk).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Spec } from '../../lib/oci/schema';
import { describeContainers } from '../helpers/host';
import { parseMountinfo } from '../helpers/parse';
import { type Bundle, bundleSpec } from '../helpers/rootfs';
import { containerSuite } from '../helpers/suite';

jest.setTimeout(10_000);

const suite = containerSuite({ removeWith: 'library' });

function run(script: string, edit?: (s: Spec) => void, prepare?: (b: Bundle) => void) {
  return suite.run(['sh', '-c', script], { edit, prepare, tag: 'hard' });
}

/** `key=value` lines printed by a script. */
function values(out: string): Record<string, string> {
  const o: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) o[line.slice(0, i)] = line.slice(i + 1);
  }
  return o;
}

/** Mount point → options (field 6) of a mountinfo text. */
function mountOptions(mountinfo: string): Map<string, string> {
  return new Map(parseMountinfo(mountinfo).map((m) => [m.point, m.options]));
}

/** major:minor of the block device the host's `/` is on, when it is one. */
function hostRootDevice(): string | undefined {
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[4] === '/' && f[3] === '/' && fs.existsSync(`/sys/dev/block/${f[2]}`)) return f[2];
  }
  // / on a virtual filesystem: any block device of the host will do
  return fs.readdirSync('/sys/dev/block').sort()[0];
}

describeContainers('default hardening', () => {
  test('masked paths: each that the kernel has is covered and reads empty', async () => {
    const masked = ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware', '/proc/acpi', '/proc/scsi'];
    expect(bundleSpec().linux?.maskedPaths).toEqual(expect.arrayContaining(masked));
    const script = [
      'cat /proc/self/mountinfo > /dev/shm/mi',
      ...masked.map((p) => `if [ -d ${p} ]; then echo ${p}=dir:$(ls -A ${p} | wc -l); elif [ -e ${p} ]; then echo ${p}=file:$(cat ${p} | wc -c); else echo ${p}=absent; fi`),
      'echo ---',
      'cat /dev/shm/mi',
    ].join('\n');
    const r = await run(script);
    expect(r.exit.status).toBe(0);
    const [head = '', mountinfo = ''] = r.out.split('---\n');
    const v = values(head);
    const mounts = mountOptions(mountinfo);
    for (const p of masked) {
      if (!fs.existsSync(p)) {
        expect(v[p]).toBe('absent');
        continue;
      }
      expect(v[p]).toBe(fs.statSync(p).isDirectory() ? 'dir:0' : 'file:0');
      expect(mounts.has(p)).toBe(true);
    }
    // /proc/keys and /proc/timer_list exist on any kernel this runs on: the check is not vacuous
    expect(v['/proc/keys']).toBe('file:0');
    expect(v['/proc/timer_list']).toBe('file:0');
  });

  test('read-only paths: /proc/sys, /proc/sysrq-trigger, /proc/irq, /proc/bus are mounted ro and refuse writes', async () => {
    const readonly = ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus'];
    expect(bundleSpec().linux?.readonlyPaths).toEqual(expect.arrayContaining(readonly));
    const script = [
      // in the task's own UTS namespace: harmless even if it were written
      'if echo evil > /proc/sys/kernel/hostname; then echo sys=written; else echo sys=refused; fi',
      // opened for writing, nothing written: harmless even if it were opened (`true`, not `:`:
      // a failed redirection of a special builtin would end the shell)
      'if true > /proc/sysrq-trigger; then echo sysrq=written; else echo sysrq=refused; fi',
      'echo hostname=$(hostname)',
      'echo ---',
      'cat /proc/self/mountinfo',
    ].join('\n');
    const r = await run(script);
    const [head = '', mountinfo = ''] = r.out.split('---\n');
    expect(values(head)).toEqual({ sys: 'refused', sysrq: 'refused', hostname: 'hull-test' });
    expect(r.err).toMatch(/Read-only file system/);
    const mounts = mountOptions(mountinfo);
    for (const p of readonly) {
      if (!fs.existsSync(p)) continue;
      expect(mounts.get(p)).toMatch(/^ro(,|$)/);
    }
  });

  test('no_new_privs is on for a default task', async () => {
    const r = await run('grep ^NoNewPrivs: /proc/self/status');
    expect(r.out).toBe('NoNewPrivs:\t1\n');
  });
});

const v1Devices = fs.existsSync('/sys/fs/cgroup/devices/devices.list');
const describeDevices = v1Devices ? describeContainers : describe.skip;

describeDevices('devices cgroup (v1)', () => {
  test('the task\'s device rules: deny all, then the default devices, the ptys and mknod of character devices', async () => {
    const r = await run('cat /sys/fs/cgroup/devices/devices.list');
    expect(r.exit.status).toBe(0);
    const rules = r.out.trim().split('\n').sort();
    expect(rules).toEqual(
      ['c *:* m', 'c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm', 'c 5:0 rwm', 'c 5:1 rwm', 'c 5:2 rwm', 'c 136:* rwm'].sort(),
    );
  });

  test('a default task can neither make a node of the host\'s disk nor open one it finds; the default devices open', async () => {
    const dev = hostRootDevice();
    expect(dev).toMatch(/^\d+:\d+$/);
    const [major, minor] = (dev as string).split(':') as [string, string];
    const script = [
      `busybox mknod /dev/hostdisk b ${major} ${minor}; echo mknod=$?`,
      // a node the rootfs already holds: only ever read, nothing is written to it
      'cat /found-disk > /dev/null; echo cat=$?',
      'dd if=/found-disk of=/dev/null bs=512 count=1; echo dd=$?',
      'echo zero=$(head -c 3 /dev/zero | wc -c)',
      'echo null=$(cat /dev/null | wc -c)',
    ].join('\n');
    const r = await run(script, undefined, (b) => {
      execFileSync('mknod', [path.join(b.rootfs, 'found-disk'), 'b', major, minor]);
    });
    const v = values(r.out);
    // CAP_MKNOD is a default capability: what refuses both is the devices cgroup (EPERM)
    expect(v['mknod']).toBe('1');
    expect(r.err).toMatch(/mknod: \/dev\/hostdisk: Operation not permitted/);
    expect(v['cat']).toBe('1');
    expect(v['dd']).toBe('1');
    expect(r.err).toMatch(/cat: can't open '\/found-disk': Operation not permitted/);
    expect(r.err).toMatch(/dd: can't open '\/found-disk': Operation not permitted/);
    expect(v['zero']).toBe('3');
    expect(v['null']).toBe('0');
  });
});
