// dlopen and dlsym of sd-bus; see sdbus_library.h.
#include "sdbus_library.h"

#include <dlfcn.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>

namespace fstack_kni::sdbus {

namespace {

struct LoadResult {
  std::unique_ptr<Library> library;
  std::string error;
};

// Resolves one symbol into `slot`; on failure records the first missing name.
template <typename Function>
void Resolve(void* handle, const char* symbol, Function*& slot, std::string* missing) {
  slot = reinterpret_cast<Function*>(dlsym(handle, symbol));
  if (slot == nullptr && missing->empty()) missing->assign(symbol);
}

LoadResult Open(const std::string& name) {
  LoadResult result;

  void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* reason = dlerror();
    result.error = "systemd is not available: " + name + " could not be loaded (" +
                   (reason != nullptr ? reason : "unknown dlopen error") + ")";
    return result;
  }

  auto library = std::make_unique<Library>();
  library->name = name;
  std::string missing;

  Resolve(handle, "sd_bus_new", library->bus_new, &missing);
  Resolve(handle, "sd_bus_set_address", library->bus_set_address, &missing);
  Resolve(handle, "sd_bus_set_bus_client", library->bus_set_bus_client, &missing);
  Resolve(handle, "sd_bus_start", library->bus_start, &missing);
  Resolve(handle, "sd_bus_open_system", library->bus_open_system, &missing);
  Resolve(handle, "sd_bus_open_user", library->bus_open_user, &missing);
  Resolve(handle, "sd_bus_get_address", library->bus_get_address, &missing);
  Resolve(handle, "sd_bus_get_fd", library->bus_get_fd, &missing);
  Resolve(handle, "sd_bus_get_events", library->bus_get_events, &missing);
  Resolve(handle, "sd_bus_get_timeout", library->bus_get_timeout, &missing);
  Resolve(handle, "sd_bus_process", library->bus_process, &missing);
  Resolve(handle, "sd_bus_is_open", library->bus_is_open, &missing);
  Resolve(handle, "sd_bus_close", library->bus_close, &missing);
  Resolve(handle, "sd_bus_unref", library->bus_unref, &missing);
  Resolve(handle, "sd_bus_call_async", library->bus_call_async, &missing);
  Resolve(handle, "sd_bus_add_match_async", library->bus_add_match_async, &missing);
  Resolve(handle, "sd_bus_slot_unref", library->slot_unref, &missing);
  Resolve(handle, "sd_bus_message_new_method_call", library->message_new_method_call, &missing);
  Resolve(handle, "sd_bus_message_unref", library->message_unref, &missing);
  Resolve(handle, "sd_bus_message_append_basic", library->message_append_basic, &missing);
  Resolve(handle, "sd_bus_message_open_container", library->message_open_container, &missing);
  Resolve(handle, "sd_bus_message_close_container", library->message_close_container, &missing);
  Resolve(handle, "sd_bus_message_peek_type", library->message_peek_type, &missing);
  Resolve(handle, "sd_bus_message_read_basic", library->message_read_basic, &missing);
  Resolve(handle, "sd_bus_message_read_array", library->message_read_array, &missing);
  Resolve(handle, "sd_bus_message_enter_container", library->message_enter_container, &missing);
  Resolve(handle, "sd_bus_message_exit_container", library->message_exit_container, &missing);
  Resolve(handle, "sd_bus_message_is_method_error", library->message_is_method_error, &missing);
  Resolve(handle, "sd_bus_message_get_error", library->message_get_error, &missing);
  Resolve(handle, "sd_bus_message_get_errno", library->message_get_errno, &missing);
  Resolve(handle, "sd_bus_message_get_path", library->message_get_path, &missing);
  Resolve(handle, "sd_bus_message_get_interface", library->message_get_interface, &missing);
  Resolve(handle, "sd_bus_message_get_member", library->message_get_member, &missing);
  Resolve(handle, "sd_bus_message_get_sender", library->message_get_sender, &missing);

  if (!missing.empty()) {
    // sd_bus_add_match_async, the newest function used, appeared in systemd 237.
    result.error = "systemd is not available: " + name + " has no " + missing +
                   " (sd-bus of systemd 237 or later is required)";
    dlclose(handle);
    return result;
  }

  result.library = std::move(library);
  return result;
}

}  // namespace

std::string LibraryName() {
  const char* name = std::getenv("FSTACK_KNI_LIBSYSTEMD");
  return name != nullptr && name[0] != '\0' ? name : kDefaultLibraryName;
}

const Library* LoadLibrary(std::string* error) {
  static std::mutex mutex;
  static std::map<std::string, LoadResult> results;

  std::string name = LibraryName();
  std::lock_guard<std::mutex> lock(mutex);

  auto found = results.find(name);
  if (found == results.end()) found = results.emplace(name, Open(name)).first;

  if (found->second.library == nullptr) {
    *error = found->second.error;
    return nullptr;
  }
  return found->second.library.get();
}

}  // namespace fstack_kni::sdbus
