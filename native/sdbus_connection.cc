// Opening, event loop integration and closing of a bus connection; see sdbus_connection.h.
#include "sdbus_connection.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "errno_error.h"
#include "js_call.h"
#include "module.h"
#include "sdbus_message.h"

namespace fstack_kni::sdbus {

namespace {

constexpr const char* kSystemPrivateAddress = "unix:path=/run/systemd/private";

}  // namespace

// The uv handles of one connection. They outlive the Connection when it closes, until
// libuv reports both closed.
struct Connection::Watcher {
  uv_poll_t poll;
  uv_timer_t timer;
  // Our own duplicate of the bus socket. sd-bus closes its descriptor inside sd_bus_process
  // when the connection ends; polling a duplicate keeps epoll from ever watching a closed
  // (or reused) descriptor number.
  int fd = -1;
  int open_handles = 0;
  Connection* owner = nullptr;
};

namespace {

uint64_t MonotonicMicroseconds() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000u + static_cast<uint64_t>(now.tv_nsec) / 1000u;
}

// Escapes a path for use in a D-Bus address: bytes outside [-0-9A-Za-z_/.*] become %XX.
std::string EscapeAddressValue(const std::string& value) {
  static const char kHex[] = "0123456789abcdef";
  std::string escaped;
  for (unsigned char c : value) {
    bool plain = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                 std::strchr("-_/.*", c) != nullptr;
    if (plain && c != '\0') {
      escaped.push_back(static_cast<char>(c));
    } else {
      escaped.push_back('%');
      escaped.push_back(kHex[c >> 4]);
      escaped.push_back(kHex[c & 0xf]);
    }
  }
  return escaped;
}

void CloseAndUnref(const Library& library, Bus* bus) {
  library.bus_close(bus);
  library.bus_unref(bus);
}

// Refuses a direct connection whose peer is neither root nor this user, the check systemctl
// applies to /run/systemd/private and $XDG_RUNTIME_DIR/systemd/private.
int CheckPeer(const Library& library, Bus* bus, std::string* detail) {
  int fd = library.bus_get_fd(bus);
  if (fd < 0) return fd;

  struct ucred peer;
  socklen_t length = sizeof(peer);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) < 0) return -errno;

  if (peer.uid != 0 && peer.uid != geteuid()) {
    *detail = "the peer runs as uid " + std::to_string(peer.uid) + ", neither root nor this user";
    return -EPERM;
  }
  return 0;
}

// Opens a connection to `address`. A bus client talks to a bus daemon and sends Hello first.
// A direct connection talks to one peer (systemd's private socket) and must not send Hello,
// so it keeps sd_bus_new's default of sd_bus_set_bus_client off.
int OpenAddress(const Library& library, const std::string& address, bool bus_client, Bus** ret,
                std::string* detail) {
  Bus* bus = nullptr;
  int result = library.bus_new(&bus);
  if (result < 0) return result;

  result = library.bus_set_address(bus, address.c_str());
  if (result >= 0 && bus_client) result = library.bus_set_bus_client(bus, 1);
  if (result >= 0) result = library.bus_start(bus);
  if (result >= 0 && !bus_client) result = CheckPeer(library, bus, detail);

  if (result < 0) {
    CloseAndUnref(library, bus);
    return result;
  }
  *ret = bus;
  return 0;
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

}  // namespace

Napi::Error ErrnoError(Napi::Env env, const std::string& operation, int result) {
  int error = result < 0 ? -result : result;
  Napi::Error exception = Napi::Error::New(env, operation + ": " + ErrnoDescription(error));
  exception.Set("code", Napi::String::New(env, ErrnoCode(error)));
  exception.Set("errno", Napi::Number::New(env, error));
  return exception;
}

Napi::Function Connection::DefineClass(Napi::Env env) {
  return ObjectWrap<Connection>::DefineClass(
      env, "BusConnection",
      {
          InstanceMethod<&Connection::Call>("call"),
          InstanceMethod<&Connection::Cancel>("cancel"),
          InstanceMethod<&Connection::AddMatch>("addMatch"),
          InstanceMethod<&Connection::RemoveMatch>("removeMatch"),
          InstanceMethod<&Connection::Pending>("pending"),
          InstanceMethod<&Connection::Close>("close"),
          InstanceAccessor<&Connection::GetAddress>("address"),
          InstanceAccessor<&Connection::GetDirect>("direct"),
      });
}

Connection::Connection(const Napi::CallbackInfo& info) : ObjectWrap<Connection>(info) {
  Napi::Env env = info.Env();

  if (info.Length() < 1 || !info[0].IsObject()) {
    throw Napi::TypeError::New(env, "BusConnection: options object expected");
  }
  Napi::Object options = info[0].As<Napi::Object>();
  Napi::Value kind_value = options.Get("bus");
  if (!kind_value.IsString()) {
    throw Napi::TypeError::New(env,
                               "BusConnection: options.bus must be 'system', 'user' or 'address'");
  }
  std::string kind = kind_value.As<Napi::String>().Utf8Value();
  Napi::Value on_disconnect = options.Get("onDisconnect");
  if (!on_disconnect.IsUndefined() && !on_disconnect.IsFunction()) {
    throw Napi::TypeError::New(env, "BusConnection: options.onDisconnect must be a function");
  }

  std::string load_error;
  library_ = LoadLibrary(&load_error);
  if (library_ == nullptr) {
    Napi::Error error = Napi::Error::New(env, load_error);
    error.Set("code", Napi::String::New(env, "ENOSYSTEMD"));
    throw error;
  }

  int result = 0;
  std::string detail;

  if (kind == "system") {
    // As systemctl does: root talks to PID 1 directly, everyone else through the bus.
    // NOTE: tests never contact PID 1, so this branch runs only in production; the 'user'
    // branch below follows the same steps and is tested.
    if (geteuid() == 0 && Exists("/run/systemd/private")) {
      address_ = kSystemPrivateAddress;
      result = OpenAddress(*library_, address_, false, &bus_, &detail);
      direct_ = result >= 0;
    }
    if (bus_ == nullptr && result != -EPERM) {
      address_ = "the system bus";
      result = library_->bus_open_system(&bus_);
    }
  } else if (kind == "user") {
    // As systemctl --user does: the manager's private socket when present, else the
    // session bus from $DBUS_SESSION_BUS_ADDRESS or $XDG_RUNTIME_DIR/bus.
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    if (runtime != nullptr && runtime[0] == '/' &&
        Exists(std::string(runtime) + "/systemd/private")) {
      address_ = "unix:path=" + EscapeAddressValue(std::string(runtime) + "/systemd/private");
      result = OpenAddress(*library_, address_, false, &bus_, &detail);
      direct_ = result >= 0;
    }
    if (bus_ == nullptr && result != -EPERM) {
      address_ = "the user bus";
      result = library_->bus_open_user(&bus_);
    }
  } else if (kind == "address") {
    Napi::Value address = options.Get("address");
    if (!address.IsString() || address.As<Napi::String>().Utf8Value().empty()) {
      throw Napi::TypeError::New(env, "BusConnection: options.address must be a D-Bus address");
    }
    address_ = address.As<Napi::String>().Utf8Value();
    direct_ = options.Get("direct").ToBoolean().Value();
    result = OpenAddress(*library_, address_, !direct_, &bus_, &detail);
  } else {
    throw Napi::TypeError::New(env,
                               "BusConnection: options.bus must be 'system', 'user' or 'address'");
  }

  if (result < 0) {
    bus_ = nullptr;
    std::string operation = "cannot connect to " + address_;
    if (!detail.empty()) operation += " (" + detail + ")";
    throw ErrnoError(env, operation, result);
  }

  const char* actual = nullptr;
  if (library_->bus_get_address(bus_, &actual) >= 0 && actual != nullptr) address_ = actual;

  if (on_disconnect.IsFunction()) {
    on_disconnect_ = Napi::Persistent(on_disconnect.As<Napi::Function>());
    disconnect_context_ = std::make_unique<Napi::AsyncContext>(env, "fstack_kni.BusDisconnect");
  }

  try {
    Watch();
  } catch (...) {
    CloseAndUnref(*library_, bus_);
    bus_ = nullptr;
    throw;
  }
  Rearm();
}

Connection::~Connection() { Teardown(false); }

void Connection::Watch() {
  Napi::Env env = Env();

  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    throw Napi::Error::New(env, "BusConnection: no libuv event loop");
  }

  int fd = library_->bus_get_fd(bus_);
  if (fd < 0) throw ErrnoError(env, "cannot get the bus socket", fd);
  int own = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (own < 0) throw ErrnoError(env, "cannot duplicate the bus socket", -errno);

  auto* watcher = new Watcher();
  watcher->fd = own;
  int result = uv_poll_init(loop, &watcher->poll, own);
  if (result < 0) {
    close(own);
    delete watcher;
    throw ErrnoError(env, "cannot poll the bus socket", result);
  }
  uv_timer_init(loop, &watcher->timer);
  watcher->poll.data = watcher;
  watcher->timer.data = watcher;
  watcher->open_handles = 2;
  watcher->owner = this;
  watcher_ = watcher;
}

void Connection::OnPoll(uv_poll_t* handle, int status, int events) {
  // Errors and hang-ups are left to sd_bus_process, which reports them.
  auto* watcher = static_cast<Watcher*>(handle->data);
  if (watcher->owner != nullptr) watcher->owner->Dispatch();
}

void Connection::OnTimer(uv_timer_t* handle) {
  auto* watcher = static_cast<Watcher*>(handle->data);
  if (watcher->owner != nullptr) watcher->owner->Dispatch();
}

void Connection::OnHandleClosed(uv_handle_t* handle) {
  auto* watcher = static_cast<Watcher*>(handle->data);
  if (--watcher->open_handles == 0) {
    close(watcher->fd);
    delete watcher;
  }
}

void Connection::Dispatch() {
  if (bus_ == nullptr || failure_ != 0) return;

  Napi::Env env = Env();
  Napi::HandleScope scope(env);

  // JavaScript callbacks run below; the reference keeps the wrapper (and so this object)
  // from being collected until the loop is done with it.
  Ref();
  dispatching_ = true;
  try {
    for (;;) {
      int result = library_->bus_process(bus_, nullptr);
      if (result < 0) {
        Fail(result);
        break;
      }
      if (result == 0 || close_requested_) break;
    }
  } catch (const Napi::Error& error) {
    napi_fatal_exception(env, error.Value());
  }
  dispatching_ = false;
  retired_matches_.clear();

  if (close_requested_) {
    Teardown(true);
  } else if (failure_ == 0) {
    Rearm();
  }
  Unref();
}

void Connection::Rearm() {
  if (bus_ == nullptr || watcher_ == nullptr || failure_ != 0) return;

  int events = library_->bus_get_events(bus_);
  if (events < 0) {
    Fail(events);
    return;
  }
  int requested = 0;
  if ((events & POLLIN) != 0) requested |= UV_READABLE;
  if ((events & POLLOUT) != 0) requested |= UV_WRITABLE;
  int result = requested != 0 ? uv_poll_start(&watcher_->poll, requested, OnPoll)
                              : uv_poll_stop(&watcher_->poll);
  if (result < 0) {
    Fail(result);
    return;
  }

  // sd_bus_get_timeout returns an absolute CLOCK_MONOTONIC time; 0 means "process now"
  // (messages are already queued) and UINT64_MAX means no deadline.
  uint64_t until = 0;
  result = library_->bus_get_timeout(bus_, &until);
  if (result < 0) {
    Fail(result);
    return;
  }
  if (result > 0 && until != UINT64_MAX) {
    uint64_t now = MonotonicMicroseconds();
    uint64_t delay_ms = until <= now ? 0 : (until - now + 999) / 1000;
    uv_timer_start(&watcher_->timer, OnTimer, delay_ms, 0);
  } else {
    uv_timer_stop(&watcher_->timer);
  }

  UpdateLoopRef();
}

void Connection::UpdateLoopRef() {
  if (watcher_ == nullptr) return;
  bool busy = !calls_.empty() || installing_ > 0;
  for (uv_handle_t* handle : {reinterpret_cast<uv_handle_t*>(&watcher_->poll),
                              reinterpret_cast<uv_handle_t*>(&watcher_->timer)}) {
    if (busy) {
      uv_ref(handle);
    } else {
      uv_unref(handle);
    }
  }
}

void Connection::CloseWatcher() {
  if (watcher_ == nullptr) return;
  watcher_->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&watcher_->poll), OnHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&watcher_->timer), OnHandleClosed);
  watcher_ = nullptr;
}

void Connection::Fail(int result) {
  if (failure_ != 0 || bus_ == nullptr) return;
  failure_ = result < 0 ? -result : ECONNRESET;
  std::string text = "the connection to " + address_ + " was lost: " + ErrnoDescription(failure_);

  // The bus socket is dead: stop watching it, but keep the handles until close.
  if (watcher_ != nullptr) {
    uv_poll_stop(&watcher_->poll);
    uv_timer_stop(&watcher_->timer);
  }

  // Settle all state before any JavaScript runs. sd-bus normally fails pending calls
  // itself while closing; these are the ones left when it stopped on another error.
  std::map<uint32_t, std::unique_ptr<PendingCall>> calls = std::move(calls_);
  calls_.clear();
  for (auto& [id, call] : calls) {
    library_->slot_unref(call->slot);
    call->slot = nullptr;
  }
  std::vector<Match*> installing;
  for (auto& [id, match] : matches_) {
    if (!match->installing) continue;
    match->installing = false;
    installing.push_back(match.get());
  }
  installing_ = 0;

  // While callbacks run, close() and removeMatch() are deferred as during dispatch, so
  // the matches above stay alive, and the reference keeps this object alive.
  Ref();
  bool was_dispatching = dispatching_;
  dispatching_ = true;
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  for (auto& [id, call] : calls) {
    Napi::Object error =
        MakeBusError(env, "org.freedesktop.DBus.Error.Disconnected", text, failure_);
    Invoke(call->callback, call->context, {error, env.Undefined()});
    Unref();
  }
  for (Match* match : installing) {
    Napi::Object error =
        MakeBusError(env, "org.freedesktop.DBus.Error.Disconnected", text, failure_);
    Invoke(match->on_installed, match->context, {error});
    Unref();
  }
  if (!on_disconnect_.IsEmpty()) {
    Invoke(on_disconnect_, *disconnect_context_,
           {Napi::Number::New(env, failure_), Napi::String::New(env, text)});
  }
  dispatching_ = was_dispatching;

  if (!was_dispatching) {
    retired_matches_.clear();
    if (close_requested_) Teardown(true);
  }
  UpdateLoopRef();
  Unref();
}

void Connection::Teardown(bool notify) {
  if (bus_ == nullptr) return;

  // Stop polling before sd-bus closes its descriptor.
  CloseWatcher();

  // Release every slot, then the bus, before any JavaScript runs: a callback that calls
  // close() or call() then finds the connection already closed.
  std::map<uint32_t, std::unique_ptr<Match>> matches = std::move(matches_);
  matches_.clear();
  for (auto& [id, match] : matches) {
    library_->slot_unref(match->slot);
    match->slot = nullptr;
  }
  std::map<uint32_t, std::unique_ptr<PendingCall>> calls = std::move(calls_);
  calls_.clear();
  for (auto& [id, call] : calls) {
    library_->slot_unref(call->slot);
    call->slot = nullptr;
  }
  installing_ = 0;
  CloseAndUnref(*library_, bus_);
  bus_ = nullptr;

  if (notify) {
    Ref();
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    std::string text = "the connection to " + address_ + " was closed";
    for (auto& [id, match] : matches) {
      if (!match->installing) continue;
      Invoke(match->on_installed, match->context,
             {MakeBusError(env, "org.freedesktop.DBus.Error.Disconnected", text, ECANCELED)});
      Unref();
    }
    for (auto& [id, call] : calls) {
      Invoke(call->callback, call->context,
             {MakeBusError(env, "org.freedesktop.DBus.Error.Disconnected", text, ECANCELED),
              env.Undefined()});
      Unref();
    }
    Unref();
  }
  on_disconnect_.Reset();
}

void Connection::ThrowIfUnusable(Napi::Env env) const {
  if (bus_ == nullptr || close_requested_) {
    Napi::Error error = Napi::Error::New(env, "the connection to " + address_ + " is closed");
    error.Set("code", Napi::String::New(env, "EDISCONNECTED"));
    throw error;
  }
  if (failure_ != 0) {
    Napi::Error error = ErrnoError(env, "the connection to " + address_ + " was lost", failure_);
    error.Set("code", Napi::String::New(env, "EDISCONNECTED"));
    throw error;
  }
}

void Connection::Invoke(const Napi::FunctionReference& callback, napi_async_context context,
                        const std::vector<napi_value>& args) {
  if (callback.IsEmpty()) return;
  Napi::Env env = Env();
  // The receiver is the global object: `this` may already be collected when the last
  // callback of a dropped connection runs.
  CallFromLoop(env, env.Global(), callback.Value(), args.size(), args.data(), context);
}

Napi::Value Connection::Pending(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(calls_.size()));
}

Napi::Value Connection::Close(const Napi::CallbackInfo& info) {
  if (dispatching_) {
    // sd_bus_process is on the stack; Dispatch closes once it returns.
    close_requested_ = true;
  } else {
    Teardown(true);
  }
  return info.Env().Undefined();
}

Napi::Value Connection::GetAddress(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), address_);
}

Napi::Value Connection::GetDirect(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), direct_);
}

namespace {

// busLibrary(): loads libsystemd if needed and reports { name, available, error? }.
Napi::Value BusLibrary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string error;
  const Library* library = LoadLibrary(&error);

  Napi::Object result = Napi::Object::New(env);
  result.Set("name", library != nullptr ? library->name : LibraryName());
  result.Set("available", Napi::Boolean::New(env, library != nullptr));
  if (library == nullptr) result.Set("error", error);
  return result;
}

void ExportBus(Napi::Env env, Napi::Object exports) {
  exports.Set("BusConnection", Connection::DefineClass(env));
  exports.Set("busLibrary", Napi::Function::New(env, BusLibrary, "busLibrary"));
}

const Registrar registrar("bus", &ExportBus);

}  // namespace

}  // namespace fstack_kni::sdbus
