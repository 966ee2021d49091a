// Registration of the addon's parts. Each part (netlink sockets, namespaces, tun, D-Bus)
// lives in its own source file and adds its exports from a static registrar, so adding a
// part never touches addon.cc.
#pragma once

#include <napi.h>

namespace fstack_kni {

using ExportFunction = void (*)(Napi::Env env, Napi::Object exports);

// Adds `fn` to the list that Init runs when the addon loads. Call only from a
// namespace-scope static initializer (see Registrar).
void RegisterExports(const char* part, ExportFunction fn);

// Runs every registered export function; the addon entry point.
Napi::Object Init(Napi::Env env, Napi::Object exports);

struct Registrar {
  Registrar(const char* part, ExportFunction fn) { RegisterExports(part, fn); }
};

}  // namespace fstack_kni
