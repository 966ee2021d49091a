// RouteSocket: one NETLINK_ROUTE socket driven by the libuv loop of its JavaScript thread.
//
// The socket is non-blocking and watched with uv_poll. A request costs a sendmsg and the
// recvmsg calls that read its reply, and nothing runs on the thread pool. Replies are
// matched to requests by sequence number and port id, and each completion calls the
// JavaScript `onReply` function given at open time.
//
// The class is split by concept: nl_socket.cc has the JavaScript methods, nl_open.cc
// creates and configures the socket, nl_transport.cc sends, receives and completes.
#pragma once

#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "js_call.h"
#include "netns_thread.h"
#include "nl_batch.h"
#include "nl_requests.h"

namespace fstack_kni::netlink {

/** Outcome codes passed to `onReply`; NativeStatus in src/native/native.ts mirrors them. */
enum class Status : int32_t {
  Ok = 0,
  KernelError = 1,
  SocketError = 2,
  DumpInterrupted = 3,
  Closed = 4,
};

/** A finished request waiting to be reported to JavaScript. */
struct Completion {
  uint32_t sequence = 0;
  Status status = Status::Ok;
  int error = 0;
  bool dump = false;
  std::vector<uint8_t> payload;
  std::string extackMessage;
  int64_t extackOffset = -1;
};

/** Settings of openRouteSocket, checked by ReadSocketOptions. */
struct SocketOptions {
  NetnsTarget netns;
  std::vector<uint32_t> groups;
  int receiveBuffer = 4 * 1024 * 1024;
  int dumpAttempts = 5;
};

class RouteSocket;

// The RouteSocket that the request and batch functions of one socket object call. They
// are bound to it directly, which spares the lookup of the wrapped object that an
// ObjectWrap method makes on every call. A function kept after its socket object was
// collected still owns this, and then finds `socket` nullptr.
struct MethodTarget {
  RouteSocket* socket = nullptr;
};

// The part shared with libuv: the poll handle that watches the socket and a timer that
// runs a read on the next loop iteration when a synchronous read swallowed a socket error.
// It is freed by the last close callback, which may run after the RouteSocket is gone;
// `owner` is cleared when the RouteSocket lets go.
struct PollState {
  uv_poll_t poll;
  uv_timer_t deferredRead;
  int openHandles = 0;
  napi_async_cleanup_hook_handle cleanupHook = nullptr;
  RouteSocket* owner = nullptr;
};

/** Outcome of ReadAckNow right after a send. */
enum class AckResult {
  /** The request's plain ack: the request is complete. */
  Acknowledged,
  /** Another datagram (an error, a reply with data); dispatched, delivered from the loop. */
  Dispatched,
  /** Nothing queued yet. */
  NotRead,
  /** recvmsg failed; the error is kept for the loop. */
  Failed,
};

class RouteSocket : public Napi::ObjectWrap<RouteSocket> {
 public:
  static Napi::Function DefineClass(Napi::Env env);

  explicit RouteSocket(const Napi::CallbackInfo& info);
  ~RouteSocket() override;

 private:
  enum class RefMode { Default, Ref, Unref };

  // JavaScript methods (nl_socket.cc). request and batch are bound per object; see
  // MethodTarget.
  static Napi::Value CallRequest(const Napi::CallbackInfo& info);
  static Napi::Value CallBatch(const Napi::CallbackInfo& info);
  static RouteSocket& Target(const Napi::CallbackInfo& info);
  void DefineBoundMethods(Napi::Env env, Napi::Object self);
  Napi::Value GetPortId(const Napi::CallbackInfo& info);
  Napi::Value Request(const Napi::CallbackInfo& info);
  Napi::Value Batch(const Napi::CallbackInfo& info);
  Napi::Value Pending(const Napi::CallbackInfo& info);
  Napi::Value HasRef(const Napi::CallbackInfo& info);
  void JsRef(const Napi::CallbackInfo& info);
  void JsUnref(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  // Opening (nl_open.cc). Throws a system error; leaves nothing open when it does.
  void Open(Napi::Env env, const SocketOptions& options);

  // Sending (nl_transport.cc). These return 0 or an errno.
  int Send(const uint8_t* data, size_t size);
  int StartDump(PendingRequest& request);
  void StartQueuedDumps();
  bool CanReadAckNow(const uint8_t* message, size_t size) const;
  AckResult ReadAckNow(uint32_t sequence);

  // Receiving and completing (nl_transport.cc).
  static void OnPoll(uv_poll_t* handle, int status, int events);
  static void OnDeferredRead(uv_timer_t* timer);
  static void ReadFromLoop(RouteSocket* socket, int pollStatus);
  void ReadAvailable(int pollStatus);
  void HandleReceiveError(int error);
  void ScheduleRead();
  ssize_t ReceiveDatagram(bool* multicast, uint32_t* sender, bool peekFirst);
  ssize_t ReceiveFromKernel();
  void Dispatch(const uint8_t* data, size_t size, bool multicast, uint32_t sender);
  void HandleReply(PendingRequest& request, const MessageView& message);
  void FinishDump(PendingRequest& request);
  void Complete(PendingRequest& request, Status status, int error);
  void CompleteAll(Status status, int error);
  void MarkRepliesMaybeLost();
  void DiscardStaleEvents();
  void FailLostReplies();
  void Deliver(bool overflow);
  CallOutcome CallReply(Napi::Env env, Completion& completion);

  // Lifetime (nl_open.cc).
  void UpdateRef();
  void CloseTransport();
  static void OnHandleClosed(uv_handle_t* handle);
  static void OnEnvTeardown(napi_async_cleanup_hook_handle handle, void* data);

  int fd_ = -1;
  uint32_t portId_ = 0;
  int dumpAttempts_ = 5;
  bool packetInfo_ = false;
  bool closed_ = false;
  PollState* poll_ = nullptr;
  std::unique_ptr<Napi::AsyncContext> asyncContext_;

  // Weak references: the functions are kept alive as properties of the JavaScript object,
  // so an unclosed socket without references can still be collected.
  Napi::FunctionReference onReply_;
  Napi::FunctionReference onEvent_;
  Napi::FunctionReference onOverflow_;

  RefMode refMode_ = RefMode::Default;
  bool holding_ = false;
  std::shared_ptr<MethodTarget> methodTarget_;

  RequestTable requests_;
  std::deque<uint32_t> queuedDumps_;
  uint32_t activeDump_ = 0;
  bool suspectLostReplies_ = false;
  // A recvmsg error seen where it could not be handled (ReadAckNow), kept for the next read.
  bool overflowSeen_ = false;
  int deferredError_ = 0;

  std::vector<uint8_t> receiveBuffer_;
  std::vector<uint8_t> events_;
  std::vector<Completion> completions_;
  std::vector<Completion> delivering_;
  BatchLayout batchLayout_;
  std::vector<uint32_t> batchSequences_;
  std::vector<uint8_t> batchAcknowledged_;
};

// Checks the options object of openRouteSocket; throws TypeError or RangeError.
SocketOptions ReadSocketOptions(Napi::Env env, const Napi::Object& options);

}  // namespace fstack_kni::netlink
