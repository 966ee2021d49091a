// Creating, configuring and closing a RouteSocket, and keeping the event loop and the
// JavaScript object alive exactly while they are needed.
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "errno_error.h"
#include "nl_socket.h"

namespace fstack_kni::netlink {

namespace {

// Turns a netlink socket option on. Kernels older than the option (NETLINK_EXT_ACK: 4.12,
// NETLINK_GET_STRICT_CHK: 4.20) fail with ENOPROTOOPT, and the socket works without it.
SyscallFailure EnableOption(int fd, int option, const char* syscall) {
  int on = 1;
  if (setsockopt(fd, SOL_NETLINK, option, &on, sizeof on) != 0 && errno != ENOPROTOOPT) {
    return FailureFromErrno(syscall);
  }
  return SyscallFailure{};
}

// SO_RCVBUFFORCE goes past net.core.rmem_max but needs CAP_NET_ADMIN; SO_RCVBUF is capped.
SyscallFailure SetReceiveBuffer(int fd, int size) {
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) == 0) {
    return SyscallFailure{};
  }
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) != 0) {
    return FailureFromErrno("setsockopt(SO_RCVBUF)");
  }
  return SyscallFailure{};
}

// Binds to a kernel-chosen port id and connects to the kernel (port 0), which makes the
// kernel refuse unicast to this socket from other processes.
SyscallFailure BindAndConnect(int fd, uint32_t* portId) {
  sockaddr_nl address{};
  address.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    return FailureFromErrno("bind");
  }

  sockaddr_nl bound{};
  socklen_t length = sizeof bound;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    return FailureFromErrno("getsockname");
  }
  *portId = bound.nl_pid;

  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    return FailureFromErrno("connect");
  }
  return SyscallFailure{};
}

SyscallFailure Configure(int fd, const SocketOptions& options, uint32_t* portId) {
  SyscallFailure failure = EnableOption(fd, NETLINK_EXT_ACK, "setsockopt(NETLINK_EXT_ACK)");
  if (failure.error == 0) {
    failure = EnableOption(fd, NETLINK_CAP_ACK, "setsockopt(NETLINK_CAP_ACK)");
  }
  if (failure.error == 0) {
    failure = EnableOption(fd, NETLINK_GET_STRICT_CHK, "setsockopt(NETLINK_GET_STRICT_CHK)");
  }
  if (failure.error == 0) {
    failure = SetReceiveBuffer(fd, options.receiveBuffer);
  }
  if (failure.error == 0) {
    failure = BindAndConnect(fd, portId);
  }

  // NETLINK_ADD_MEMBERSHIP takes group numbers, so groups above 31 work too. Their
  // messages carry no nl_groups bit, so NETLINK_PKTINFO distinguishes events from replies.
  for (uint32_t group : options.groups) {
    if (failure.error != 0) {
      break;
    }
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) != 0) {
      failure =
          FailureFromErrno("setsockopt(NETLINK_ADD_MEMBERSHIP)", "group " + std::to_string(group));
    }
  }
  if (failure.error == 0 && !options.groups.empty()) {
    failure = EnableOption(fd, NETLINK_PKTINFO, "setsockopt(NETLINK_PKTINFO)");
  }
  return failure;
}

}  // namespace

void RouteSocket::Open(Napi::Env env, const SocketOptions& options) {
  std::string operation = "open netlink socket";
  if (options.netns.IsSet()) {
    operation += " in network namespace " + options.netns.Describe();
  }

  int fd = -1;
  SyscallFailure failure = RunInNetns(options.netns, [&fd] {
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    return fd < 0 ? FailureFromErrno("socket") : SyscallFailure{};
  });
  if (failure.error == 0) {
    failure = Configure(fd, options, &portId_);
  }
  if (failure.error != 0) {
    if (fd >= 0) {
      close(fd);
    }
    throw SystemError(env, operation, failure.error, failure.syscall, failure.path);
  }

  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    close(fd);
    throw Napi::Error::New(env, operation + ": no event loop");
  }
  auto* state = new PollState();
  int status = uv_poll_init(loop, &state->poll, fd);
  if (status != 0) {
    delete state;
    close(fd);
    throw SystemError(env, operation, -status, "uv_poll_init");
  }
  uv_timer_init(loop, &state->deferredRead);
  state->poll.data = state;
  state->deferredRead.data = state;
  state->openHandles = 2;
  state->owner = this;
  poll_ = state;
  fd_ = fd;

  // From here on CloseTransport() releases everything, also when a later step throws.
  status = uv_poll_start(&state->poll, UV_READABLE, &RouteSocket::OnPoll);
  if (status != 0) {
    CloseTransport();
    throw SystemError(env, operation, -status, "uv_poll_start");
  }
  // The timer keeps the loop alive only while it is started, which is what a deferred read
  // needs; the poll handle follows UpdateRef().
  uv_unref(reinterpret_cast<uv_handle_t*>(&state->poll));
  napi_add_async_cleanup_hook(env, &RouteSocket::OnEnvTeardown, state, &state->cleanupHook);

  dumpAttempts_ = options.dumpAttempts;
  packetInfo_ = !options.groups.empty();
  receiveBuffer_.resize(64 * 1024);
}

void RouteSocket::UpdateRef() {
  bool keepAlive =
      refMode_ == RefMode::Ref || (refMode_ == RefMode::Default && !onEvent_.IsEmpty());
  bool undelivered = !completions_.empty() || !events_.empty();
  bool hold = !closed_ && (requests_.size() > 0 || undelivered || keepAlive);
  if (hold == holding_) {
    return;
  }
  holding_ = hold;

  // The loop stays alive through the poll handle, the object through a strong reference,
  // so that a reply always finds its callback.
  if (poll_ != nullptr) {
    auto* handle = reinterpret_cast<uv_handle_t*>(&poll_->poll);
    hold ? uv_ref(handle) : uv_unref(handle);
  }
  hold ? Ref() : Unref();
}

void RouteSocket::CloseTransport() {
  if (poll_ == nullptr) {
    return;
  }
  // uv_close stops polling (removing the fd from epoll) before the fd is closed.
  poll_->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_->poll), &RouteSocket::OnHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_->deferredRead), &RouteSocket::OnHandleClosed);
  poll_ = nullptr;
  close(fd_);
  fd_ = -1;
}

void RouteSocket::OnHandleClosed(uv_handle_t* handle) {
  auto* state = static_cast<PollState*>(handle->data);
  if (--state->openHandles > 0) {
    return;
  }
  if (state->cleanupHook != nullptr) {
    napi_remove_async_cleanup_hook(state->cleanupHook);
  }
  delete state;
}

// Runs when the environment (main thread or worker) shuts down with the socket open. Node
// waits until the last close callback removes the hook.
void RouteSocket::OnEnvTeardown(napi_async_cleanup_hook_handle handle, void* data) {
  auto* state = static_cast<PollState*>(data);
  if (state->owner != nullptr) {
    state->owner->closed_ = true;
    state->owner->CloseTransport();
  }
}

RouteSocket::~RouteSocket() {
  if (methodTarget_ != nullptr) {
    methodTarget_->socket = nullptr;
  }
  CloseTransport();
}

}  // namespace fstack_kni::netlink
