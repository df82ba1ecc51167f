// Marshals the JS plan into a hull_plan: every string copied, every fd opened, before clone.
#ifndef HULL_BINDING_PLAN_H
#define HULL_BINDING_PLAN_H

#include <napi.h>

#include <deque>
#include <string>
#include <vector>

#include "hull.h"

namespace hull {

class Plan {
 public:
  Plan(Napi::Env env, Napi::Object js);
  ~Plan();
  Plan(const Plan &) = delete;
  Plan &operator=(const Plan &) = delete;

  hull_plan plan{};
  int parent_sync = -1;

 private:
  const char *Keep(const std::string &s);
  const char *OptStr(Napi::Object o, const char *key);
  std::vector<const char *> StrList(Napi::Object o, const char *key, bool null_terminate);
  int OpenOwned(const std::string &path, int flags, const char *what);
  int ConnectConsole(const std::string &path);
  void ReadNamespaces(Napi::Object js);
  void ReadMounts(Napi::Object js);
  void ReadDevices(Napi::Object js);
  void ReadProcess(Napi::Object js);
  void ReadCaps(Napi::Object js);
  void ReadFds(Napi::Object js);

  Napi::Env env_;
  std::deque<std::string> strings_;
  std::vector<const char *> argv_, envp_, masked_, readonly_;
  std::vector<hull_nsjoin> joins_;
  std::vector<int> cgroup_fds_;
  std::vector<hull_mount> mounts_;
  std::vector<hull_device> devices_;
  std::vector<hull_symlink> symlinks_;
  std::vector<hull_kv> sysctl_;
  std::vector<hull_rlimit> rlimits_;
  std::vector<gid_t> gids_;
  std::vector<int> keep_;
  std::vector<int> owned_;
};

}  // namespace hull

#endif
