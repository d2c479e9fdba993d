// Errors and argument checks shared by the entry points.
#include <net/if.h>

#include <cmath>
#include <cstring>

#include "common.h"

namespace umbra {

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& message) {
  std::string full = message + " (" + syscall + ": " + std::strerror(err) + ")";
  Napi::Error error = Napi::Error::New(env, full);
  // uv_err_name knows the usual errno names ("EPERM", "EBUSY", ...); for the rare ones it lacks
  // (it returns "Unknown system error N") fall back to a neutral code with the number.
  const char* name = uv_err_name(-err);
  std::string code = (name != nullptr && std::strncmp(name, "Unknown", 7) != 0)
                         ? std::string(name)
                         : "ERRNO_" + std::to_string(err);
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

void ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& message) {
  throw ErrnoError(env, err, syscall, message);
}

void ThrowType(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}

void ThrowRange(Napi::Env env, const std::string& message) {
  throw Napi::RangeError::New(env, message);
}

void ThrowPlain(Napi::Env env, const std::string& message) {
  throw Napi::Error::New(env, message);
}

static double IntegerArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  Napi::Value v = info[index];
  if (!v.IsNumber()) ThrowType(info.Env(), std::string(what) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d) {
    ThrowType(info.Env(), std::string(what) + " must be an integer");
  }
  return d;
}

int FdArg(const Napi::CallbackInfo& info, size_t index) {
  double d = IntegerArg(info, index, "fd");
  if (d < 0 || d > 2147483647.0) ThrowRange(info.Env(), "fd must be a non-negative integer");
  return static_cast<int>(d);
}

uint32_t Uint32Arg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  double d = IntegerArg(info, index, what);
  if (d < 0 || d > 4294967295.0) {
    ThrowRange(info.Env(), std::string(what) + " must be between 0 and 0xffffffff");
  }
  return static_cast<uint32_t>(d);
}

std::string InterfaceNameArg(const Napi::CallbackInfo& info, size_t index) {
  Napi::Value v = info[index];
  if (!v.IsString()) ThrowType(info.Env(), "the interface name must be a string");
  std::string name = v.As<Napi::String>().Utf8Value();
  if (name.empty() || name.size() >= IFNAMSIZ || name.find('\0') != std::string::npos) ThrowRange(info.Env(), "\"" + name + "\" is not an interface name");
  return name;
}

Napi::Function FunctionArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  Napi::Value v = info[index];
  if (!v.IsFunction()) ThrowType(info.Env(), std::string(what) + " must be a function");
  return v.As<Napi::Function>();
}

ByteView BytesOf(Napi::Env env, Napi::Value value, const char* what) {
  // One napi_get_typedarray_info (it refuses what is not a typed array): the data path calls
  // this for every packet, and node-addon-api's typed wrappers would ask two or three times.
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, nullptr, nullptr) == napi_ok &&
      type == napi_uint8_array) {
    return ByteView{static_cast<const uint8_t*>(data), length};
  }
  ThrowType(env, std::string(what) + " must be a Buffer or Uint8Array");
}

}  // namespace umbra
