// A pool of logged-in sessions on one slot, each driven by its own native thread, and the JS object
// (SessionPool) that queues operations on it and settles their promises.
#ifndef KEYWARD_POOL_H
#define KEYWARD_POOL_H

#include <napi.h>

#include <memory>

struct Core;

enum class OpKind { Encrypt, Decrypt, Sign, Verify };

class SessionPool : public Napi::ObjectWrap<SessionPool> {
 public:
  static Napi::Function Define(Napi::Env env);
  // open(): loads the module, opens and logs in the sessions, starts the threads. Throws a
  // Pkcs11Error (or an Error when the module cannot be loaded) on failure.
  static Napi::Value Open(const Napi::CallbackInfo& info);

  explicit SessionPool(const Napi::CallbackInfo& info);
  ~SessionPool() override;

 private:
  using Kind = OpKind;
  Napi::Value Submit(const Napi::CallbackInfo& info, Kind kind, bool batch);

  Napi::Value AesGcmEncrypt(const Napi::CallbackInfo& info) { return Submit(info, Kind::Encrypt, false); }
  Napi::Value AesGcmDecrypt(const Napi::CallbackInfo& info) { return Submit(info, Kind::Decrypt, false); }
  Napi::Value Sign(const Napi::CallbackInfo& info) { return Submit(info, Kind::Sign, false); }
  Napi::Value Verify(const Napi::CallbackInfo& info) { return Submit(info, Kind::Verify, false); }
  Napi::Value AesGcmEncryptBatch(const Napi::CallbackInfo& info) { return Submit(info, Kind::Encrypt, true); }
  Napi::Value AesGcmDecryptBatch(const Napi::CallbackInfo& info) { return Submit(info, Kind::Decrypt, true); }
  Napi::Value SignBatch(const Napi::CallbackInfo& info) { return Submit(info, Kind::Sign, true); }
  Napi::Value VerifyBatch(const Napi::CallbackInfo& info) { return Submit(info, Kind::Verify, true); }
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Size(const Napi::CallbackInfo& info);

  std::shared_ptr<Core> core_;
};

#endif
