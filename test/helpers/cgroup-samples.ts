/**
 * /proc/self/cgroup and /proc/self/mountinfo as real hosts show them. Mount lines for proc, sysfs and friends are
 * kept where they were, so parsers see the noise they meet in life.
 */

export interface HostSample {
  cgroup: string;
  mountinfo: string;
}

/** hull's CI VM: v1 controllers each on their own mount (cpu and cpuacct apart), cgroup2 at unified with hugetlb. */
export const CI_VM: HostSample = {
  cgroup: `9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/5a843c2a976d9d278820684ee141e81f
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`,
  mountinfo: `21 26 0:20 / /proc rw,relatime - proc proc rw
22 26 0:21 / /sys rw,relatime - sysfs sysfs rw
23 26 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334416k,nr_inodes=3083604,mode=755
24 23 0:22 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683620k
25 23 0:23 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000
26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534
30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
35 30 0:32 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
37 30 0:34 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`,
};

/** Ubuntu 20.04 desktop: systemd "hybrid", a login session, cpu,cpuacct and net_cls,net_prio combined. */
export const UBUNTU_HYBRID: HostSample = {
  cgroup: `12:rdma:/
11:hugetlb:/
10:cpuset:/
9:devices:/user.slice
8:freezer:/
7:pids:/user.slice/user-1000.slice/session-17.scope
6:blkio:/user.slice
5:net_cls,net_prio:/
4:memory:/user.slice/user-1000.slice/session-17.scope
3:perf_event:/
2:cpu,cpuacct:/user.slice
1:name=systemd:/user.slice/user-1000.slice/session-17.scope
0::/user.slice/user-1000.slice/session-17.scope
`,
  mountinfo: `24 29 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
25 29 0:23 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw
29 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw,errors=remount-ro
33 24 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
34 33 0:29 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
35 33 0:30 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
38 33 0:33 / /sys/fs/cgroup/rdma rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,rdma
39 33 0:34 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
40 33 0:35 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory
41 33 0:36 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,net_cls,net_prio
42 33 0:37 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,pids
43 33 0:38 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,freezer
44 33 0:39 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:20 - cgroup cgroup rw,devices
45 33 0:40 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:21 - cgroup cgroup rw,cpuset
46 33 0:41 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:22 - cgroup cgroup rw,blkio
47 33 0:42 / /sys/fs/cgroup/hugetlb rw,nosuid,nodev,noexec,relatime shared:23 - cgroup cgroup rw,hugetlb
48 33 0:43 / /sys/fs/cgroup/perf_event rw,nosuid,nodev,noexec,relatime shared:24 - cgroup cgroup rw,perf_event
`,
};

/** Fedora 39: pure cgroup v2, a process in a deep user slice. */
export const FEDORA_V2: HostSample = {
  cgroup: `0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-org.gnome.Terminal.slice/vte-spawn-1.scope
`,
  mountinfo: `22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
23 1 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw,seclabel
35 23 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,seclabel,nsdelegate,memory_recursiveprot
`,
};

/**
 * Inside a Docker container on a v1 host without a cgroup namespace: /proc/self/cgroup shows the host's paths,
 * and each hierarchy is bind-mounted from /docker/<id>, so the container's own cgroup IS the mountpoint.
 */
const DOCKER_ID = '4f2a9c1d0e7b';
export const DOCKER_NESTED_V1: HostSample = {
  cgroup: `12:name=systemd:/docker/${DOCKER_ID}
4:memory:/docker/${DOCKER_ID}
2:cpu,cpuacct:/docker/${DOCKER_ID}
1:pids:/docker/${DOCKER_ID}
0::/system.slice/containerd.service
`,
  mountinfo: `1051 1050 0:96 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
1052 1050 0:97 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,mode=755
1053 1052 0:30 /docker/${DOCKER_ID} /sys/fs/cgroup/systemd ro,nosuid,nodev,noexec,relatime master:11 - cgroup cgroup rw,xattr,name=systemd
1054 1052 0:34 /docker/${DOCKER_ID} /sys/fs/cgroup/cpu,cpuacct ro,nosuid,nodev,noexec,relatime master:15 - cgroup cgroup rw,cpu,cpuacct
1055 1052 0:35 /docker/${DOCKER_ID} /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime master:16 - cgroup cgroup rw,memory
1056 1052 0:37 /docker/${DOCKER_ID} /sys/fs/cgroup/pids ro,nosuid,nodev,noexec,relatime master:18 - cgroup cgroup rw,pids
`,
};

/** Docker on a v2 host with a cgroup namespace: the container sees itself at `/`. */
export const DOCKER_CGROUPNS_V2: HostSample = {
  cgroup: `0::/
`,
  mountinfo: `700 699 0:60 / / rw,relatime master:300 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/ABC:/var/lib/docker/overlay2/l/DEF,upperdir=/var/lib/docker/overlay2/x/diff,workdir=/var/lib/docker/overlay2/x/work
705 704 0:63 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate,memory_recursiveprot
`,
};

export const SAMPLES = { CI_VM, UBUNTU_HYBRID, FEDORA_V2, DOCKER_NESTED_V1, DOCKER_CGROUPNS_V2 };
