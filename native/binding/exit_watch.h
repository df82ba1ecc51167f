// Exit of our own children, without a thread per child or the libuv threadpool: one thread
// epolls every pidfd and reaps exactly that pid with waitid(P_PIDFD). It never waits on -1,
// which would steal the children of node-pty and libuv.
#ifndef HULL_BINDING_EXIT_WATCH_H
#define HULL_BINDING_EXIT_WATCH_H

#include <napi.h>

#include <map>
#include <mutex>
#include <thread>

namespace hull {

class ExitWatcher {
 public:
  explicit ExitWatcher(Napi::Env env);
  ~ExitWatcher();
  Napi::Value Watch(Napi::Env env, int pidfd);

 private:
  struct Result {
    uint64_t token;
    int code;      // si_code: CLD_EXITED, CLD_KILLED, CLD_DUMPED, or 0 on error
    int status;    // exit status or signal
    int errnum;
  };
  void Run();
  void Deliver(Napi::Env env, Result *r);

  int epfd_ = -1;
  int stopfd_ = -1;
  std::thread thread_;
  Napi::ThreadSafeFunction tsfn_;
  std::mutex mu_;
  std::map<uint64_t, int> fds_;                             // token -> pidfd, under mu_
  std::map<uint64_t, Napi::Promise::Deferred> waiting_;     // main thread only
  uint64_t next_ = 1;
};

}  // namespace hull

#endif
