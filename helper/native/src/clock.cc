// The protocol's clock: CLOCK_BOOTTIME counts time the machine spent suspended, which
// CLOCK_MONOTONIC (performance.now) does not, so keys from before a night's sleep are as old as
// they really are. Node has no binding for it.
#include <time.h>

#include "common.h"

namespace umbra {

Napi::Value BootClockMs(const Napi::CallbackInfo& info) {
  timespec ts{};
  if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0) ThrowPlain(info.Env(), "clock_gettime(CLOCK_BOOTTIME) failed");
  return Napi::Number::New(info.Env(), static_cast<double>(ts.tv_sec) * 1000.0 + static_cast<double>(ts.tv_nsec) / 1e6);
}

}  // namespace umbra
