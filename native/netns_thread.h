// Running a piece of work inside another network namespace without moving the main thread.
//
// A file descriptor keeps the namespace it was created in. So sockets and tun devices are
// created on a short-lived thread that first calls setns(CLONE_NEWNET), and the fd is then
// used from the main thread like any other.
#pragma once

#include <napi.h>

#include <functional>
#include <string>

namespace fstack_kni {

/** A namespace file path (/run/netns/NAME) or an open namespace fd; neither means "here". */
struct NetnsTarget {
  std::string path;
  int fd = -1;

  bool IsSet() const { return !path.empty() || fd >= 0; }
  /** The path, or "fd N", for error messages. */
  std::string Describe() const;
};

// Reads `netnsPath` and `netnsFd` from an options object. Throws TypeError when either
// has the wrong type or both are given.
NetnsTarget ReadNetnsTarget(Napi::Env env, const Napi::Object& options, const char* function);

/** A failed system call; `error` 0 means success. */
struct SyscallFailure {
  int error = 0;
  const char* syscall = "";
  std::string path;
};

// Runs `work` inside the target namespace and returns the first failure: of opening the
// namespace file, of setns, or of `work` itself. Without a target, `work` runs on the
// calling thread.
SyscallFailure RunInNetns(const NetnsTarget& target, const std::function<SyscallFailure()>& work);

/** Returns the failure of `syscall` from the current errno. */
SyscallFailure FailureFromErrno(const char* syscall, const std::string& path = std::string());

}  // namespace fstack_kni
