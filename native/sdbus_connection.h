// One sd-bus connection, driven by the Node event loop and exposed to JavaScript as the
// class BusConnection (declared for TypeScript in src/native/native-bus.ts).
//
// Event loop integration: sd_bus_get_events and sd_bus_get_timeout decide what a uv_poll on
// the bus socket and a one-shot uv_timer wait for. When either fires, sd_bus_process runs
// until it has nothing left, which completes calls and delivers signals. Both handles are unref'd
// while no call and no match installation is pending, so an idle connection never keeps
// the process alive. Everything runs on the thread that created the connection.
#pragma once

#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sdbus_library.h"

namespace fstack_kni::sdbus {

class Connection : public Napi::ObjectWrap<Connection> {
 public:
  // Returns the BusConnection class.
  static Napi::Function DefineClass(Napi::Env env);

  // new BusConnection({ bus, address?, direct?, onDisconnect? }): connects synchronously
  // (socket connect only; authentication and Hello continue in the event loop).
  explicit Connection(const Napi::CallbackInfo& info);
  ~Connection() override;

 private:
  struct PendingCall;
  struct Match;
  struct Watcher;

  // JavaScript methods, in sdbus_calls.cc.
  Napi::Value Call(const Napi::CallbackInfo& info);
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  Napi::Value AddMatch(const Napi::CallbackInfo& info);
  Napi::Value RemoveMatch(const Napi::CallbackInfo& info);

  // JavaScript methods and accessors, in sdbus_connection.cc.
  Napi::Value Pending(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetAddress(const Napi::CallbackInfo& info);
  Napi::Value GetDirect(const Napi::CallbackInfo& info);

  // sd-bus message handlers, in sdbus_calls.cc. They run inside sd_bus_process.
  static int OnReply(Message* reply, void* userdata, Error* ret_error);
  static int OnSignal(Message* signal, void* userdata, Error* ret_error);
  static int OnMatchInstalled(Message* reply, void* userdata, Error* ret_error);

  // Event loop integration.
  void Watch();
  static void OnPoll(uv_poll_t* handle, int status, int events);
  static void OnTimer(uv_timer_t* handle);
  static void OnHandleClosed(uv_handle_t* handle);
  void Dispatch();
  void Rearm();
  void UpdateLoopRef();
  void CloseWatcher();

  // Ends the connection after sd-bus reported `result` (a negative errno): pending calls
  // fail and onDisconnect runs.
  void Fail(int result);
  // Closes the connection. With `notify`, pending calls and match installations complete
  // with an error; without it (from the destructor) no JavaScript runs.
  void Teardown(bool notify);

  // Error for a call failed by sd-bus because the connection is closing.
  Napi::Object LostReplyError(Napi::Env env) const;

  // Throws when the connection is closed or lost.
  void ThrowIfUnusable(Napi::Env env) const;

  // Calls `callback` through MakeCallback, so promise jobs it queues run afterwards. An
  // exception thrown by the callback is reported as an uncaught exception.
  void Invoke(const Napi::FunctionReference& callback, napi_async_context context,
              const std::vector<napi_value>& args);

  const Library* library_ = nullptr;
  Bus* bus_ = nullptr;
  bool direct_ = false;
  std::string address_;
  Watcher* watcher_ = nullptr;

  std::map<uint32_t, std::unique_ptr<PendingCall>> calls_;
  uint32_t next_call_id_ = 1;
  std::map<uint32_t, std::unique_ptr<Match>> matches_;
  // Matches removed while sd_bus_process runs; freed when it returns.
  std::vector<std::unique_ptr<Match>> retired_matches_;
  uint32_t next_match_id_ = 1;
  uint32_t installing_ = 0;

  bool dispatching_ = false;
  bool close_requested_ = false;
  // Positive errno once the connection failed, else 0.
  int failure_ = 0;

  Napi::FunctionReference on_disconnect_;
  std::unique_ptr<Napi::AsyncContext> disconnect_context_;
};

// A method call waiting for its reply.
struct Connection::PendingCall {
  PendingCall(Napi::Env env, Napi::Function callback)
      : callback(Napi::Persistent(callback)), context(env, "fstack_kni.BusCall") {}

  Connection* owner = nullptr;
  uint32_t id = 0;
  Slot* slot = nullptr;
  Napi::FunctionReference callback;
  Napi::AsyncContext context;
};

// A signal match added from JavaScript.
struct Connection::Match {
  Match(Napi::Env env, Napi::Function on_signal)
      : on_signal(Napi::Persistent(on_signal)), context(env, "fstack_kni.BusMatch") {}

  Connection* owner = nullptr;
  Slot* slot = nullptr;
  // True on a bus connection until the bus daemon replied to AddMatch.
  bool installing = false;
  Napi::FunctionReference on_signal;
  Napi::FunctionReference on_installed;
  Napi::AsyncContext context;
};

// Builds an Error "<operation>: <errno description>" that carries `errno`
// (positive) and `code` (the errno name, such as "ENOENT").
Napi::Error ErrnoError(Napi::Env env, const std::string& operation, int result);

}  // namespace fstack_kni::sdbus
