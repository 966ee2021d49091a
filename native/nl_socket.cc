// The JavaScript face of RouteSocket: options, request, batch, ref/unref and close.
#include "nl_socket.h"

#include <linux/netlink.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

#include "module.h"

namespace fstack_kni::netlink {

namespace {

// Limits of one sendmsg in a batch; larger batches are split into several datagrams.
// 64 KiB stays well below the default socket send buffer (net.core.wmem_default).
constexpr size_t kMaxBatchBytes = 64 * 1024;
constexpr size_t kMaxBatchMessages = 256;
constexpr int kMaxDumpAttempts = 1000;
// The kernel doubles the value and enforces its own minimum; this only rejects nonsense.
constexpr double kMinReceiveBuffer = 1024;
constexpr double kMaxReceiveBuffer = 1 << 30;

bool IsInteger(const Napi::Value& value) {
  if (!value.IsNumber()) {
    return false;
  }
  double number = value.As<Napi::Number>().DoubleValue();
  return std::isfinite(number) && std::trunc(number) == number;
}

/** The bytes of a request message. */
struct MessageBytes {
  uint8_t* data = nullptr;
  size_t size = 0;
};

// Returns the bytes of a Buffer that contains exactly one netlink message, or throws TypeError
// or RangeError. This runs on every request, so one Node-API call both checks the type and
// returns the bytes.
MessageBytes ReadMessage(Napi::Env env, napi_value value, const char* where) {
  MessageBytes message;
  void* data = nullptr;
  if (napi_get_buffer_info(env, value, &data, &message.size) != napi_ok) {
    throw Napi::TypeError::New(env, std::string(where) + ": message must be a Buffer");
  }
  message.data = static_cast<uint8_t*>(data);

  uint32_t length = 0;
  if (message.size >= kHeaderSize) {
    std::memcpy(&length, message.data, sizeof length);
  }
  if (message.size < kHeaderSize || length != message.size) {
    throw Napi::RangeError::New(env, std::string(where) +
                                         ": message must be one netlink message whose nlmsg_len (" +
                                         std::to_string(length) + ") equals its size (" +
                                         std::to_string(message.size) + " bytes)");
  }
  return message;
}

// Creates a function bound to `target`, which it keeps alive until it is collected.
template <Napi::Value (*Method)(const Napi::CallbackInfo&)>
Napi::Function BindMethod(Napi::Env env, const char* name,
                          const std::shared_ptr<MethodTarget>& target) {
  auto owner = std::make_unique<std::shared_ptr<MethodTarget>>(target);
  Napi::Function function = Napi::Function::New<Method>(env, name, owner.get());
  function.AddFinalizer(
      [](Napi::Env, std::shared_ptr<MethodTarget>* finalized) { delete finalized; }, owner.get());
  owner.release();
  return function;
}

// Writes sequence number and port id and adds the flags the socket relies on: a plain
// request always carries NLM_F_ACK, so every request ends with exactly one NLMSG_ERROR.
void StampHeader(uint8_t* message, uint32_t sequence, uint32_t portId, bool dump) {
  uint16_t flags;
  std::memcpy(&flags, message + 6, sizeof flags);
  flags |= NLM_F_REQUEST | (dump ? NLM_F_DUMP : NLM_F_ACK);
  std::memcpy(message + 6, &flags, sizeof flags);
  std::memcpy(message + 8, &sequence, sizeof sequence);
  std::memcpy(message + 12, &portId, sizeof portId);
}

bool HasEcho(const uint8_t* message) {
  uint16_t flags;
  std::memcpy(&flags, message + 6, sizeof flags);
  return (flags & NLM_F_ECHO) != 0;
}

Napi::FunctionReference ReadCallback(Napi::Env env, const Napi::Object& options, const char* key,
                                     bool required) {
  Napi::Value value = options.Get(key);
  if (value.IsUndefined() && !required) {
    return Napi::FunctionReference();
  }
  if (!value.IsFunction()) {
    throw Napi::TypeError::New(
        env, std::string("openRouteSocket: ") + key +
                 (required ? " must be a function" : " must be a function when given"));
  }
  return Napi::Weak(value.As<Napi::Function>());
}

}  // namespace

SocketOptions ReadSocketOptions(Napi::Env env, const Napi::Object& options) {
  SocketOptions settings;
  settings.netns = ReadNetnsTarget(env, options, "openRouteSocket");

  Napi::Value groups = options.Get("groups");
  if (!groups.IsUndefined()) {
    if (!groups.IsArray()) {
      throw Napi::TypeError::New(env, "openRouteSocket: groups must be an array of numbers");
    }
    Napi::Array list = groups.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); ++i) {
      Napi::Value group = list.Get(i);
      if (!IsInteger(group)) {
        throw Napi::TypeError::New(env, "openRouteSocket: groups must be integers");
      }
      double number = group.As<Napi::Number>().DoubleValue();
      if (number < 1 || number > UINT32_MAX) {
        throw Napi::RangeError::New(env, "openRouteSocket: group " + std::to_string(number) +
                                             " is out of range (1 to 2^32-1)");
      }
      settings.groups.push_back(static_cast<uint32_t>(number));
    }
  }

  Napi::Value receiveBuffer = options.Get("receiveBuffer");
  if (!receiveBuffer.IsUndefined()) {
    if (!IsInteger(receiveBuffer)) {
      throw Napi::TypeError::New(env, "openRouteSocket: receiveBuffer must be an integer");
    }
    double bytes = receiveBuffer.As<Napi::Number>().DoubleValue();
    if (bytes < kMinReceiveBuffer || bytes > kMaxReceiveBuffer) {
      throw Napi::RangeError::New(env, "openRouteSocket: receiveBuffer must be 1024 to 2^30");
    }
    settings.receiveBuffer = static_cast<int>(bytes);
  }

  Napi::Value dumpAttempts = options.Get("dumpAttempts");
  if (!dumpAttempts.IsUndefined()) {
    if (!IsInteger(dumpAttempts)) {
      throw Napi::TypeError::New(env, "openRouteSocket: dumpAttempts must be an integer");
    }
    double attempts = dumpAttempts.As<Napi::Number>().DoubleValue();
    if (attempts < 1 || attempts > kMaxDumpAttempts) {
      throw Napi::RangeError::New(env, "openRouteSocket: dumpAttempts must be 1 to 1000");
    }
    settings.dumpAttempts = static_cast<int>(attempts);
  }
  return settings;
}

Napi::Function RouteSocket::DefineClass(Napi::Env env) {
  return ObjectWrap<RouteSocket>::DefineClass(
      env, "RouteSocket",
      {
          InstanceAccessor<&RouteSocket::GetPortId>("portId"),
          InstanceMethod<&RouteSocket::Pending>("pending"),
          InstanceMethod<&RouteSocket::HasRef>("hasRef"),
          InstanceMethod<&RouteSocket::JsRef>("ref"),
          InstanceMethod<&RouteSocket::JsUnref>("unref"),
          InstanceMethod<&RouteSocket::Close>("close"),
      });
}

RouteSocket::RouteSocket(const Napi::CallbackInfo& info) : ObjectWrap<RouteSocket>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    throw Napi::TypeError::New(env, "openRouteSocket(options: object)");
  }
  Napi::Object options = info[0].As<Napi::Object>();
  SocketOptions settings = ReadSocketOptions(env, options);
  onReply_ = ReadCallback(env, options, "onReply", true);
  onEvent_ = ReadCallback(env, options, "onEvent", false);
  onOverflow_ = ReadCallback(env, options, "onOverflow", false);

  // Properties of the JavaScript object keep the callbacks alive, because onReply_ and the
  // others are weak references.
  Napi::Object self = info.This().As<Napi::Object>();
  std::vector<Napi::PropertyDescriptor> properties;
  properties.push_back(Napi::PropertyDescriptor::Value("onReply", onReply_.Value()));
  if (!onEvent_.IsEmpty()) {
    properties.push_back(Napi::PropertyDescriptor::Value("onEvent", onEvent_.Value()));
  }
  if (!onOverflow_.IsEmpty()) {
    properties.push_back(Napi::PropertyDescriptor::Value("onOverflow", onOverflow_.Value()));
  }
  self.DefineProperties(properties);
  DefineBoundMethods(env, self);
  asyncContext_ = std::make_unique<Napi::AsyncContext>(env, "fstack_kni.RouteSocket");

  Open(env, settings);
  UpdateRef();
}

void RouteSocket::DefineBoundMethods(Napi::Env env, Napi::Object self) {
  methodTarget_ = std::make_shared<MethodTarget>();
  methodTarget_->socket = this;
  self.DefineProperties({
      Napi::PropertyDescriptor::Value(
          "request", BindMethod<&RouteSocket::CallRequest>(env, "request", methodTarget_)),
      Napi::PropertyDescriptor::Value(
          "batch", BindMethod<&RouteSocket::CallBatch>(env, "batch", methodTarget_)),
  });
}

RouteSocket& RouteSocket::Target(const Napi::CallbackInfo& info) {
  auto* target = static_cast<std::shared_ptr<MethodTarget>*>(info.Data());
  if ((*target)->socket == nullptr) {
    throw Napi::Error::New(info.Env(), "the netlink socket object was collected");
  }
  return *(*target)->socket;
}

Napi::Value RouteSocket::CallRequest(const Napi::CallbackInfo& info) {
  return Target(info).Request(info);
}

Napi::Value RouteSocket::CallBatch(const Napi::CallbackInfo& info) {
  return Target(info).Batch(info);
}

Napi::Value RouteSocket::GetPortId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), portId_);
}

// request(message, dump) -> sequence number; 0 when the request already completed with a
// plain ack (onReply is then not called); -errno when sendmsg failed.
Napi::Value RouteSocket::Request(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool dump = false;
  if (info.Length() < 2 || napi_get_value_bool(env, info[1], &dump) != napi_ok) {
    throw Napi::TypeError::New(env, "request(message: Buffer, dump: boolean)");
  }
  MessageBytes message = ReadMessage(env, info[0], "request");
  if (closed_) {
    throw Napi::Error::New(env, "request: the netlink socket is closed");
  }

  uint8_t* data = message.data;
  size_t size = message.size;
  PendingRequest& request = requests_.Allocate();
  uint32_t sequence = request.sequence;
  request.dump = dump;
  request.echo = HasEcho(data);
  StampHeader(data, sequence, portId_, dump);

  int error = 0;
  if (!dump) {
    bool readAck = requests_.size() == 1 && CanReadAckNow(data, size);
    error = Send(data, size);
    if (error == 0 && readAck && ReadAckNow(sequence) == AckResult::Acknowledged) {
      requests_.Release(request);
      return Napi::Number::New(env, 0);
    }
  } else {
    // Kept for the queue and for repeating an interrupted dump.
    request.dumpRequest.assign(data, data + size);
    if (activeDump_ == 0) {
      error = StartDump(request);
    } else {
      queuedDumps_.push_back(sequence);
    }
  }
  if (error != 0) {
    requests_.Release(request);
    return Napi::Number::New(env, -error);
  }

  UpdateRef();
  return Napi::Number::New(env, sequence);
}

// batch(messages) -> null when every message already completed with a plain ack, else per
// message a sequence number, 0 when it already completed with a plain ack, or -errno when
// its sendmsg failed. `messages` contains the requests back to back, each at a 4-byte
// aligned offset. They are stamped in place and go out in as few datagrams as the limits
// above allow. After a failed sendmsg the remaining messages are not sent
// either, so a later message never takes effect when an earlier one could not be sent.
Napi::Value RouteSocket::Batch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  void* bytes = nullptr;
  size_t size = 0;
  if (info.Length() < 1 || napi_get_buffer_info(env, info[0], &bytes, &size) != napi_ok) {
    throw Napi::TypeError::New(env, "batch(messages: Buffer)");
  }
  uint8_t* data = static_cast<uint8_t*>(bytes);
  BatchLayout& layout = batchLayout_;
  if (!layout.Parse(data, size)) {
    throw Napi::RangeError::New(
        env,
        "batch: messages must be netlink messages back to back, each at a 4-byte aligned "
        "offset, but the message at offset " +
            std::to_string(layout.malformedOffset()) + " of " + std::to_string(size) +
            " bytes is truncated or its nlmsg_len is invalid");
  }
  if (closed_) {
    throw Napi::Error::New(env, "batch: the netlink socket is closed");
  }
  size_t count = layout.count();

  // Acks are read after each sendmsg while they come in order (see CanReadAckNow), which
  // also keeps a long batch from filling the receive buffer.
  bool readingAcks = requests_.size() == 0;
  for (size_t i = 0; i < count && readingAcks; ++i) {
    readingAcks = CanReadAckNow(data + layout.offset(i), layout.offset(i + 1) - layout.offset(i));
  }

  // Kept between calls, like batchLayout_, so a batch allocates nothing once they have grown.
  std::vector<uint32_t>& sequences = batchSequences_;
  std::vector<uint8_t>& acknowledged = batchAcknowledged_;
  sequences.resize(count);
  acknowledged.assign(count, 0);
  for (size_t i = 0; i < count; ++i) {
    PendingRequest& request = requests_.Allocate();
    sequences[i] = request.sequence;
    request.echo = HasEcho(data + layout.offset(i));
    StampHeader(data + layout.offset(i), request.sequence, portId_, false);
  }

  size_t nextAck = 0;
  int error = 0;
  size_t failedFrom = count;
  for (size_t first = 0; first < count;) {
    size_t end = layout.DatagramEnd(first, kMaxBatchBytes, kMaxBatchMessages);
    error = Send(data + layout.offset(first), layout.offset(end) - layout.offset(first));
    if (error != 0) {
      failedFrom = first;
      break;
    }
    for (; readingAcks && nextAck < end; ++nextAck) {
      acknowledged[nextAck] = ReadAckNow(sequences[nextAck]) == AckResult::Acknowledged ? 1 : 0;
      readingAcks = acknowledged[nextAck] != 0;
    }
    first = end;
  }

  // The common case needs no array: every message sent and acknowledged.
  if (count > 0 && failedFrom == count && nextAck == count && acknowledged[count - 1] != 0) {
    for (size_t i = 0; i < count; ++i) {
      requests_.Release(*requests_.Find(sequences[i]));
    }
    UpdateRef();
    return env.Null();
  }

  Napi::Float64Array result = Napi::Float64Array::New(env, count);
  for (size_t i = 0; i < count; ++i) {
    if (i >= failedFrom) {
      requests_.Release(*requests_.Find(sequences[i]));
      result[i] = -error;
    } else if (acknowledged[i] != 0) {
      requests_.Release(*requests_.Find(sequences[i]));
      result[i] = 0;
    } else {
      result[i] = sequences[i];
    }
  }
  UpdateRef();
  return result;
}

Napi::Value RouteSocket::Pending(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(requests_.size()));
}

Napi::Value RouteSocket::HasRef(const Napi::CallbackInfo& info) {
  bool referenced =
      poll_ != nullptr && uv_has_ref(reinterpret_cast<const uv_handle_t*>(&poll_->poll));
  return Napi::Boolean::New(info.Env(), referenced);
}

void RouteSocket::JsRef(const Napi::CallbackInfo& info) {
  refMode_ = RefMode::Ref;
  UpdateRef();
}

void RouteSocket::JsUnref(const Napi::CallbackInfo& info) {
  refMode_ = RefMode::Unref;
  UpdateRef();
}

// Closes the socket and completes every pending request with Status::Closed before
// returning. Closing again does nothing.
void RouteSocket::Close(const Napi::CallbackInfo& info) {
  if (closed_) {
    return;
  }
  closed_ = true;
  CloseTransport();
  events_.clear();

  CompleteAll(Status::Closed, ECANCELED);
  std::vector<Completion> closing;
  closing.swap(completions_);
  for (Completion& completion : closing) {
    CallReply(info.Env(), completion);
  }
  UpdateRef();
}

namespace {

// openRouteSocket(options) -> RouteSocket
Napi::Value OpenRouteSocket(const Napi::CallbackInfo& info) {
  auto* constructor = static_cast<Napi::FunctionReference*>(info.Data());
  return constructor->New({info.Length() > 0 ? info[0] : info.Env().Undefined()});
}

void ExportNetlink(Napi::Env env, Napi::Object exports) {
  auto* constructor = new Napi::FunctionReference(Napi::Persistent(RouteSocket::DefineClass(env)));
  env.AddCleanupHook([constructor] { delete constructor; });
  exports.Set("openRouteSocket",
              Napi::Function::New(env, OpenRouteSocket, "openRouteSocket", constructor));
}

const Registrar registrar("netlink", &ExportNetlink);

}  // namespace

}  // namespace fstack_kni::netlink
