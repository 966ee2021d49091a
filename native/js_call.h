// Calls into JavaScript from libuv callbacks, where no C++ exception may unwind and the
// environment may be shutting down.
#pragma once

#include <node_api.h>

#include <cstddef>

namespace fstack_kni {

enum class CallOutcome {
  /** The function returned. */
  Returned,
  /** The function threw, and the exception was reported as an uncaught exception. */
  Threw,
  /** The environment can no longer run JavaScript, a terminated worker's for instance. */
  CannotRunJs,
};

/**
 * Calls `function` with raw Node-API calls, through napi_make_callback when `context` is
 * set. An exception becomes an uncaught exception of the process. node-addon-api's
 * Function::Call is not used here: while a worker terminates, the call fails with V8's
 * termination, and turning that into a Napi::Error aborts the process.
 */
CallOutcome CallFromLoop(napi_env env, napi_value receiver, napi_value function, size_t argc,
                         const napi_value* argv, napi_async_context context = nullptr);

}  // namespace fstack_kni
