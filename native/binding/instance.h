// Per-environment state of the addon (worker threads each get their own).
#ifndef HULL_BINDING_INSTANCE_H
#define HULL_BINDING_INSTANCE_H

#include <napi.h>

#include <memory>

namespace hull {

class ExitWatcher;

struct Instance {
  Napi::FunctionReference error_factory;
  std::unique_ptr<ExitWatcher> exits;
  ~Instance();
};

Instance *GetInstance(Napi::Env env);

}  // namespace hull

#endif
