// The only place where a hull_error becomes a JS value: the error factory that lib/native.ts
// injects at load time builds a HullError, so native errors are instances of hull's own class.
#ifndef HULL_BINDING_ERRORS_H
#define HULL_BINDING_ERRORS_H

#include <napi.h>

#include "hull.h"

namespace hull {

void SetErrorFactory(const Napi::CallbackInfo &info);
Napi::Value MakeError(Napi::Env env, const hull_error &err);
[[noreturn]] void Throw(Napi::Env env, const hull_error &err);
// An error of the binding itself (bad argument), before any syscall.
[[noreturn]] void ThrowArg(Napi::Env env, const std::string &what);

}  // namespace hull

#endif
