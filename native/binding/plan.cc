#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>

#include "errors.h"

namespace hull {

static Napi::Value Get(Napi::Object o, const char *key) { return o.Get(key); }

static int64_t Int(Napi::Env env, Napi::Object o, const char *key) {
  Napi::Value v = Get(o, key);
  if (!v.IsNumber()) ThrowArg(env, std::string("plan.") + key + ": expected a number");
  return v.As<Napi::Number>().Int64Value();
}

static uint64_t U64(Napi::Env env, Napi::Object o, const char *key) {
  Napi::Value v = Get(o, key);
  bool lossless = true;
  if (v.IsBigInt()) return v.As<Napi::BigInt>().Uint64Value(&lossless);
  if (v.IsNumber()) return (uint64_t)v.As<Napi::Number>().Int64Value();
  ThrowArg(env, std::string("plan.") + key + ": expected a bigint");
}

static bool Bool(Napi::Object o, const char *key) { return Get(o, key).ToBoolean().Value(); }

static Napi::Array Arr(Napi::Env env, Napi::Object o, const char *key) {
  Napi::Value v = Get(o, key);
  if (v.IsUndefined() || v.IsNull()) return Napi::Array::New(env);
  if (!v.IsArray()) ThrowArg(env, std::string("plan.") + key + ": expected an array");
  return v.As<Napi::Array>();
}

static Napi::Object At(Napi::Array a, uint32_t i) { return a.Get(i).As<Napi::Object>(); }

const char *Plan::Keep(const std::string &s) {
  strings_.push_back(s);
  return strings_.back().c_str();
}

const char *Plan::OptStr(Napi::Object o, const char *key) {
  Napi::Value v = Get(o, key);
  if (v.IsUndefined() || v.IsNull()) return nullptr;
  if (!v.IsString()) ThrowArg(env_, std::string("plan.") + key + ": expected a string");
  return Keep(v.As<Napi::String>().Utf8Value());
}

std::vector<const char *> Plan::StrList(Napi::Object o, const char *key, bool null_terminate) {
  std::vector<const char *> out;
  Napi::Array a = Arr(env_, o, key);
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(Keep(a.Get(i).ToString().Utf8Value()));
  if (null_terminate) out.push_back(nullptr);
  return out;
}

int Plan::OpenOwned(const std::string &path, int flags, const char *what) {
  int fd = open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) {
    hull_error err;
    std::string msg = std::string("open `") + path + "`";
    hull_error_set(&err, errno, what, "open", path.c_str(), msg.c_str());
    Throw(env_, err);
  }
  owned_.push_back(fd);
  keep_.push_back(fd);
  return fd;
}

int Plan::ConnectConsole(const std::string &path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  hull_error err;
  if (fd < 0 || path.size() >= sizeof addr.sun_path) {
    hull_error_set(&err, fd < 0 ? errno : ENAMETOOLONG, "console", "socket", path.c_str(), "");
  } else {
    memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
      owned_.push_back(fd);
      keep_.push_back(fd);
      return fd;
    }
    hull_error_set(&err, errno, "console", "connect", path.c_str(), "");
  }
  if (fd >= 0) close(fd);
  std::string msg = std::string("connect `") + path + "`";
  const char *parts[] = {msg.c_str(), nullptr};
  hull_error_msg(&err, parts);
  Throw(env_, err);
}

void Plan::ReadNamespaces(Napi::Object js) {
  plan.clone_flags = (int)Int(env_, js, "cloneFlags");
  Napi::Array joins = Arr(env_, js, "joins");
  for (uint32_t i = 0; i < joins.Length(); i++) {
    Napi::Object j = At(joins, i);
    const char *path = OptStr(j, "path");
    int fd = OpenOwned(path ? path : "", O_RDONLY, "namespaces");
    joins_.push_back({fd, (int)Int(env_, j, "nstype"), path});
  }
  plan.join_pidfd = -1;
  Napi::Value jp = Get(js, "joinPid");
  if (jp.IsObject()) {
    plan.join_pidfd = (int)Int(env_, jp.As<Napi::Object>(), "pidfd");
    plan.join_flags = (int)Int(env_, jp.As<Napi::Object>(), "nstypes");
    keep_.push_back(plan.join_pidfd);
  }
  for (const char *path : StrList(js, "cgroupProcs", false))
    cgroup_fds_.push_back(OpenOwned(path, O_WRONLY, "cgroup"));
  plan.joins = joins_.data();
  plan.n_joins = joins_.size();
  plan.cgroup_procs = cgroup_fds_.data();
  plan.n_cgroup_procs = cgroup_fds_.size();
}

void Plan::ReadMounts(Napi::Object js) {
  plan.rootfs = OptStr(js, "rootfs");
  plan.rootfs_readonly = Bool(js, "rootfsReadonly");
  plan.rootfs_propagation = (unsigned long)Int(env_, js, "rootfsPropagation");
  plan.no_pivot = Bool(js, "noPivot");
  Napi::Array mounts = Arr(env_, js, "mounts");
  for (uint32_t i = 0; i < mounts.Length(); i++) {
    Napi::Object m = At(mounts, i);
    mounts_.push_back({OptStr(m, "source"), OptStr(m, "destination"), OptStr(m, "fstype"), OptStr(m, "data"),
                       (unsigned long)Int(env_, m, "flags"), (unsigned long)Int(env_, m, "propagation"),
                       Bool(m, "file")});
    if (!mounts_.back().destination) ThrowArg(env_, "plan.mounts[].destination: expected a string");
  }
  plan.mounts = mounts_.data();
  plan.n_mounts = mounts_.size();
  masked_ = StrList(js, "maskedPaths", false);
  readonly_ = StrList(js, "readonlyPaths", false);
  plan.masked = masked_.data();
  plan.n_masked = masked_.size();
  plan.readonly = readonly_.data();
  plan.n_readonly = readonly_.size();
  Napi::Array sysctl = Arr(env_, js, "sysctl");
  for (uint32_t i = 0; i < sysctl.Length(); i++)
    sysctl_.push_back({OptStr(At(sysctl, i), "key"), OptStr(At(sysctl, i), "value")});
  plan.sysctl = sysctl_.data();
  plan.n_sysctl = sysctl_.size();
}

void Plan::ReadDevices(Napi::Object js) {
  Napi::Array devices = Arr(env_, js, "devices");
  for (uint32_t i = 0; i < devices.Length(); i++) {
    Napi::Object d = At(devices, i);
    devices_.push_back({OptStr(d, "path"), (mode_t)Int(env_, d, "type"), (uint32_t)Int(env_, d, "major"),
                        (uint32_t)Int(env_, d, "minor"), (mode_t)Int(env_, d, "mode"), (uid_t)Int(env_, d, "uid"),
                        (gid_t)Int(env_, d, "gid")});
  }
  Napi::Array links = Arr(env_, js, "symlinks");
  for (uint32_t i = 0; i < links.Length(); i++)
    symlinks_.push_back({OptStr(At(links, i), "target"), OptStr(At(links, i), "path")});
  plan.devices = devices_.data();
  plan.n_devices = devices_.size();
  plan.symlinks = symlinks_.data();
  plan.n_symlinks = symlinks_.size();
}

void Plan::ReadProcess(Napi::Object js) {
  plan.hostname = OptStr(js, "hostname");
  plan.domainname = OptStr(js, "domainname");
  Napi::Array rl = Arr(env_, js, "rlimits");
  for (uint32_t i = 0; i < rl.Length(); i++) {
    Napi::Object r = At(rl, i);
    rlimits_.push_back({(int)Int(env_, r, "resource"), U64(env_, r, "soft"), U64(env_, r, "hard")});
  }
  plan.rlimits = rlimits_.data();
  plan.n_rlimits = rlimits_.size();
  plan.has_oom_score_adj = Get(js, "oomScoreAdj").IsNumber();
  if (plan.has_oom_score_adj) plan.oom_score_adj = (int)Int(env_, js, "oomScoreAdj");
  plan.uid = (uid_t)Int(env_, js, "uid");
  plan.gid = (gid_t)Int(env_, js, "gid");
  Napi::Array gids = Arr(env_, js, "additionalGids");
  for (uint32_t i = 0; i < gids.Length(); i++) gids_.push_back((gid_t)gids.Get(i).As<Napi::Number>().Int64Value());
  plan.gids = gids_.data();
  plan.n_gids = gids_.size();
  plan.has_umask = Get(js, "umask").IsNumber();
  if (plan.has_umask) plan.umask = (mode_t)Int(env_, js, "umask");
  argv_ = StrList(js, "args", true);
  envp_ = StrList(js, "env", true);
  if (argv_.size() < 2) ThrowArg(env_, "plan.args: expected at least one argument");
  plan.argv = argv_.data();
  plan.envp = envp_.data();
  plan.cwd = OptStr(js, "cwd");
  plan.path_env = nullptr;
  for (const char *e : envp_)
    if (e && strncmp(e, "PATH=", 5) == 0) plan.path_env = e + 5;
  plan.no_new_privs = Bool(js, "noNewPrivileges");
}

void Plan::ReadCaps(Napi::Object js) {
  Napi::Object caps = Get(js, "caps").As<Napi::Object>();
  plan.cap_bounding = U64(env_, caps, "bounding");
  plan.cap_effective = U64(env_, caps, "effective");
  plan.cap_permitted = U64(env_, caps, "permitted");
  plan.cap_inheritable = U64(env_, caps, "inheritable");
  plan.cap_ambient = U64(env_, caps, "ambient");
  plan.cap_last = (int)Int(env_, js, "capLast");
}

void Plan::ReadFds(Napi::Object js) {
  const char *fifo = OptStr(js, "fifoPath");
  plan.fifo_fd = fifo ? OpenOwned(fifo, O_PATH, "start") : -1;
  Napi::Array stdio = Arr(env_, js, "stdio");
  for (int i = 0; i < 3; i++) {
    plan.stdio[i] = (uint32_t)i < stdio.Length() ? (int)stdio.Get(i).As<Napi::Number>().Int32Value() : -1;
    if (plan.stdio[i] >= 0) keep_.push_back(plan.stdio[i]);
  }
  plan.preserve_fds = (int)Int(env_, js, "preserveFds");
  plan.pdeathsig = Get(js, "pdeathsig").IsNumber() ? (int)Int(env_, js, "pdeathsig") : 0;
  plan.exec_mode = Bool(js, "exec");
  plan.hold = Bool(js, "hold");
  const char *console = OptStr(js, "consoleSocket");
  plan.console_fd = console ? ConnectConsole(console) : -1;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    hull_error err;
    hull_error_set(&err, errno, "setup", "socketpair", nullptr, "socketpair");
    Throw(env_, err);
  }
  parent_sync = sv[0];
  plan.sync_fd = sv[1];  // owned by hull_spawn from here on
  keep_.push_back(sv[1]);
  std::sort(keep_.begin(), keep_.end());
  plan.keep_fds = keep_.data();
  plan.n_keep_fds = keep_.size();
}

Plan::Plan(Napi::Env env, Napi::Object js) : env_(env) {
  try {
    ReadNamespaces(js);
    ReadMounts(js);
    ReadDevices(js);
    ReadProcess(js);
    ReadCaps(js);
    ReadFds(js);
  } catch (...) {
    for (int fd : owned_) close(fd);
    owned_.clear();
    throw;
  }
}

Plan::~Plan() {
  for (int fd : owned_) close(fd);
  if (parent_sync >= 0) close(parent_sync);
}

}  // namespace hull
