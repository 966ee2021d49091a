// Tun and tap devices through /dev/net/tun, created inside a target network namespace.
// A device without TUNSETPERSIST lives as long as its fd: F-Stack 1.25 and later create the
// kernel side of their exception path (veth<port>) exactly this way.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "errno_error.h"
#include "module.h"
#include "netns_thread.h"

namespace fstack_kni {

namespace {

constexpr const char* kTunDevice = "/dev/net/tun";

bool ReadFlag(Napi::Env env, const Napi::Object& options, const char* key, bool fallback) {
  Napi::Value value = options.Get(key);
  if (value.IsUndefined()) {
    return fallback;
  }
  if (!value.IsBoolean()) {
    throw Napi::TypeError::New(env, std::string("tunCreate: ") + key + " must be a boolean");
  }
  return value.As<Napi::Boolean>().Value();
}

// Runs on the namespace thread: opens the device and attaches it to the interface.
SyscallFailure OpenTun(struct ifreq* request, bool persist, int* fd) {
  *fd = open(kTunDevice, O_RDWR | O_CLOEXEC);
  if (*fd < 0) {
    return FailureFromErrno("open", kTunDevice);
  }

  SyscallFailure failure;
  if (ioctl(*fd, TUNSETIFF, request) != 0) {
    failure = FailureFromErrno("ioctl(TUNSETIFF)", request->ifr_name);
  } else if (persist && ioctl(*fd, TUNSETPERSIST, 1) != 0) {
    failure = FailureFromErrno("ioctl(TUNSETPERSIST)", request->ifr_name);
  }
  if (failure.error != 0) {
    close(*fd);
    *fd = -1;
  }
  return failure;
}

// tunCreate(name, { tap, persist, noPi, netnsPath?, netnsFd? }) -> { fd, name }
Napi::Value TunCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject()) {
    throw Napi::TypeError::New(env, "tunCreate(name: string, options: object)");
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  Napi::Object options = info[1].As<Napi::Object>();
  if (name.size() >= IFNAMSIZ || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    throw Napi::RangeError::New(
        env, "tunCreate: invalid interface name '" + name + "' (at most 15 bytes, no '/')");
  }

  bool tap = ReadFlag(env, options, "tap", false);
  bool persist = ReadFlag(env, options, "persist", false);
  bool noPi = ReadFlag(env, options, "noPi", true);
  NetnsTarget target = ReadNetnsTarget(env, options, "tunCreate");

  struct ifreq request;
  std::memset(&request, 0, sizeof request);
  std::memcpy(request.ifr_name, name.data(), name.size());
  request.ifr_flags = static_cast<short>((tap ? IFF_TAP : IFF_TUN) | (noPi ? IFF_NO_PI : 0));

  int fd = -1;
  SyscallFailure failure =
      RunInNetns(target, [&request, persist, &fd] { return OpenTun(&request, persist, &fd); });
  if (failure.error != 0) {
    std::string operation = std::string("create ") + (tap ? "tap" : "tun") + " device " + name;
    if (target.IsSet()) {
      operation += " in network namespace " + target.Describe();
    }
    throw SystemError(env, operation, failure.error, failure.syscall, failure.path);
  }

  Napi::Object result = Napi::Object::New(env);
  result.Set("fd", Napi::Number::New(env, fd));
  result.Set("name", Napi::String::New(
                         env, std::string(request.ifr_name, strnlen(request.ifr_name, IFNAMSIZ))));
  return result;
}

// tunSetPersist(fd, persist)
void TunSetPersist(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsBoolean()) {
    throw Napi::TypeError::New(env, "tunSetPersist(fd: number, persist: boolean)");
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool persist = info[1].As<Napi::Boolean>().Value();
  if (ioctl(fd, TUNSETPERSIST, persist ? 1 : 0) != 0) {
    throw SystemError(env, "set persistence of tun fd " + std::to_string(fd), errno,
                      "ioctl(TUNSETPERSIST)");
  }
}

void ExportTun(Napi::Env env, Napi::Object exports) {
  exports.Set("tunCreate", Napi::Function::New(env, TunCreate, "tunCreate"));
  exports.Set("tunSetPersist", Napi::Function::New(env, TunSetPersist, "tunSetPersist"));
}

const Registrar registrar("tun", &ExportTun);

}  // namespace

}  // namespace fstack_kni
