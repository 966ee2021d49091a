#include "errno_error.h"

#include <string.h>

#include "module.h"

namespace fstack_kni {

std::string ErrnoCode(int error) {
  const char* name = strerrorname_np(error);
  return name != nullptr ? std::string(name) : "E" + std::to_string(error);
}

std::string ErrnoDescription(int error) {
  const char* description = strerrordesc_np(error);
  return description != nullptr ? std::string(description)
                                : "Unknown error " + std::to_string(error);
}

Napi::Error SystemError(Napi::Env env, const std::string& operation, int error, const char* syscall,
                        const std::string& path) {
  std::string code = ErrnoCode(error);
  std::string message = operation + ": " + syscall + "(" + path +
                        ") failed: " + ErrnoDescription(error) + " (" + code + ")";

  Napi::Error exception = Napi::Error::New(env, message);
  Napi::Object object = exception.Value();
  object.Set("errno", Napi::Number::New(env, error));
  object.Set("code", Napi::String::New(env, code));
  object.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) {
    object.Set("path", Napi::String::New(env, path));
  }
  return exception;
}

namespace {

// describeErrno(errno) -> { code, description }
Napi::Value DescribeErrno(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    throw Napi::TypeError::New(env, "describeErrno: errno must be a number");
  }
  int error = info[0].As<Napi::Number>().Int32Value();

  Napi::Object result = Napi::Object::New(env);
  result.Set("code", Napi::String::New(env, ErrnoCode(error)));
  result.Set("description", Napi::String::New(env, ErrnoDescription(error)));
  return result;
}

void ExportErrno(Napi::Env env, Napi::Object exports) {
  exports.Set("describeErrno", Napi::Function::New(env, DescribeErrno, "describeErrno"));
}

const Registrar registrar("errno", &ExportErrno);

}  // namespace

}  // namespace fstack_kni
