#include "netns_thread.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <thread>

namespace fstack_kni {

std::string NetnsTarget::Describe() const {
  return path.empty() ? "fd " + std::to_string(fd) : path;
}

NetnsTarget ReadNetnsTarget(Napi::Env env, const Napi::Object& options, const char* function) {
  NetnsTarget target;
  Napi::Value path = options.Get("netnsPath");
  Napi::Value fd = options.Get("netnsFd");

  if (!path.IsUndefined()) {
    if (!path.IsString() || path.As<Napi::String>().Utf8Value().empty()) {
      throw Napi::TypeError::New(env,
                                 std::string(function) + ": netnsPath must be a non-empty string");
    }
    target.path = path.As<Napi::String>().Utf8Value();
  }
  if (!fd.IsUndefined()) {
    if (!fd.IsNumber() || fd.As<Napi::Number>().DoubleValue() < 0 ||
        fd.As<Napi::Number>().DoubleValue() != fd.As<Napi::Number>().Int32Value()) {
      throw Napi::TypeError::New(
          env, std::string(function) + ": netnsFd must be a non-negative integer");
    }
    target.fd = fd.As<Napi::Number>().Int32Value();
  }
  if (!target.path.empty() && target.fd >= 0) {
    throw Napi::TypeError::New(env,
                               std::string(function) + ": give netnsPath or netnsFd, not both");
  }
  return target;
}

SyscallFailure FailureFromErrno(const char* syscall, const std::string& path) {
  SyscallFailure failure;
  failure.error = errno;
  failure.syscall = syscall;
  failure.path = path;
  return failure;
}

namespace {

SyscallFailure EnterNetns(const NetnsTarget& target) {
  if (target.fd >= 0) {
    if (setns(target.fd, CLONE_NEWNET) != 0) {
      return FailureFromErrno("setns", target.Describe());
    }
    return SyscallFailure{};
  }

  int fd = open(target.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return FailureFromErrno("open", target.path);
  }
  SyscallFailure failure;
  if (setns(fd, CLONE_NEWNET) != 0) {
    failure = FailureFromErrno("setns", target.path);
  }
  close(fd);
  return failure;
}

}  // namespace

SyscallFailure RunInNetns(const NetnsTarget& target, const std::function<SyscallFailure()>& work) {
  if (!target.IsSet()) {
    return work();
  }

  SyscallFailure result;
  try {
    // The thread ends right after `work`, taking its namespace membership with it.
    std::thread thread([&target, &work, &result] {
      result = EnterNetns(target);
      if (result.error == 0) {
        result = work();
      }
    });
    thread.join();
  } catch (const std::system_error& failure) {
    result.error = failure.code().value() != 0 ? failure.code().value() : EAGAIN;
    result.syscall = "pthread_create";
    result.path.clear();
  }
  return result;
}

}  // namespace fstack_kni
