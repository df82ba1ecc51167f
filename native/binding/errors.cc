#include "errors.h"

#include "instance.h"

namespace hull {

void SetErrorFactory(const Napi::CallbackInfo &info) {
  if (!info[0].IsFunction()) ThrowArg(info.Env(), "setErrorFactory: expected a function");
  GetInstance(info.Env())->error_factory = Napi::Persistent(info[0].As<Napi::Function>());
}

Napi::Value MakeError(Napi::Env env, const hull_error &err) {
  Instance *inst = GetInstance(env);
  auto str = [&](const char *s) { return Napi::String::New(env, s); };
  if (inst->error_factory.IsEmpty()) {
    Napi::Error e = Napi::Error::New(env, err.msg);
    e.Set("errno", Napi::Number::New(env, err.errnum));
    return e.Value();
  }
  return inst->error_factory.Call({Napi::Number::New(env, err.errnum), str(err.step), str(err.syscall),
                             str(err.path), str(err.msg)});
}

void Throw(Napi::Env env, const hull_error &err) {
  throw Napi::Error(env, MakeError(env, err));
}

void ThrowArg(Napi::Env env, const std::string &what) {
  throw Napi::TypeError::New(env, what);
}

}  // namespace hull
