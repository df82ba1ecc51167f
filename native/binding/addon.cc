// The exports table. Each function validates its arguments, marshals, and calls the core.
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <memory>

#include "errors.h"
#include "exit_watch.h"
#include "hull.h"
#include "instance.h"
#include "plan.h"

namespace hull {

Instance::~Instance() = default;

Instance *GetInstance(Napi::Env env) {
  Instance *inst = env.GetInstanceData<Instance>();
  if (!inst) {
    inst = new Instance();
    env.SetInstanceData(inst);
  }
  return inst;
}

static int FdArg(const Napi::CallbackInfo &info, size_t i, const char *fn) {
  if (!info[i].IsNumber()) ThrowArg(info.Env(), std::string(fn) + ": expected an fd");
  return info[i].As<Napi::Number>().Int32Value();
}

class SpawnWorker : public Napi::AsyncWorker {
 public:
  SpawnWorker(Napi::Env env, std::unique_ptr<Plan> plan)
      : Napi::AsyncWorker(env, "hull:spawn"), plan_(std::move(plan)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    failed_ = hull_spawn(&plan_->plan, plan_->parent_sync, &out_, &err_) < 0;
    if (!failed_ && out_.hold_fd >= 0) plan_->parent_sync = -1;  // now the caller's, through holdFd
  }

  void OnOK() override {
    plan_.reset();  // closes the parent's fds before JS sees the result
    if (failed_) {
      deferred_.Reject(MakeError(Env(), err_));
      return;
    }
    Napi::Object res = Napi::Object::New(Env());
    res.Set("pid", Napi::Number::New(Env(), out_.pid));
    res.Set("pidfd", Napi::Number::New(Env(), out_.pidfd));
    if (out_.hold_fd >= 0) res.Set("holdFd", Napi::Number::New(Env(), out_.hold_fd));
    deferred_.Resolve(res);
  }

 private:
  std::unique_ptr<Plan> plan_;
  Napi::Promise::Deferred deferred_;
  hull_spawned out_{};
  hull_error err_{};
  bool failed_ = false;
};

static Napi::Value Spawn(const Napi::CallbackInfo &info) {
  if (!info[0].IsObject()) ThrowArg(info.Env(), "spawn: expected a plan object");
  auto plan = std::make_unique<Plan>(info.Env(), info[0].As<Napi::Object>());
  auto *worker = new SpawnWorker(info.Env(), std::move(plan));
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

static Napi::Value Release(const Napi::CallbackInfo &info) {
  hull_error err;
  if (hull_release(FdArg(info, 0, "release"), &err) < 0) Throw(info.Env(), err);
  return info.Env().Undefined();
}

static Napi::Value FifoRelease(const Napi::CallbackInfo &info) {
  std::string path = info[0].ToString().Utf8Value();
  int pidfd = FdArg(info, 1, "fifoRelease");
  int timeout = info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : 10000;
  hull_error err;
  if (hull_fifo_release(path.c_str(), pidfd, timeout, &err) < 0) Throw(info.Env(), err);
  return info.Env().Undefined();
}

static Napi::Value PidfdOpen(const Napi::CallbackInfo &info) {
  hull_error err;
  int fd = hull_pidfd_open(info[0].As<Napi::Number>().Int32Value(), &err);
  if (fd < 0) Throw(info.Env(), err);
  return Napi::Number::New(info.Env(), fd);
}

static Napi::Value PidfdSignal(const Napi::CallbackInfo &info) {
  hull_error err;
  if (hull_pidfd_signal(FdArg(info, 0, "pidfdSignal"), info[1].As<Napi::Number>().Int32Value(), &err) < 0)
    Throw(info.Env(), err);
  return info.Env().Undefined();
}

static Napi::Value WatchExit(const Napi::CallbackInfo &info) {
  Instance *inst = GetInstance(info.Env());
  if (!inst->exits) inst->exits = std::make_unique<ExitWatcher>(info.Env());
  return inst->exits->Watch(info.Env(), FdArg(info, 0, "watchExit"));
}

static Napi::Value Close(const Napi::CallbackInfo &info) {
  int fd = FdArg(info, 0, "close");
  if (close(fd) < 0 && errno != EINTR) {
    hull_error err;
    hull_error_set(&err, errno, "", "close", nullptr, "close");
    Throw(info.Env(), err);
  }
  return info.Env().Undefined();
}

static Napi::Value RecvFd(const Napi::CallbackInfo &info) {
  char name[256];
  hull_error err;
  int fd = hull_recv_fd(FdArg(info, 0, "recvFd"), name, sizeof name, &err);
  if (fd < 0) Throw(info.Env(), err);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("fd", Napi::Number::New(info.Env(), fd));
  out.Set("name", Napi::String::New(info.Env(), name));
  return out;
}

static Napi::Value SendFd(const Napi::CallbackInfo &info) {
  hull_error err;
  std::string payload = info[2].IsString() ? info[2].ToString().Utf8Value() : std::string();
  if (hull_send_fd(FdArg(info, 0, "sendFd"), FdArg(info, 1, "sendFd"), payload.c_str(), &err) < 0)
    Throw(info.Env(), err);
  return info.Env().Undefined();
}

// A terminal's size is two unsigned shorts: anything else is refused rather than truncated.
static unsigned short DimArg(const Napi::CallbackInfo &info, size_t i, const char *name) {
  double v = info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : -1;
  if (!(v >= 0 && v <= 65535) || v != (double)(unsigned short)v)
    ThrowArg(info.Env(), std::string("setWinsize: ") + name + ": expected an integer from 0 to 65535");
  return (unsigned short)v;
}

static Napi::Value SetWinsize(const Napi::CallbackInfo &info) {
  struct winsize ws = {};
  int fd = FdArg(info, 0, "setWinsize");
  ws.ws_col = DimArg(info, 1, "cols");
  ws.ws_row = DimArg(info, 2, "rows");
  if (ioctl(fd, TIOCSWINSZ, &ws) < 0) {
    hull_error err;
    hull_error_set(&err, errno, "", "ioctl", nullptr, "ioctl(TIOCSWINSZ)");
    Throw(info.Env(), err);
  }
  return info.Env().Undefined();
}

// Clears OPOST on a terminal: what cfmakeraw does and Node's setRawMode (libuv's
// UV_TTY_MODE_RAW) does not. A relayed pty already turned "\n" into "\r\n"; with OPOST and
// ONLCR left on, our terminal would turn that into "\r\r\n". libuv restores the whole termios
// it saved, OPOST included, on setRawMode(false) and at exit.
static Napi::Value ClearOpost(const Napi::CallbackInfo &info) {
  int fd = FdArg(info, 0, "clearOpost");
  struct termios t;
  int r;
  if ((r = tcgetattr(fd, &t)) == 0) {
    t.c_oflag &= ~(tcflag_t)OPOST;
    do r = tcsetattr(fd, TCSANOW, &t); while (r < 0 && errno == EINTR);
  }
  if (r < 0) {
    hull_error err;
    hull_error_set(&err, errno, "", "tcsetattr", nullptr, "tcsetattr");
    Throw(info.Env(), err);
  }
  return info.Env().Undefined();
}

static Napi::Value Mkfifo(const Napi::CallbackInfo &info) {
  std::string path = info[0].ToString().Utf8Value();
  if (mkfifo(path.c_str(), (mode_t)info[1].As<Napi::Number>().Uint32Value()) < 0) {
    hull_error err;
    std::string msg = "mkfifo `" + path + "`";
    hull_error_set(&err, errno, "", "mkfifo", path.c_str(), msg.c_str());
    Throw(info.Env(), err);
  }
  return info.Env().Undefined();
}

static void ThrowErrno(Napi::Env env, const char *syscall, const std::string &path) {
  hull_error err;
  std::string msg = std::string(syscall) + " `" + path + "`";
  hull_error_set(&err, errno, "", syscall, path.c_str(), msg.c_str());
  Throw(env, err);
}

// A listening unix socket for the console: the init's master fd arrives on it (runc's
// --console-socket contract, with hull as its own receiver).
static Napi::Value ListenUnix(const Napi::CallbackInfo &info) {
  std::string path = info[0].ToString().Utf8Value();
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    ThrowErrno(info.Env(), "bind", path);
  }
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) ThrowErrno(info.Env(), "socket", path);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 1) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    ThrowErrno(info.Env(), "bind", path);
  }
  return Napi::Number::New(info.Env(), fd);
}

static Napi::Value Accept(const Napi::CallbackInfo &info) {
  int fd;
  do fd = accept4(FdArg(info, 0, "accept"), nullptr, nullptr, SOCK_CLOEXEC); while (fd < 0 && errno == EINTR);
  if (fd < 0) ThrowErrno(info.Env(), "accept", "console socket");
  return Napi::Number::New(info.Env(), fd);
}

static Napi::Value SetNonblock(const Napi::CallbackInfo &info) {
  int fd = FdArg(info, 0, "setNonblock");
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) ThrowErrno(info.Env(), "fcntl", "O_NONBLOCK");
  return info.Env().Undefined();
}

// A second fd on the same open file, close-on-exec: one owner can close its copy without the
// file's release (for a pty master, the hang-up of its terminal) that the last close brings.
static Napi::Value Dup(const Napi::CallbackInfo &info) {
  int fd = fcntl(FdArg(info, 0, "dup"), F_DUPFD_CLOEXEC, 3);
  if (fd < 0) ThrowErrno(info.Env(), "fcntl", "F_DUPFD_CLOEXEC");
  return Napi::Number::New(info.Env(), fd);
}

// A pipe for an exec'd process's stdio: both ends close-on-exec (the native child dup2s the one it
// gets onto 0..2, which clears the flag there); the caller wraps its end in a net.Socket.
static Napi::Value Pipe(const Napi::CallbackInfo &info) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) ThrowErrno(info.Env(), "pipe2", "pipe");
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, Napi::Number::New(info.Env(), fds[0]));
  out.Set(1u, Napi::Number::New(info.Env(), fds[1]));
  return out;
}

// preadAll(fds, lens, buf, slot): the caller owns all three arrays and keeps them between calls,
// so a stats sample allocates nothing here. Per-file errors come back as -errno in lens.
static Napi::Value PreadAll(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    ThrowArg(env, "preadAll: fds: expected an Int32Array");
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    ThrowArg(env, "preadAll: lens: expected an Int32Array");
  if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    ThrowArg(env, "preadAll: buf: expected a Buffer");
  if (!info[3].IsNumber() || info[3].As<Napi::Number>().Int64Value() <= 0) ThrowArg(env, "preadAll: slot: expected a positive size");
  auto fds = info[0].As<Napi::Int32Array>();
  auto lens = info[1].As<Napi::Int32Array>();
  auto buf = info[2].As<Napi::Uint8Array>();
  size_t slot = (size_t)info[3].As<Napi::Number>().Int64Value();
  size_t n = fds.ElementLength();
  if (lens.ElementLength() < n) ThrowArg(env, "preadAll: lens: shorter than fds");
  if (buf.ByteLength() / slot < n) ThrowArg(env, "preadAll: buf: smaller than fds.length * slot");
  hull_pread_all(fds.Data(), lens.Data(), n, buf.Data(), slot);
  return env.Undefined();
}

static Napi::Value SetErrorFactoryFn(const Napi::CallbackInfo &info) {
  SetErrorFactory(info);
  return info.Env().Undefined();
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setErrorFactory", Napi::Function::New(env, SetErrorFactoryFn, "setErrorFactory"));
  exports.Set("spawn", Napi::Function::New(env, Spawn, "spawn"));
  exports.Set("release", Napi::Function::New(env, Release, "release"));
  exports.Set("fifoRelease", Napi::Function::New(env, FifoRelease, "fifoRelease"));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen, "pidfdOpen"));
  exports.Set("pidfdSignal", Napi::Function::New(env, PidfdSignal, "pidfdSignal"));
  exports.Set("watchExit", Napi::Function::New(env, WatchExit, "watchExit"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("recvFd", Napi::Function::New(env, RecvFd, "recvFd"));
  exports.Set("sendFd", Napi::Function::New(env, SendFd, "sendFd"));
  exports.Set("setNonblock", Napi::Function::New(env, SetNonblock, "setNonblock"));
  exports.Set("dup", Napi::Function::New(env, Dup, "dup"));
  exports.Set("preadAll", Napi::Function::New(env, PreadAll, "preadAll"));
  exports.Set("listenUnix", Napi::Function::New(env, ListenUnix, "listenUnix"));
  exports.Set("accept", Napi::Function::New(env, Accept, "accept"));
  exports.Set("pipe", Napi::Function::New(env, Pipe, "pipe"));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo, "mkfifo"));
  exports.Set("setWinsize", Napi::Function::New(env, SetWinsize, "setWinsize"));
  exports.Set("clearOpost", Napi::Function::New(env, ClearOpost, "clearOpost"));
  return exports;
}

}  // namespace hull

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return hull::Init(env, exports); }

NODE_API_MODULE(hull_native, InitAddon)
