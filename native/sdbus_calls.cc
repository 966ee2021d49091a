// Method calls and signal matches on a bus connection; see sdbus_connection.h.
#include <cerrno>
#include <cmath>
#include <string>

#include "sdbus_connection.h"
#include "sdbus_message.h"

namespace fstack_kni::sdbus {

namespace {

// D-Bus error name given to a reply or signal whose body could not be decoded.
constexpr const char* kInconsistentMessage = "org.freedesktop.DBus.Error.InconsistentMessage";

std::string StringArgument(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (!info[index].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string("call: ") + name + " must be a string");
  }
  return info[index].As<Napi::String>().Utf8Value();
}

struct MessageDeleter {
  const Library* library;
  void operator()(Message* message) const { library->message_unref(message); }
};

// Reports an exception caught inside an sd-bus handler, which must not unwind through C.
void ReportHandlerException(Napi::Env env, const Napi::Error& error) {
  napi_fatal_exception(env, error.Value());
}

}  // namespace

// call(destination, path, interface, member, signature, args, timeoutMs, callback) -> id
Napi::Value Connection::Call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ThrowIfUnusable(env);

  if (info.Length() < 8) throw Napi::TypeError::New(env, "call: 8 arguments expected");
  std::string destination;
  bool has_destination = !info[0].IsNull() && !info[0].IsUndefined();
  if (has_destination) destination = StringArgument(info, 0, "destination");
  std::string path = StringArgument(info, 1, "path");
  std::string interface = StringArgument(info, 2, "interface");
  std::string member = StringArgument(info, 3, "member");
  std::string signature = StringArgument(info, 4, "signature");
  if (!info[5].IsArray()) throw Napi::TypeError::New(env, "call: args must be an array");
  if (!info[6].IsNumber()) throw Napi::TypeError::New(env, "call: timeoutMs must be a number");
  double timeout_ms = info[6].As<Napi::Number>().DoubleValue();
  if (!(timeout_ms >= 0) || !std::isfinite(timeout_ms)) {
    throw Napi::RangeError::New(env, "call: timeoutMs must be a finite number >= 0");
  }
  if (!info[7].IsFunction()) throw Napi::TypeError::New(env, "call: callback must be a function");

  Message* raw = nullptr;
  int result =
      library_->message_new_method_call(bus_, &raw, has_destination ? destination.c_str() : nullptr,
                                        path.c_str(), interface.c_str(), member.c_str());
  if (result < 0) {
    throw ErrnoError(
        env, "cannot create the method call " + interface + "." + member + " on " + path, result);
  }
  std::unique_ptr<Message, MessageDeleter> message(raw, MessageDeleter{library_});
  AppendArguments(env, *library_, message.get(), signature, info[5].As<Napi::Array>());

  auto call = std::make_unique<PendingCall>(env, info[7].As<Napi::Function>());
  call->owner = this;
  // 0 selects sd-bus's default reply timeout (25 s).
  uint64_t timeout_usec = static_cast<uint64_t>(timeout_ms * 1000.0);
  result =
      library_->bus_call_async(bus_, &call->slot, message.get(), OnReply, call.get(), timeout_usec);
  if (result < 0) throw ErrnoError(env, "cannot send " + interface + "." + member, result);

  uint32_t id = next_call_id_++;
  call->id = id;
  calls_.emplace(id, std::move(call));
  Ref();

  if (!dispatching_) Rearm();
  return Napi::Number::New(env, id);
}

// cancel(id): drops a pending call without running its callback. Unknown ids (calls that
// already completed) are ignored, and sd-bus discards a reply that arrives later.
Napi::Value Connection::Cancel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "cancel: id must be a number");

  auto found = calls_.find(info[0].As<Napi::Number>().Uint32Value());
  if (found == calls_.end()) return env.Undefined();
  std::unique_ptr<PendingCall> call = std::move(found->second);
  calls_.erase(found);

  library_->slot_unref(call->slot);
  call->slot = nullptr;
  Unref();
  if (!dispatching_) UpdateLoopRef();
  return env.Undefined();
}

Napi::Object Connection::LostReplyError(Napi::Env env) const {
  // While the connection closes, sd-bus fails each pending call with a synthetic
  // org.freedesktop.DBus.Error.NoReply "Connection terminated" (errno ETIMEDOUT). That is
  // also the name of a reply timeout, so report it as the disconnect it is.
  return MakeBusError(env, "org.freedesktop.DBus.Error.Disconnected",
                      "the connection to " + address_ + " was lost before the reply arrived",
                      ECONNRESET);
}

int Connection::OnReply(Message* reply, void* userdata, Error* ret_error) {
  auto* call = static_cast<PendingCall*>(userdata);
  Connection* self = call->owner;
  Napi::Env env = self->Env();

  // Taking the call out of the map ends our ownership of the slot; sd-bus holds its own
  // reference until this handler returns.
  auto found = self->calls_.find(call->id);
  if (found == self->calls_.end()) return 0;
  std::unique_ptr<PendingCall> owned = std::move(found->second);
  self->calls_.erase(found);
  self->library_->slot_unref(owned->slot);
  owned->slot = nullptr;

  try {
    Napi::HandleScope scope(env);
    Napi::Value error = env.Null();
    Napi::Value values = env.Undefined();
    if (self->library_->message_is_method_error(reply, nullptr) > 0) {
      error = self->library_->bus_is_open(self->bus_) > 0
                  ? MakeBusError(env, *self->library_, reply)
                  : self->LostReplyError(env);
    } else {
      try {
        values = ReadArguments(env, *self->library_, reply);
      } catch (const DecodeError& decode) {
        error = MakeBusError(env, kInconsistentMessage, decode.what(), decode.error);
      }
    }
    self->Invoke(owned->callback, owned->context, {error, values});
  } catch (const Napi::Error& error) {
    ReportHandlerException(env, error);
  }

  self->Unref();
  return 0;
}

// addMatch(rule, onSignal, onInstalled?) -> id
Napi::Value Connection::AddMatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ThrowIfUnusable(env);

  if (!info[0].IsString()) throw Napi::TypeError::New(env, "addMatch: rule must be a string");
  if (!info[1].IsFunction())
    throw Napi::TypeError::New(env, "addMatch: onSignal must be a function");
  bool has_on_installed = info.Length() > 2 && info[2].IsFunction();
  if (info.Length() > 2 && !info[2].IsUndefined() && !has_on_installed) {
    throw Napi::TypeError::New(env, "addMatch: onInstalled must be a function");
  }
  std::string rule = info[0].As<Napi::String>().Utf8Value();

  auto match = std::make_unique<Match>(env, info[1].As<Napi::Function>());
  match->owner = this;
  if (has_on_installed) match->on_installed = Napi::Persistent(info[2].As<Napi::Function>());

  // On a bus connection the rule is sent to the daemon with AddMatch; an install handler
  // keeps a rejected rule from closing the connection. A direct connection only filters
  // locally, the rule is active at once and sd-bus never calls the install handler.
  int result = library_->bus_add_match_async(bus_, &match->slot, rule.c_str(), OnSignal,
                                             direct_ ? nullptr : OnMatchInstalled, match.get());
  if (result < 0) throw ErrnoError(env, "cannot add the match rule \"" + rule + "\"", result);

  if (!direct_) {
    match->installing = true;
    ++installing_;
    Ref();
  }
  uint32_t id = next_match_id_++;
  matches_.emplace(id, std::move(match));

  if (!dispatching_) Rearm();
  return Napi::Number::New(env, id);
}

// removeMatch(id): unknown ids are ignored.
Napi::Value Connection::RemoveMatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "removeMatch: id must be a number");

  auto found = matches_.find(info[0].As<Napi::Number>().Uint32Value());
  if (found == matches_.end()) return env.Undefined();
  std::unique_ptr<Match> match = std::move(found->second);
  matches_.erase(found);

  // On a bus connection this queues RemoveMatch to the daemon.
  library_->slot_unref(match->slot);
  match->slot = nullptr;
  if (match->installing) {
    --installing_;
    Unref();
  }

  if (dispatching_) {
    // Its handler may be the one running now.
    retired_matches_.push_back(std::move(match));
  } else {
    Rearm();
  }
  return env.Undefined();
}

int Connection::OnSignal(Message* signal, void* userdata, Error* ret_error) {
  auto* match = static_cast<Match*>(userdata);
  Connection* self = match->owner;
  const Library& library = *self->library_;
  Napi::Env env = self->Env();

  try {
    Napi::HandleScope scope(env);
    Napi::Object event = Napi::Object::New(env);
    auto set_string = [&](const char* key, const char* value) {
      event.Set(key,
                value != nullptr ? Napi::Value(Napi::String::New(env, value)) : env.Undefined());
    };
    set_string("path", library.message_get_path(signal));
    set_string("interface", library.message_get_interface(signal));
    set_string("member", library.message_get_member(signal));
    set_string("sender", library.message_get_sender(signal));
    try {
      event.Set("values", ReadArguments(env, library, signal));
    } catch (const DecodeError& decode) {
      event.Set("values", Napi::Array::New(env));
      event.Set("error", MakeBusError(env, kInconsistentMessage, decode.what(), decode.error));
    }
    self->Invoke(match->on_signal, match->context, {event});
  } catch (const Napi::Error& error) {
    ReportHandlerException(env, error);
  }
  return 0;
}

int Connection::OnMatchInstalled(Message* reply, void* userdata, Error* ret_error) {
  auto* match = static_cast<Match*>(userdata);
  Connection* self = match->owner;
  Napi::Env env = self->Env();

  match->installing = false;
  --self->installing_;

  try {
    Napi::HandleScope scope(env);
    Napi::Value error = env.Null();
    if (self->library_->message_is_method_error(reply, nullptr) > 0) {
      error = MakeBusError(env, *self->library_, reply);
    }
    self->Invoke(match->on_installed, match->context, {error});
  } catch (const Napi::Error& error) {
    ReportHandlerException(env, error);
  }

  self->Unref();
  return 0;
}

}  // namespace fstack_kni::sdbus
