// Per-environment state of the addon and the conversion of failures to JS errors.
#ifndef KEYWARD_ADDON_H
#define KEYWARD_ADDON_H

#include <napi.h>

#include <cstddef>

#include "module.h"

struct AddonData {
  // Pkcs11Error and ModuleLoadError of src/hsm/errors.ts, registered by setErrorClasses(); plain Errors
  // with the same fields until then.
  Napi::FunctionReference pkcs11Error;
  Napi::FunctionReference moduleLoadError;
  Napi::FunctionReference poolClass;
};

AddonData* GetAddonData(Napi::Env env);

// A Pkcs11Error { ckr, code, method[, index] } for a PKCS#11 failure, a ModuleLoadError { module } for a
// module that cannot be loaded, an Error otherwise. index is the failing batch item, or -1 for a single call.
Napi::Value ToJsError(Napi::Env env, const Failure& failure, long index);

#endif
