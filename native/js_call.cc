#include "js_call.h"

namespace fstack_kni {

CallOutcome CallFromLoop(napi_env env, napi_value receiver, napi_value function, size_t argc,
                         const napi_value* argv, napi_async_context context) {
  napi_status status =
      context != nullptr ? napi_make_callback(env, context, receiver, function, argc, argv, nullptr)
                         : napi_call_function(env, receiver, function, argc, argv, nullptr);
  if (status == napi_ok) {
    return CallOutcome::Returned;
  }

  // With no exception pending, Node-API refused to enter JavaScript at all.
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || !pending) {
    return CallOutcome::CannotRunJs;
  }
  napi_value exception = nullptr;
  if (napi_get_and_clear_last_exception(env, &exception) != napi_ok) {
    return CallOutcome::CannotRunJs;
  }
  // napi_fatal_exception fails and reports nothing once JavaScript can no longer run.
  // The exception was then the termination itself.
  if (napi_fatal_exception(env, exception) != napi_ok) {
    return CallOutcome::CannotRunJs;
  }
  return CallOutcome::Threw;
}

}  // namespace fstack_kni
