// TCP sockets created inside a target network namespace. A socket keeps the namespace it
// was created in, so the fd that this part returns to Node binds, listens and connects
// there even though the Node process itself stays in its own namespace.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <string>

#include "errno_error.h"
#include "module.h"
#include "netns_thread.h"

namespace fstack_kni {

namespace {

constexpr const char* kFunction = "openTcpSocket";

/** A socket address of either family, as bind(2) takes it. */
struct Endpoint {
  sockaddr_storage storage{};
  socklen_t length = 0;
  std::string text;
};

/** Steps of openTcpSocket after socket(2), read and checked on the JavaScript thread. */
struct SocketRequest {
  int domain = AF_INET;
  bool bind = false;
  Endpoint local;
  bool listen = false;
  int backlog = 0;
};

int ReadFamily(Napi::Env env, const Napi::Object& options) {
  Napi::Value family = options.Get("family");
  if (!family.IsNumber()) {
    throw Napi::TypeError::New(env, std::string(kFunction) + ": family must be 4 or 6");
  }
  double value = family.As<Napi::Number>().DoubleValue();
  if (value == 4) {
    return AF_INET;
  }
  if (value == 6) {
    return AF_INET6;
  }
  throw Napi::RangeError::New(env, std::string(kFunction) + ": family must be 4 or 6");
}

// Reads `{ address, port }` and converts it with inet_pton for the socket's family.
Endpoint ReadEndpoint(Napi::Env env, const Napi::Value& value, int domain) {
  if (!value.IsObject()) {
    throw Napi::TypeError::New(
        env, std::string(kFunction) + ": bind must be an object { address, port }");
  }
  Napi::Object object = value.As<Napi::Object>();
  Napi::Value address = object.Get("address");
  Napi::Value port = object.Get("port");
  if (!address.IsString()) {
    throw Napi::TypeError::New(env, std::string(kFunction) + ": bind.address must be a string");
  }
  if (!port.IsNumber()) {
    throw Napi::TypeError::New(env, std::string(kFunction) + ": bind.port must be a number");
  }
  double portNumber = port.As<Napi::Number>().DoubleValue();
  if (!(portNumber >= 0 && portNumber <= 65535) ||
      portNumber != static_cast<double>(static_cast<int>(portNumber))) {
    throw Napi::RangeError::New(
        env, std::string(kFunction) + ": bind.port must be an integer from 0 to 65535");
  }

  Endpoint endpoint;
  std::string text = address.As<Napi::String>().Utf8Value();
  uint16_t networkPort = htons(static_cast<uint16_t>(portNumber));
  // inet_pton stops at a NUL, so "192.0.2.1\0junk" would pass without this check.
  bool parsed = text.find('\0') == std::string::npos;
  if (domain == AF_INET) {
    auto* ipv4 = reinterpret_cast<sockaddr_in*>(&endpoint.storage);
    ipv4->sin_family = AF_INET;
    ipv4->sin_port = networkPort;
    parsed = parsed && inet_pton(AF_INET, text.c_str(), &ipv4->sin_addr) == 1;
    endpoint.length = sizeof(sockaddr_in);
    endpoint.text = text + ":" + std::to_string(static_cast<int>(portNumber));
  } else {
    auto* ipv6 = reinterpret_cast<sockaddr_in6*>(&endpoint.storage);
    ipv6->sin6_family = AF_INET6;
    ipv6->sin6_port = networkPort;
    parsed = parsed && inet_pton(AF_INET6, text.c_str(), &ipv6->sin6_addr) == 1;
    endpoint.length = sizeof(sockaddr_in6);
    endpoint.text = "[" + text + "]:" + std::to_string(static_cast<int>(portNumber));
  }
  if (!parsed) {
    throw Napi::RangeError::New(env, std::string(kFunction) + ": bind.address '" + text +
                                         "' is not an IPv" + (domain == AF_INET ? "4" : "6") +
                                         " address");
  }
  return endpoint;
}

int ReadBacklog(Napi::Env env, const Napi::Value& value) {
  if (!value.IsNumber()) {
    throw Napi::TypeError::New(env, std::string(kFunction) + ": listen must be a number");
  }
  double backlog = value.As<Napi::Number>().DoubleValue();
  if (!(backlog >= 0 && backlog <= INT_MAX) ||
      backlog != static_cast<double>(static_cast<int>(backlog))) {
    throw Napi::RangeError::New(
        env, std::string(kFunction) + ": listen must be a backlog from 0 to 2147483647");
  }
  return static_cast<int>(backlog);
}

// Runs on the namespace thread: socket(2), then bind(2) and listen(2) when requested.
// Closes the socket again when a later step fails.
SyscallFailure OpenSocket(const SocketRequest& request, int* fd) {
  *fd = socket(request.domain, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP);
  if (*fd < 0) {
    return FailureFromErrno("socket");
  }

  SyscallFailure failure;
  if (request.bind) {
    // SO_REUSEADDR lets a listener bind while connections of an earlier one on the same
    // port are still in TIME_WAIT, as Node's own listen() does.
    int on = 1;
    if (setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) {
      failure = FailureFromErrno("setsockopt(SO_REUSEADDR)");
    } else if (bind(*fd, reinterpret_cast<const sockaddr*>(&request.local.storage),
                    request.local.length) != 0) {
      failure = FailureFromErrno("bind");
    }
  }
  if (failure.error == 0 && request.listen && listen(*fd, request.backlog) != 0) {
    failure = FailureFromErrno("listen");
  }

  if (failure.error != 0) {
    close(*fd);
    *fd = -1;
  }
  return failure;
}

// openTcpSocket({ netnsPath?, netnsFd?, family, bind?: { address, port }, listen? }) -> fd
Napi::Value OpenTcpSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    throw Napi::TypeError::New(env, "openTcpSocket(options: object)");
  }
  Napi::Object options = info[0].As<Napi::Object>();

  SocketRequest request;
  request.domain = ReadFamily(env, options);
  NetnsTarget target = ReadNetnsTarget(env, options, kFunction);
  Napi::Value bind = options.Get("bind");
  if (!bind.IsUndefined()) {
    request.bind = true;
    request.local = ReadEndpoint(env, bind, request.domain);
  }
  Napi::Value listen = options.Get("listen");
  if (!listen.IsUndefined()) {
    request.listen = true;
    request.backlog = ReadBacklog(env, listen);
  }

  int fd = -1;
  SyscallFailure failure = RunInNetns(target, [&request, &fd] { return OpenSocket(request, &fd); });
  if (failure.error != 0) {
    std::string operation =
        std::string("open TCP/IPv") + (request.domain == AF_INET ? "4" : "6") + " socket";
    if (request.bind) {
      operation += " on " + request.local.text;
    }
    if (target.IsSet()) {
      operation += " in network namespace " + target.Describe();
    }
    throw SystemError(env, operation, failure.error, failure.syscall, failure.path);
  }
  return Napi::Number::New(env, fd);
}

void ExportTcpSocket(Napi::Env env, Napi::Object exports) {
  exports.Set(kFunction, Napi::Function::New(env, OpenTcpSocket, kFunction));
}

const Registrar registrar("tcp", &ExportTcpSocket);

}  // namespace

}  // namespace fstack_kni
