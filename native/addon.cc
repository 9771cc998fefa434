// keyward_pkcs11.node: open(options) → SessionPool, setErrorClasses({ Pkcs11Error, ModuleLoadError }),
// ckrName(code), retainModule(path), releaseModule(path), clearOpenSslErrors().
#include "addon.h"

#include <string>

#include "ckr.h"
#include "openssl_errors.h"
#include "pool.h"

AddonData* GetAddonData(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

Napi::Value ToJsError(Napi::Env env, const Failure& failure, long index) {
  AddonData* data = GetAddonData(env);
  if (failure.method == nullptr && !failure.module.empty()) {
    Napi::String module = Napi::String::New(env, failure.module);
    Napi::String why = Napi::String::New(env, failure.message);
    if (!data->moduleLoadError.IsEmpty()) return data->moduleLoadError.New({module, why});
    Napi::Object error = Napi::Error::New(env, "cannot load PKCS#11 module " + failure.module + ": " + failure.message).Value();
    error.Set("module", module);
    return error;
  }
  if (failure.method == nullptr) return Napi::Error::New(env, failure.message).Value();

  Napi::String ckr = Napi::String::New(env, CkrName(failure.rv));
  Napi::Number code = Napi::Number::New(env, static_cast<double>(failure.rv));
  Napi::String method = Napi::String::New(env, failure.method);
  Napi::Value detail = index >= 0 ? Napi::String::New(env, "batch item " + std::to_string(index)) : env.Undefined();
  Napi::Object error;
  if (!data->pkcs11Error.IsEmpty()) {
    error = data->pkcs11Error.New({ckr, code, method, detail});
  } else {
    error = Napi::Error::New(env, std::string(failure.method) + " failed: " + CkrName(failure.rv)).Value();
    error.Set("ckr", ckr);
    error.Set("code", code);
    error.Set("method", method);
  }
  if (index >= 0) error.Set("index", Napi::Number::New(env, static_cast<double>(index)));
  return error;
}

namespace {

// setErrorClasses({ Pkcs11Error, ModuleLoadError }): the constructors failures are raised with.
Napi::Value SetErrorClasses(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "setErrorClasses expects { Pkcs11Error, ModuleLoadError }");
  Napi::Object classes = info[0].As<Napi::Object>();
  Napi::Value pkcs11Error = classes.Get("Pkcs11Error");
  Napi::Value moduleLoadError = classes.Get("ModuleLoadError");
  if (!pkcs11Error.IsFunction() || !moduleLoadError.IsFunction()) {
    throw Napi::TypeError::New(env, "setErrorClasses expects { Pkcs11Error, ModuleLoadError } constructors");
  }
  AddonData* data = GetAddonData(env);
  data->pkcs11Error = Napi::Persistent(pkcs11Error.As<Napi::Function>());
  data->moduleLoadError = Napi::Persistent(moduleLoadError.As<Napi::Function>());
  return env.Undefined();
}

Napi::Value CkrNameOf(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "ckrName expects a number");
  double code = info[0].As<Napi::Number>().DoubleValue();
  return Napi::String::New(info.Env(), CkrName(static_cast<CK_RV>(code)));
}

// retainModule(path): loads and C_Initializes the module as pools do (with the addon's mutexes), for
// pkcs11js to share (its own C_Initialize then finds the library initialized); one user until
// releaseModule(path).
Napi::Value RetainModule(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "retainModule expects the module path");
  ClearOpenSslErrorsOnReturn clear;
  bool loaded = false;
  Failure failure;
  if (AcquireModule(info[0].As<Napi::String>().Utf8Value(), &loaded, &failure) == nullptr) {
    throw Napi::Error(env, ToJsError(env, failure, -1));
  }
  return env.Undefined();
}

Napi::Value ReleaseModuleOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "releaseModule expects the module path");
  ClearOpenSslErrorsOnReturn clear;
  return Napi::Boolean::New(env, ReleaseModule(info[0].As<Napi::String>().Utf8Value()));
}

// clearOpenSslErrors(): for the pkcs11js calls src/hsm/pkcs11.ts makes on the main thread (openssl_errors.h).
Napi::Value ClearOpenSslErrors(const Napi::CallbackInfo& info) {
  ERR_clear_error();
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->poolClass = Napi::Persistent(SessionPool::Define(env));
  env.SetInstanceData(data);
  exports.Set("open", Napi::Function::New<SessionPool::Open>(env, "open"));
  exports.Set("setErrorClasses", Napi::Function::New<SetErrorClasses>(env, "setErrorClasses"));
  exports.Set("ckrName", Napi::Function::New<CkrNameOf>(env, "ckrName"));
  exports.Set("retainModule", Napi::Function::New<RetainModule>(env, "retainModule"));
  exports.Set("releaseModule", Napi::Function::New<ReleaseModuleOf>(env, "releaseModule"));
  exports.Set("clearOpenSslErrors", Napi::Function::New<ClearOpenSslErrors>(env, "clearOpenSslErrors"));
  return exports;
}

}  // namespace

NODE_API_MODULE(keyward_pkcs11, Init)
