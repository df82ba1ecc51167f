/**
 * computeCapabilities on the real kernel: the five capability sets a task ends up with, as its
 * own /proc/self/status shows them, what they let it do (bind port 80), and no_new_privs against
 * a setuid-root binary.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { capMask } from '../../lib/container/plan';
import { DEFAULT_CAPABILITIES } from '../../lib/oci/capabilities';
import type { Spec } from '../../lib/oci/schema';
import { type CapabilityPolicy, computeCapabilities } from '../../lib/task/capabilities';
import { describeContainers } from '../helpers/host';
import { DEFAULT_CAP_HEX, NO_CAPS, statusFields } from '../helpers/parse';
import type { Bundle } from '../helpers/rootfs';
import { containerSuite } from '../helpers/suite';

jest.setTimeout(10_000);

const NET_BIND_SERVICE_HEX = '0000000000000400';
const NOBODY = { uid: 65534, gid: 65534 };

const suite = containerSuite({ removeWith: 'library' });

/** Runs a shell script in a busybox bundle to its exit; `prepare` may edit the rootfs first. */
function run(script: string, edit: (s: Spec) => void, prepare?: (b: Bundle) => void) {
  return suite.run(['sh', '-c', script], { edit, prepare, tag: 'cap' });
}

/** A config edit: the user, and the capability sets computeCapabilities gives for it. */
function task(user: { uid: number; gid: number }, policy: Omit<CapabilityPolicy, 'uid'> = {}, more?: (s: Spec) => void) {
  return (s: Spec) => {
    s.process!.user = user;
    s.process!.capabilities = computeCapabilities({ uid: user.uid, ...policy });
    more?.(s);
  };
}

async function statusOf(edit: (s: Spec) => void): Promise<Record<string, string>> {
  const r = await run('cat /proc/self/status', edit);
  expect(r.err).toBe('');
  expect(r.exit.status).toBe(0);
  return statusFields(r.out);
}

/**
 * Listens on TCP port 80 with busybox nc in the background, and prints the listening sockets of
 * /proc/net/tcp (the container's own network namespace) and nc's fate.
 */
const LISTEN_80 = [
  'busybox nc -l -p 80 </dev/null >/dev/null & pid=$!',
  'sleep 0.3',
  // local port 0050 (80), state 0A (LISTEN), on IPv4 or IPv6 (busybox nc listens on ::)
  "awk '$2 ~ /:0050$/ && $4 == \"0A\" { print \"listening\" }' /proc/net/tcp /proc/net/tcp6",
  'if kill $pid 2>/dev/null; then echo nc=running; else echo nc=exited; fi',
].join('\n');

describeContainers('task capabilities (computeCapabilities in the config)', () => {
  test('root by default: the default set in bounding, permitted, effective and inheritable; none ambient', async () => {
    expect(capMask(DEFAULT_CAPABILITIES).toString(16).padStart(16, '0')).toBe(DEFAULT_CAP_HEX);
    const f = await statusOf(task({ uid: 0, gid: 0 }));
    expect(f).toMatchObject({ CapBnd: DEFAULT_CAP_HEX, CapPrm: DEFAULT_CAP_HEX, CapEff: DEFAULT_CAP_HEX, CapInh: DEFAULT_CAP_HEX, CapAmb: NO_CAPS });
  });

  test('root with capDrop: the dropped capability is in no set', async () => {
    const f = await statusOf(task({ uid: 0, gid: 0 }, { drop: ['CHOWN', 'cap_kill'] }));
    const hex = (BigInt(`0x${DEFAULT_CAP_HEX}`) & ~((1n << 0n) | (1n << 5n))).toString(16).padStart(16, '0');
    expect(f).toMatchObject({ CapBnd: hex, CapPrm: hex, CapEff: hex, CapInh: hex, CapAmb: NO_CAPS });
  });

  test('nobody without capAdd: nothing effective, permitted or inheritable, the default set bounds', async () => {
    const f = await statusOf(task(NOBODY));
    expect(f).toMatchObject({ Uid: '65534\t65534\t65534\t65534', CapBnd: DEFAULT_CAP_HEX, CapPrm: NO_CAPS, CapEff: NO_CAPS, CapInh: NO_CAPS, CapAmb: NO_CAPS });
  });

  test('nobody without capAdd cannot bind port 80', async () => {
    const r = await run(LISTEN_80, task(NOBODY));
    expect(r.out).toBe('nc=exited\n');
    expect(r.err).toMatch(/bind: Permission denied/);
  });

  test('nobody with capAdd NET_BIND_SERVICE: exactly that one permitted, effective and ambient, and it binds port 80', async () => {
    const f = await statusOf(task(NOBODY, { add: ['NET_BIND_SERVICE'] }));
    expect(f).toMatchObject({
      CapBnd: DEFAULT_CAP_HEX,
      CapInh: NET_BIND_SERVICE_HEX,
      CapPrm: NET_BIND_SERVICE_HEX,
      CapEff: NET_BIND_SERVICE_HEX,
      CapAmb: NET_BIND_SERVICE_HEX,
    });
    // through sh into nc: ambient capabilities survive each execve of the unprivileged user
    const r = await run(LISTEN_80, task(NOBODY, { add: ['net_bind_service'] }));
    expect(r.err).toBe('');
    expect(r.out).toBe('listening\nnc=running\n');
  });
});

describeContainers('no_new_privs', () => {
  test('on by default, off when noNewPrivileges is false', async () => {
    expect((await statusOf(task(NOBODY)))['NoNewPrivs']).toBe('1');
    expect(
      (
        await statusOf(
          task(NOBODY, {}, (s) => {
            s.process!.noNewPrivileges = false;
          }),
        )
      )['NoNewPrivs'],
    ).toBe('0');
  });

  /**
   * A setuid-root copy of busybox in the rootfs, run as 65534. busybox drops a setuid euid itself
   * for most applets (cat, id: their output would say 65534 either way), but `su` keeps it and
   * first checks that it got euid 0: "must be suid to work properly" is the proof that the exec
   * did not raise the euid. With no_new_privs off, the same binary does get euid 0 (su goes on to
   * ask for a password): the control that shows the binary is really setuid-root.
   */
  function suidBusybox(b: Bundle): void {
    const p = path.join(b.rootfs, 'bin', 'busybox-suid');
    fs.copyFileSync(path.join(b.rootfs, 'bin', 'busybox'), p);
    fs.chownSync(p, 0, 0);
    fs.chmodSync(p, 0o4755);
  }

  const SU = '/bin/busybox-suid su; echo rc=$?; stat -c "%u %a" /bin/busybox-suid';

  test('with no_new_privs (default) a setuid-root binary does not raise the euid of 65534', async () => {
    const r = await run(SU, task(NOBODY), suidBusybox);
    expect(r.out).toBe('rc=1\n0 4755\n');
    expect(r.err).toMatch(/must be suid to work properly/);
  });

  test('control: without no_new_privs the same binary runs with euid 0', async () => {
    // su asks for the password (and, on EOF, waits 3 s before failing): killed once it asked
    const r = await run(
      '/bin/busybox-suid su & pid=$!; sleep 0.3; echo; grep ^Uid: /proc/$pid/status; kill $pid; wait $pid',
      task(NOBODY, {}, (s) => {
        s.process!.noNewPrivileges = false;
      }),
      suidBusybox,
    );
    expect(r.err).not.toMatch(/must be suid/);
    expect(r.out).toMatch(/^Password: /);
    // real 65534, effective and saved 0
    expect(r.out).toMatch(/\nUid:\t65534\t0\t0\t0\n/);
  });
});
