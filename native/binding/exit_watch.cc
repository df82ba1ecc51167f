#include "exit_watch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errors.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace hull {

ExitWatcher::ExitWatcher(Napi::Env env) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  stopfd_ = eventfd(0, EFD_CLOEXEC);
  if (epfd_ < 0 || stopfd_ < 0) {
    hull_error err;
    hull_error_set(&err, errno, "", "epoll_create1", nullptr, "epoll_create1");
    Throw(env, err);
  }
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, stopfd_, &ev);
  auto noop = Napi::Function::New(env, [](const Napi::CallbackInfo &) {});
  tsfn_ = Napi::ThreadSafeFunction::New(env, noop, "hull:exit", 0, 1);
  tsfn_.Unref(env);  // only pending watches keep the process alive
  thread_ = std::thread([this] { Run(); });
}

ExitWatcher::~ExitWatcher() {
  uint64_t one = 1;
  if (write(stopfd_, &one, sizeof one) < 0) {
  }
  if (thread_.joinable()) thread_.join();
  tsfn_.Release();
  for (auto &kv : fds_) close(kv.second);
  close(epfd_);
  close(stopfd_);
}

Napi::Value ExitWatcher::Watch(Napi::Env env, int pidfd) {
  int fd = fcntl(pidfd, F_DUPFD_CLOEXEC, 3);  // our own copy: the caller keeps its pidfd
  if (fd < 0) {
    hull_error err;
    hull_error_set(&err, errno, "", "fcntl", nullptr, "dup pidfd");
    Throw(env, err);
  }
  uint64_t token = next_++;
  auto deferred = Napi::Promise::Deferred::New(env);
  waiting_.emplace(token, deferred);
  {
    std::lock_guard<std::mutex> lock(mu_);
    fds_[token] = fd;
  }
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 = token;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  if (waiting_.size() == 1) tsfn_.Ref(env);
  return deferred.Promise();
}

void ExitWatcher::Run() {
  struct epoll_event evs[16];
  for (;;) {
    int n = epoll_wait(epfd_, evs, 16, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;
    for (int i = 0; i < n; i++) {
      uint64_t token = evs[i].data.u64;
      if (token == 0) return;
      int fd;
      {
        std::lock_guard<std::mutex> lock(mu_);
        fd = fds_[token];
      }
      siginfo_t info = {};
      int r = waitid((idtype_t)P_PIDFD, (id_t)fd, &info, WEXITED | WNOHANG);
      if (r == 0 && info.si_pid == 0) continue;  // readable before the zombie is reapable
      auto *res = new Result{token, r == 0 ? info.si_code : 0, r == 0 ? info.si_status : 0, r == 0 ? 0 : errno};
      epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
      {
        std::lock_guard<std::mutex> lock(mu_);
        fds_.erase(token);
      }
      close(fd);
      tsfn_.NonBlockingCall(res, [this](Napi::Env env, Napi::Function, Result *r) { Deliver(env, r); });
    }
  }
}

void ExitWatcher::Deliver(Napi::Env env, Result *r) {
  std::unique_ptr<Result> owned(r);
  auto it = waiting_.find(r->token);
  if (it == waiting_.end()) return;
  auto deferred = it->second;
  waiting_.erase(it);
  if (waiting_.empty()) tsfn_.Unref(env);
  if (r->errnum) {
    hull_error err;
    hull_error_set(&err, r->errnum, "wait", "waitid", nullptr, "waitid");
    deferred.Reject(MakeError(env, err));
    return;
  }
  auto out = Napi::Object::New(env);
  bool signaled = r->code == CLD_KILLED || r->code == CLD_DUMPED;
  out.Set("exitCode", signaled ? Napi::Value(env.Null()) : Napi::Number::New(env, r->status));
  out.Set("signal", signaled ? Napi::Number::New(env, r->status) : Napi::Value(env.Null()));
  out.Set("coreDumped", Napi::Boolean::New(env, r->code == CLD_DUMPED));
  deferred.Resolve(out);
}

}  // namespace hull
