// Conversion between JavaScript values and D-Bus message bodies; see sdbus_message.h.
#include "sdbus_message.h"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace fstack_kni::sdbus {

namespace {

// Largest integer a double represents exactly (Number.MAX_SAFE_INTEGER).
constexpr double kMaxSafeInteger = 9007199254740991.0;

bool IsBasicType(char type) { return type != '\0' && std::strchr("ybnqiuxtdsog", type) != nullptr; }

// Splits a method signature into complete types, accepting only basic types and arrays of
// basic types. Throws TypeError on anything else.
std::vector<std::string> SplitSignature(Napi::Env env, const std::string& signature) {
  std::vector<std::string> types;
  for (size_t i = 0; i < signature.size(); ++i) {
    char type = signature[i];
    if (IsBasicType(type)) {
      types.emplace_back(1, type);
    } else if (type == 'a' && i + 1 < signature.size() && IsBasicType(signature[i + 1])) {
      types.push_back(signature.substr(i, 2));
      ++i;
    } else {
      throw Napi::TypeError::New(env, "unsupported D-Bus signature \"" + signature +
                                          "\": only basic types and arrays of them are accepted");
    }
  }
  return types;
}

void ThrowAppendFailure(Napi::Env env, int result, char type, const std::string& where) {
  Napi::Error error =
      Napi::Error::New(env, "cannot append " + where + " of D-Bus type '" + std::string(1, type) +
                                "': " + std::strerror(-result));
  error.Set("errno", Napi::Number::New(env, -result));
  throw error;
}

// Returns a JavaScript number as an integer within [min, max], or throws.
int64_t SmallInteger(Napi::Env env, const Napi::Value& value, int64_t min, int64_t max,
                     const std::string& where) {
  if (!value.IsNumber()) throw Napi::TypeError::New(env, where + " must be a number");
  double number = value.As<Napi::Number>().DoubleValue();
  if (std::trunc(number) != number || number < static_cast<double>(min) ||
      number > static_cast<double>(max)) {
    throw Napi::RangeError::New(env, where + " must be an integer from " + std::to_string(min) +
                                         " to " + std::to_string(max));
  }
  return static_cast<int64_t>(number);
}

int64_t Int64Argument(Napi::Env env, const Napi::Value& value, const std::string& where) {
  if (value.IsBigInt()) {
    bool lossless = false;
    int64_t result = value.As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless) throw Napi::RangeError::New(env, where + " does not fit in 64 signed bits");
    return result;
  }
  return SmallInteger(env, value, -static_cast<int64_t>(kMaxSafeInteger),
                      static_cast<int64_t>(kMaxSafeInteger), where);
}

uint64_t Uint64Argument(Napi::Env env, const Napi::Value& value, const std::string& where) {
  if (value.IsBigInt()) {
    bool lossless = false;
    uint64_t result = value.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw Napi::RangeError::New(env, where + " does not fit in 64 unsigned bits");
    return result;
  }
  return static_cast<uint64_t>(
      SmallInteger(env, value, 0, static_cast<int64_t>(kMaxSafeInteger), where));
}

void AppendBasic(Napi::Env env, const Library& library, Message* message, char type,
                 const Napi::Value& value, const std::string& where) {
  int result = 0;

  switch (type) {
    case 'y': {
      uint8_t v = static_cast<uint8_t>(SmallInteger(env, value, 0, UINT8_MAX, where));
      result = library.message_append_basic(message, type, &v);
      break;
    }
    case 'b': {
      if (!value.IsBoolean()) throw Napi::TypeError::New(env, where + " must be a boolean");
      int v = value.As<Napi::Boolean>().Value() ? 1 : 0;
      result = library.message_append_basic(message, type, &v);
      break;
    }
    case 'n': {
      int16_t v = static_cast<int16_t>(SmallInteger(env, value, INT16_MIN, INT16_MAX, where));
      result = library.message_append_basic(message, type, &v);
      break;
    }
    case 'q': {
      uint16_t v = static_cast<uint16_t>(SmallInteger(env, value, 0, UINT16_MAX, where));
      result = library.message_append_basic(message, type, &v);
      break;
    }
    case 'i': {
      int32_t v = static_cast<int32_t>(SmallInteger(env, value, INT32_MIN, INT32_MAX, where));
      result = library.message_append_basic(message, type, &v);
      break;
    }
    case 'u': {
      uint32_t v = static_cast<uint32_t>(SmallInteger(env, value, 0, UINT32_MAX, where));
      result = library.message_append_basic(message, type, &v);
      break;
    }
    case 'x': {
      int64_t v = Int64Argument(env, value, where);
      result = library.message_append_basic(message, type, &v);
      break;
    }
    case 't': {
      uint64_t v = Uint64Argument(env, value, where);
      result = library.message_append_basic(message, type, &v);
      break;
    }
    case 'd': {
      if (!value.IsNumber()) throw Napi::TypeError::New(env, where + " must be a number");
      double v = value.As<Napi::Number>().DoubleValue();
      result = library.message_append_basic(message, type, &v);
      break;
    }
    default: {
      // 's', 'o' and 'g'; sd-bus checks UTF-8, object path and signature syntax.
      if (!value.IsString()) throw Napi::TypeError::New(env, where + " must be a string");
      std::string v = value.As<Napi::String>().Utf8Value();
      result = library.message_append_basic(message, type, v.c_str());
      break;
    }
  }

  if (result < 0) ThrowAppendFailure(env, result, type, where);
}

// Reads values out of one message, keeping the environment and library at hand.
class Reader {
 public:
  Reader(Napi::Env env, const Library& library, Message* message)
      : env_(env), library_(library), message_(message) {}

  // Reads values until the end of the current container (or of the body).
  Napi::Array ReadSequence() {
    Napi::Array items = Napi::Array::New(env_);
    for (uint32_t index = 0;; ++index) {
      char type = 0;
      const char* contents = nullptr;
      if (Check(library_.message_peek_type(message_, &type, &contents), "type") == 0) break;
      items.Set(index, ReadValue(type, contents));
    }
    return items;
  }

 private:
  int Check(int result, const char* item) {
    if (result < 0) {
      throw DecodeError(std::string("cannot read D-Bus ") + item + ": " + std::strerror(-result),
                        -result);
    }
    return result;
  }

  Napi::Value ReadValue(char type, const char* contents) {
    switch (type) {
      case 'a':
        return ReadArray(contents);
      case 'r': {
        Check(library_.message_enter_container(message_, 'r', contents), "struct");
        Napi::Array fields = ReadSequence();
        Check(library_.message_exit_container(message_), "struct");
        return fields;
      }
      case 'v': {
        Check(library_.message_enter_container(message_, 'v', contents), "variant");
        char inner = 0;
        const char* inner_contents = nullptr;
        if (Check(library_.message_peek_type(message_, &inner, &inner_contents), "variant") == 0) {
          throw DecodeError("cannot read D-Bus variant: it is empty", EBADMSG);
        }
        Napi::Value value = ReadValue(inner, inner_contents);
        Check(library_.message_exit_container(message_), "variant");
        return value;
      }
      default:
        return ReadBasic(type);
    }
  }

  Napi::Value ReadArray(const char* contents) {
    if (std::strcmp(contents, "y") == 0) {
      const void* data = nullptr;
      size_t size = 0;
      Check(library_.message_read_array(message_, 'y', &data, &size), "byte array");
      if (size == 0) return Napi::Buffer<uint8_t>::New(env_, 0);
      return Napi::Buffer<uint8_t>::Copy(env_, static_cast<const uint8_t*>(data), size);
    }

    Check(library_.message_enter_container(message_, 'a', contents), "array");
    Napi::Value result = contents[0] == '{' ? ReadDictEntries() : ReadSequence();
    Check(library_.message_exit_container(message_), "array");
    return result;
  }

  Napi::Object ReadDictEntries() {
    Napi::Object entries = Napi::Object::New(env_);
    for (;;) {
      char type = 0;
      const char* contents = nullptr;
      if (Check(library_.message_peek_type(message_, &type, &contents), "dict entry") == 0) break;
      Check(library_.message_enter_container(message_, 'e', contents), "dict entry");

      char key_type = 0;
      const char* key_contents = nullptr;
      Check(library_.message_peek_type(message_, &key_type, &key_contents), "dict key");
      Napi::String key = ReadBasic(key_type).ToString();

      char value_type = 0;
      const char* value_contents = nullptr;
      Check(library_.message_peek_type(message_, &value_type, &value_contents), "dict value");
      entries.Set(key, ReadValue(value_type, value_contents));

      Check(library_.message_exit_container(message_), "dict entry");
    }
    return entries;
  }

  Napi::Value ReadBasic(char type) {
    switch (type) {
      case 'y': {
        uint8_t v = 0;
        Check(library_.message_read_basic(message_, type, &v), "byte");
        return Napi::Number::New(env_, v);
      }
      case 'b': {
        int v = 0;
        Check(library_.message_read_basic(message_, type, &v), "boolean");
        return Napi::Boolean::New(env_, v != 0);
      }
      case 'n': {
        int16_t v = 0;
        Check(library_.message_read_basic(message_, type, &v), "int16");
        return Napi::Number::New(env_, v);
      }
      case 'q': {
        uint16_t v = 0;
        Check(library_.message_read_basic(message_, type, &v), "uint16");
        return Napi::Number::New(env_, v);
      }
      case 'i': {
        int32_t v = 0;
        Check(library_.message_read_basic(message_, type, &v), "int32");
        return Napi::Number::New(env_, v);
      }
      case 'u': {
        uint32_t v = 0;
        Check(library_.message_read_basic(message_, type, &v), "uint32");
        return Napi::Number::New(env_, v);
      }
      case 'x': {
        int64_t v = 0;
        Check(library_.message_read_basic(message_, type, &v), "int64");
        return Napi::BigInt::New(env_, v);
      }
      case 't': {
        uint64_t v = 0;
        Check(library_.message_read_basic(message_, type, &v), "uint64");
        return Napi::BigInt::New(env_, v);
      }
      case 'd': {
        double v = 0;
        Check(library_.message_read_basic(message_, type, &v), "double");
        return Napi::Number::New(env_, v);
      }
      case 's':
      case 'o':
      case 'g': {
        const char* v = nullptr;
        Check(library_.message_read_basic(message_, type, &v), "string");
        return Napi::String::New(env_, v != nullptr ? v : "");
      }
      case 'h': {
        // The connection never negotiates fd passing, so this only skips the value.
        int v = -1;
        Check(library_.message_read_basic(message_, type, &v), "unix fd");
        return env_.Null();
      }
      default:
        throw DecodeError(std::string("cannot read D-Bus type '") + type + "': not supported",
                          EBADMSG);
    }
  }

  Napi::Env env_;
  const Library& library_;
  Message* message_;
};

}  // namespace

void AppendArguments(Napi::Env env, const Library& library, Message* message,
                     const std::string& signature, const Napi::Array& values) {
  std::vector<std::string> types = SplitSignature(env, signature);
  if (types.size() != values.Length()) {
    throw Napi::TypeError::New(env, "signature \"" + signature + "\" takes " +
                                        std::to_string(types.size()) + " arguments, got " +
                                        std::to_string(values.Length()));
  }

  for (uint32_t i = 0; i < types.size(); ++i) {
    const std::string& type = types[i];
    std::string where = "argument " + std::to_string(i + 1);
    Napi::Value value = values.Get(i);

    if (type.size() == 1) {
      AppendBasic(env, library, message, type[0], value, where);
      continue;
    }

    if (!value.IsArray()) throw Napi::TypeError::New(env, where + " must be an array");
    Napi::Array items = value.As<Napi::Array>();
    std::string element = type.substr(1);
    int result = library.message_open_container(message, 'a', element.c_str());
    if (result < 0) ThrowAppendFailure(env, result, 'a', where);
    for (uint32_t j = 0; j < items.Length(); ++j) {
      AppendBasic(env, library, message, element[0], items.Get(j),
                  where + " element " + std::to_string(j));
    }
    result = library.message_close_container(message);
    if (result < 0) ThrowAppendFailure(env, result, 'a', where);
  }
}

Napi::Array ReadArguments(Napi::Env env, const Library& library, Message* message) {
  return Reader(env, library, message).ReadSequence();
}

Napi::Object MakeBusError(Napi::Env env, const std::string& name, const std::string& message,
                          int error) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("name", name);
  result.Set("message", message);
  result.Set("errno", Napi::Number::New(env, error));
  return result;
}

Napi::Object MakeBusError(Napi::Env env, const Library& library, Message* reply) {
  const Error* error = library.message_get_error(reply);
  std::string name = error != nullptr && error->name != nullptr
                         ? error->name
                         : "org.freedesktop.DBus.Error.Failed";
  std::string text = error != nullptr && error->message != nullptr ? error->message : "";
  return MakeBusError(env, name, text, library.message_get_errno(reply));
}

}  // namespace fstack_kni::sdbus
