// The one error type of the core. Filling one never allocates: the child uses it after clone.
#include "hull.h"

#include "str.h"

extern "C" int hull_error_set(hull_error *err, int errnum, const char *step, const char *syscall,
                              const char *path, const char *msg) {
  err->errnum = errnum;
  hull_strlcpy(err->step, step ? step : "", sizeof err->step);
  hull_strlcpy(err->syscall, syscall ? syscall : "", sizeof err->syscall);
  hull_strlcpy(err->path, path ? path : "", sizeof err->path);
  hull_strlcpy(err->msg, msg ? msg : "", sizeof err->msg);
  return -1;
}

extern "C" void hull_error_msg(hull_error *err, const char *const *parts) {
  err->msg[0] = '\0';
  for (; *parts; parts++) hull_strlcat(err->msg, *parts, sizeof err->msg);
}
