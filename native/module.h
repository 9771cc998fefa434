// Loaded PKCS#11 modules, shared by every pool of the process: one dlopen and one C_Initialize per
// module path, C_Finalize when the last pool using it lets go.
#ifndef KEYWARD_MODULE_H
#define KEYWARD_MODULE_H

#include <string>
#include <utility>

#include "pkcs11.h"

// A failed PKCS#11 call (method set, rv != CKR_OK), a module that cannot be loaded (module set, message
// says why), or another failure (message says what).
struct Failure {
  CK_RV rv = CKR_OK;
  const char* method = nullptr;
  std::string module;
  std::string message;

  static Failure Ckr(const char* method, CK_RV rv) { return Failure{rv, method, {}, {}}; }
  static Failure Load(std::string module, std::string why) { return Failure{CKR_OK, nullptr, std::move(module), std::move(why)}; }
  static Failure Other(std::string message) { return Failure{CKR_OK, nullptr, {}, std::move(message)}; }
};

struct LoadedModule {
  std::string path;
  void* library = nullptr;
  CK_FUNCTION_LIST* fn = nullptr;
  // False when the library was already initialized by someone else in this process (pkcs11js, for
  // one): then that owner, not this addon, finalizes it.
  bool ownsInitialize = false;
  int users = 0;
};

// dlopen + C_GetFunctionList + C_Initialize(CKF_OS_LOCKING_OK) on first use of path; counts users.
// *loaded tells whether this call loaded it (rather than sharing it). Returns nullptr and fills
// *failure on error.
LoadedModule* AcquireModule(const std::string& path, bool* loaded, Failure* failure);

// Drops one user; the last one finalizes (when this addon initialized) and unloads the module.
void ReleaseModule(LoadedModule* module);

// The same for the module loaded from path; false when none is.
bool ReleaseModule(const std::string& path);

#endif
