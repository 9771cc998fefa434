#include "module.h"

#include <dlfcn.h>

#include <map>
#include <mutex>

#include "locks.h"

namespace {

std::mutex registryMutex;
std::map<std::string, LoadedModule*> registry;

}  // namespace

LoadedModule* AcquireModule(const std::string& path, bool* loaded, Failure* failure) {
  std::lock_guard<std::mutex> lock(registryMutex);
  *loaded = false;
  auto found = registry.find(path);
  if (found != registry.end()) {
    found->second->users++;
    return found->second;
  }

  void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* error = dlerror();
    std::string why = error ? error : "dlopen failed";
    // dlerror() starts with the path, which the message names already.
    if (why.rfind(path + ": ", 0) == 0) why.erase(0, path.size() + 2);
    *failure = Failure::Load(path, why);
    return nullptr;
  }
  auto getFunctionList = reinterpret_cast<CK_C_GetFunctionList>(dlsym(library, "C_GetFunctionList"));
  if (getFunctionList == nullptr) {
    dlclose(library);
    *failure = Failure::Load(path, "not a PKCS#11 module (no C_GetFunctionList)");
    return nullptr;
  }
  CK_FUNCTION_LIST* fn = nullptr;
  CK_RV rv = getFunctionList(&fn);
  if (rv != CKR_OK || fn == nullptr) {
    dlclose(library);
    *failure = rv != CKR_OK ? Failure::Ckr("C_GetFunctionList", rv)
                            : Failure::Load(path, "C_GetFunctionList returned no function list");
    return nullptr;
  }
  // Sessions are driven from several native threads at once, so the module must lock: with the
  // addon's adaptive mutexes (locks.cc says why) or, if it prefers, its own OS locks.
  CK_C_INITIALIZE_ARGS args = {nullptr, nullptr, nullptr, nullptr, CKF_OS_LOCKING_OK, nullptr};
  SetMutexCallbacks(&args);
  rv = fn->C_Initialize(&args);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    dlclose(library);
    *failure = Failure::Ckr("C_Initialize", rv);
    return nullptr;
  }

  auto* module = new LoadedModule();
  module->path = path;
  module->library = library;
  module->fn = fn;
  module->ownsInitialize = rv == CKR_OK;
  module->users = 1;
  registry[path] = module;
  *loaded = true;
  return module;
}

void ReleaseModule(LoadedModule* module) {
  std::lock_guard<std::mutex> lock(registryMutex);
  if (--module->users > 0) return;
  registry.erase(module->path);
  if (module->ownsInitialize) module->fn->C_Finalize(nullptr);
  dlclose(module->library);
  delete module;
}

bool ReleaseModule(const std::string& path) {
  LoadedModule* module;
  {
    std::lock_guard<std::mutex> lock(registryMutex);
    auto found = registry.find(path);
    if (found == registry.end()) return false;
    module = found->second;
  }
  ReleaseModule(module);
  return true;
}
