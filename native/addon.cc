// Entry point of the fstack_kni addon: runs every part's export function.
#include <utility>
#include <vector>

#include "module.h"

namespace fstack_kni {

namespace {

std::vector<std::pair<const char*, ExportFunction>>& Parts() {
  // Function-local so it exists before any registrar in another file runs.
  static std::vector<std::pair<const char*, ExportFunction>> parts;
  return parts;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Napi::Array names = Napi::Array::New(env);
  uint32_t i = 0;
  for (const auto& [part, fn] : Parts()) {
    fn(env, exports);
    names.Set(i++, Napi::String::New(env, part));
  }
  exports.Set("parts", names);
  return exports;
}

void RegisterExports(const char* part, ExportFunction fn) { Parts().emplace_back(part, fn); }

}  // namespace fstack_kni

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return fstack_kni::Init(env, exports);
}

NODE_API_MODULE(fstack_kni, InitAddon)
