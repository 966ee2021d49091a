// System errors as JavaScript exceptions, shared by the netlink, netns and tun parts.
#pragma once

#include <napi.h>

#include <string>

namespace fstack_kni {

/** The errno name ("EEXIST"), or "E<number>" for a number glibc does not know. */
std::string ErrnoCode(int error);

/** The errno description ("File exists"), not localized. */
std::string ErrnoDescription(int error);

// Builds an Error for a failed system call. The message reads
// "<operation>: <syscall>(<path>) failed: <description> (<CODE>)"; the object carries
// `errno` (positive), `code`, `syscall` and, when given, `path`.
Napi::Error SystemError(Napi::Env env, const std::string& operation, int error, const char* syscall,
                        const std::string& path = std::string());

}  // namespace fstack_kni
