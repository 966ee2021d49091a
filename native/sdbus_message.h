// Conversion between JavaScript values and D-Bus message bodies.
//
// Method arguments: a signature made of basic types (y b n q i u x t d s o g) and arrays of
// them (as, au, ...). That covers the systemd Manager and Properties methods; other
// container types are rejected with a TypeError before anything is sent.
//
// Replies and signals are decoded completely:
//   y n q i u d -> number          x t -> bigint           b -> boolean
//   s o g -> string                h -> null (file descriptors are not negotiated)
//   ay -> Buffer                   a{..} -> plain object keyed by the key's string form
//   other arrays and structs -> Array                      v -> the contained value
#pragma once

#include <napi.h>

#include <stdexcept>
#include <string>

#include "sdbus_library.h"

namespace fstack_kni::sdbus {

// A message body that sd-bus could not read; `error` is a positive errno.
class DecodeError : public std::runtime_error {
 public:
  DecodeError(const std::string& message, int error) : std::runtime_error(message), error(error) {}
  int error;
};

// Appends `values` to `message` following `signature`. Throws Napi::TypeError or
// Napi::RangeError on a value that does not fit its type, and Napi::Error with the errno
// when sd-bus rejects a value (an invalid object path, for example).
void AppendArguments(Napi::Env env, const Library& library, Message* message,
                     const std::string& signature, const Napi::Array& values);

// Reads the whole body of `message` into an array, one element per top-level value.
// Throws DecodeError when sd-bus fails to read a value.
Napi::Array ReadArguments(Napi::Env env, const Library& library, Message* message);

// Builds the error object passed to JavaScript callbacks: { name, message, errno }, where
// name is a D-Bus error name and errno a positive errno value (0 when unknown).
Napi::Object MakeBusError(Napi::Env env, const std::string& name, const std::string& message,
                          int error);

// Builds the error object for a D-Bus error reply.
Napi::Object MakeBusError(Napi::Env env, const Library& library, Message* reply);

}  // namespace fstack_kni::sdbus
