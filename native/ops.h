// One PKCS#11 operation on one session, in plain C++ (no JS values): what a pool thread runs.
#ifndef KEYWARD_OPS_H
#define KEYWARD_OPS_H

#include <cstddef>
#include <cstdint>
#include <vector>

#include "pkcs11.h"

// Byte buffers that may hold plaintext; wiped before their memory is released.
class Bytes {
 public:
  Bytes() = default;
  Bytes(const uint8_t* data, size_t size) : v_(data, data + size) {}
  Bytes(const Bytes&) = delete;
  Bytes& operator=(const Bytes&) = delete;
  Bytes(Bytes&& other) noexcept = default;
  Bytes& operator=(Bytes&& other) noexcept;
  ~Bytes() { Wipe(); }

  // Sets the size; contents are not kept when it must reallocate (the old memory is wiped first, so
  // no unwiped copy is left behind).
  void Resize(size_t size);
  void Wipe();
  size_t size() const { return v_.size(); }
  // Never null, even when empty: some modules refuse a null pointer with a zero length.
  uint8_t* data() { return v_.empty() ? &empty_ : v_.data(); }

 private:
  std::vector<uint8_t> v_;
  uint8_t empty_ = 0;
};

// A signing mechanism: its type and, for the RSA-PSS family, its parameters.
struct SignMechanism {
  CK_MECHANISM_TYPE type = 0;
  bool hasPss = false;
  CK_RSA_PKCS_PSS_PARAMS pss = {0, 0, 0};
};

// rv and the PKCS#11 function that returned it.
struct Outcome {
  CK_RV rv;
  const char* method;
};

// CKM_AES_GCM with a 128-bit tag: encrypt gives ciphertext ‖ tag, decrypt takes it and verifies the tag.
Outcome AesGcm(CK_FUNCTION_LIST* fn, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key, bool encrypt, Bytes& iv,
               Bytes& aad, Bytes& input, Bytes* output);

Outcome Sign(CK_FUNCTION_LIST* fn, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key, const SignMechanism& mechanism,
             Bytes& data, Bytes* signature);

// A signature that does not verify (CKR_SIGNATURE_INVALID or _LEN_RANGE) gives *valid = false and CKR_OK.
Outcome Verify(CK_FUNCTION_LIST* fn, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key, const SignMechanism& mechanism,
               Bytes& data, Bytes& signature, bool* valid);

#endif
