// Named network namespaces, managed the way `ip netns add|delete` (iproute2) does it: a
// namespace is kept alive by a bind mount of its nsfs file onto DIRECTORY/NAME, and
// DIRECTORY is a shared mount point so the mounts show up in other mount namespaces.
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <thread>

#include "errno_error.h"
#include "module.h"
#include "netns_thread.h"

namespace fstack_kni {

namespace {

constexpr size_t kMaxNameBytes = 255;

std::string ReadString(const Napi::CallbackInfo& info, size_t index, const char* function,
                       const char* what) {
  if (info.Length() <= index || !info[index].IsString()) {
    throw Napi::TypeError::New(info.Env(),
                               std::string(function) + ": " + what + " must be a string");
  }
  return info[index].As<Napi::String>().Utf8Value();
}

// Checks a namespace name (one path component) and an absolute directory; throws
// RangeError. Returns DIRECTORY/NAME.
std::string NamespacePath(Napi::Env env, const std::string& name, const std::string& directory,
                          const char* function) {
  bool validName = !name.empty() && name.size() <= kMaxNameBytes && name != "." && name != ".." &&
                   name.find('/') == std::string::npos && name.find('\0') == std::string::npos;
  if (!validName) {
    throw Napi::RangeError::New(env, std::string(function) + ": invalid namespace name '" + name +
                                         "' (expected 1 to 255 bytes, no '/', not '.' or '..')");
  }
  if (directory.empty() || directory[0] != '/' || directory.find('\0') != std::string::npos) {
    throw Napi::RangeError::New(env, std::string(function) + ": directory must be absolute");
  }
  return directory.back() == '/' ? directory + name : directory + "/" + name;
}

// mkdir -p with mode 0755.
SyscallFailure MakeDirectories(const std::string& directory) {
  for (size_t slash = directory.find('/', 1);; slash = directory.find('/', slash + 1)) {
    std::string prefix = directory.substr(0, slash);
    if (!prefix.empty() && mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return FailureFromErrno("mkdir", prefix);
    }
    if (slash == std::string::npos) {
      return SyscallFailure{};
    }
  }
}

// Makes the directory a shared mount point. When it is not a mount point yet, mount(2)
// reports EINVAL; binding the directory onto itself once makes it one.
SyscallFailure ShareDirectory(const std::string& directory) {
  for (bool bound = false;; bound = true) {
    if (mount("", directory.c_str(), "none", MS_SHARED | MS_REC, nullptr) == 0) {
      return SyscallFailure{};
    }
    if (errno != EINVAL || bound) {
      return FailureFromErrno("mount", directory);
    }
    if (mount(directory.c_str(), directory.c_str(), "none", MS_BIND | MS_REC, nullptr) != 0) {
      return FailureFromErrno("mount", directory);
    }
  }
}

// Runs on a short-lived thread: gives the thread a new network namespace and pins it by
// bind-mounting the thread's nsfs file onto `path`.
SyscallFailure CreatePinnedNamespace(const std::string& path) {
  SyscallFailure result;
  std::thread thread([&path, &result] {
    if (unshare(CLONE_NEWNET) != 0) {
      result = FailureFromErrno("unshare", path);
      return;
    }
    std::string self = "/proc/self/task/" + std::to_string(gettid()) + "/ns/net";
    if (mount(self.c_str(), path.c_str(), "none", MS_BIND, nullptr) != 0) {
      result = FailureFromErrno("mount", path);
    }
  });
  thread.join();
  return result;
}

// netnsCreate(name, directory): `ip netns add NAME`.
void NetnsCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ReadString(info, 0, "netnsCreate", "name");
  std::string directory = ReadString(info, 1, "netnsCreate", "directory");
  std::string path = NamespacePath(env, name, directory, "netnsCreate");
  std::string operation = "create network namespace " + name;

  SyscallFailure failure = MakeDirectories(directory);
  if (failure.error == 0) {
    failure = ShareDirectory(directory);
  }
  if (failure.error != 0) {
    throw SystemError(env, operation, failure.error, failure.syscall, failure.path);
  }

  int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) {
    throw SystemError(env, operation, errno, "open", path);
  }
  close(fd);

  try {
    failure = CreatePinnedNamespace(path);
  } catch (const std::system_error& error) {
    failure.error = error.code().value() != 0 ? error.code().value() : EAGAIN;
    failure.syscall = "pthread_create";
  }
  if (failure.error != 0) {
    unlink(path.c_str());
    throw SystemError(env, operation, failure.error, failure.syscall, failure.path);
  }
}

// netnsDelete(name, directory): `ip netns delete NAME`.
void NetnsDelete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ReadString(info, 0, "netnsDelete", "name");
  std::string directory = ReadString(info, 1, "netnsDelete", "directory");
  std::string path = NamespacePath(env, name, directory, "netnsDelete");
  std::string operation = "delete network namespace " + name;

  // EINVAL: not a mount point (a leftover file); ENOENT is reported by unlink below.
  if (umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    throw SystemError(env, operation, errno, "umount2", path);
  }
  if (unlink(path.c_str()) != 0) {
    throw SystemError(env, operation, errno, "unlink", path);
  }
}

// netnsOpen(path) -> fd, checked to be a network namespace.
Napi::Value NetnsOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ReadString(info, 0, "netnsOpen", "path");
  std::string operation = "open network namespace " + path;

  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw SystemError(env, operation, errno, "open", path);
  }

  // NS_GET_NSTYPE fails with ENOTTY on files that are not namespaces.
  int type = ioctl(fd, NS_GET_NSTYPE);
  if (type != CLONE_NEWNET) {
    int error = type < 0 && errno != ENOTTY ? errno : EINVAL;
    close(fd);
    throw SystemError(env, operation + " (not a network namespace)", error, "ioctl(NS_GET_NSTYPE)",
                      path);
  }
  return Napi::Number::New(env, fd);
}

// closeFd(fd)
void CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    throw Napi::TypeError::New(env, "closeFd: fd must be a number");
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (fd < 0) {
    throw Napi::RangeError::New(env, "closeFd: fd must be non-negative");
  }
  if (close(fd) != 0 && errno != EINTR) {
    throw SystemError(env, "close fd " + std::to_string(fd), errno, "close");
  }
}

void ExportNetns(Napi::Env env, Napi::Object exports) {
  exports.Set("netnsCreate", Napi::Function::New(env, NetnsCreate, "netnsCreate"));
  exports.Set("netnsDelete", Napi::Function::New(env, NetnsDelete, "netnsDelete"));
  exports.Set("netnsOpen", Napi::Function::New(env, NetnsOpen, "netnsOpen"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
}

const Registrar registrar("netns", &ExportNetns);

}  // namespace

}  // namespace fstack_kni
