// Run-time binding to sd-bus, the D-Bus client in libsystemd.so.0.
//
// The library is opened with dlopen on first use, so the addon loads on hosts without
// libsystemd and only the D-Bus part reports it missing. The prototypes below are declared
// here from the sd-bus manual pages (sd_bus_new(3), sd_bus_call_async(3),
// sd_bus_add_match(3), sd_bus_message_read_basic(3), ...); libsystemd-dev is not needed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fstack_kni::sdbus {

// Opaque sd-bus objects (sd_bus, sd_bus_message, sd_bus_slot). Only pointers cross the
// boundary, so their layout never matters here.
struct Bus;
struct Message;
struct Slot;

// sd_bus_error. Its layout is part of libsystemd's public ABI: two strings and a flag.
struct Error {
  const char* name;
  const char* message;
  int need_free;
};

// sd_bus_message_handler_t: returns 0 to let other handlers see the message.
using MessageHandler = int (*)(Message* message, void* userdata, Error* ret_error);

// The sd-bus functions the addon uses, resolved with dlsym. All return negative errno
// values on failure, as documented in sd-bus(3).
struct Library {
  std::string name;

  int (*bus_new)(Bus** ret);
  int (*bus_set_address)(Bus* bus, const char* address);
  int (*bus_set_bus_client)(Bus* bus, int enabled);
  int (*bus_start)(Bus* bus);
  int (*bus_open_system)(Bus** ret);
  int (*bus_open_user)(Bus** ret);
  int (*bus_get_address)(Bus* bus, const char** address);
  int (*bus_get_fd)(Bus* bus);
  int (*bus_get_events)(Bus* bus);
  int (*bus_get_timeout)(Bus* bus, uint64_t* timeout_usec);
  int (*bus_process)(Bus* bus, Message** ret);
  int (*bus_is_open)(Bus* bus);
  void (*bus_close)(Bus* bus);
  Bus* (*bus_unref)(Bus* bus);

  int (*bus_call_async)(Bus* bus, Slot** slot, Message* message, MessageHandler callback,
                        void* userdata, uint64_t timeout_usec);
  int (*bus_add_match_async)(Bus* bus, Slot** slot, const char* match, MessageHandler callback,
                             MessageHandler install_callback, void* userdata);
  Slot* (*slot_unref)(Slot* slot);

  int (*message_new_method_call)(Bus* bus, Message** ret, const char* destination, const char* path,
                                 const char* interface, const char* member);
  Message* (*message_unref)(Message* message);
  int (*message_append_basic)(Message* message, char type, const void* value);
  int (*message_open_container)(Message* message, char type, const char* contents);
  int (*message_close_container)(Message* message);
  int (*message_peek_type)(Message* message, char* type, const char** contents);
  int (*message_read_basic)(Message* message, char type, void* value);
  int (*message_read_array)(Message* message, char type, const void** data, size_t* size);
  int (*message_enter_container)(Message* message, char type, const char* contents);
  int (*message_exit_container)(Message* message);
  int (*message_is_method_error)(Message* message, const char* name);
  const Error* (*message_get_error)(Message* message);
  int (*message_get_errno)(Message* message);
  const char* (*message_get_path)(Message* message);
  const char* (*message_get_interface)(Message* message);
  const char* (*message_get_member)(Message* message);
  const char* (*message_get_sender)(Message* message);
};

// Default library name, overridden by the FSTACK_KNI_LIBSYSTEMD environment variable.
inline constexpr const char* kDefaultLibraryName = "libsystemd.so.0";

// Returns the library name the next LoadLibrary call uses: $FSTACK_KNI_LIBSYSTEMD when set
// and not empty, else libsystemd.so.0.
std::string LibraryName();

// Returns the sd-bus functions of LibraryName(), opening the library on the first call for
// that name. On failure returns nullptr and stores "systemd is not available: ..." with the
// dlerror text in *error. Results are cached per name and the library is never closed, so
// the returned pointer stays valid for the life of the process. Thread-safe.
const Library* LoadLibrary(std::string* error);

}  // namespace fstack_kni::sdbus
