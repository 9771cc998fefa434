#include "ops.h"

#include <string.h>

Bytes& Bytes::operator=(Bytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    v_ = std::move(other.v_);
  }
  return *this;
}

void Bytes::Resize(size_t size) {
  if (size > v_.capacity()) {
    Wipe();
    std::vector<uint8_t>().swap(v_);
  }
  v_.resize(size);
}

void Bytes::Wipe() {
  if (v_.capacity() > 0) explicit_bzero(v_.data(), v_.capacity());
}

namespace {

constexpr CK_ULONG kGcmTagBytes = 16;
// Covers RSA-4096 signatures; a module that needs more says so with CKR_BUFFER_TOO_SMALL.
constexpr size_t kSignatureGuess = 512;
constexpr size_t kSignatureMax = 16384;

// Runs a single-part call whose output size is only a guess: on CKR_BUFFER_TOO_SMALL the operation
// stays active (spec §5.2 "Conventions for functions returning output in a variable-length buffer")
// and the call is repeated with the size the module asked for, up to max (a larger request is a
// module fault and stays CKR_BUFFER_TOO_SMALL rather than an allocation of whatever it said).
template <typename Call>
CK_RV WithOutput(Bytes* output, size_t guess, size_t max, Call call) {
  output->Resize(guess > 0 ? guess : 1);
  CK_ULONG length = output->size();
  CK_RV rv = call(output->data(), &length);
  if (rv == CKR_BUFFER_TOO_SMALL && length > output->size() && length <= max) {
    output->Resize(length);
    rv = call(output->data(), &length);
  }
  if (rv == CKR_OK) output->Resize(length);
  return rv;
}

CK_MECHANISM MechanismOf(const SignMechanism& m) {
  if (!m.hasPss) return CK_MECHANISM{m.type, nullptr, 0};
  return CK_MECHANISM{m.type, const_cast<CK_RSA_PKCS_PSS_PARAMS*>(&m.pss), sizeof(CK_RSA_PKCS_PSS_PARAMS)};
}

}  // namespace

Outcome AesGcm(CK_FUNCTION_LIST* fn, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key, bool encrypt, Bytes& iv,
               Bytes& aad, Bytes& input, Bytes* output) {
  CK_GCM_PARAMS params = {iv.data(), iv.size(), iv.size() * 8, aad.size() > 0 ? aad.data() : nullptr, aad.size(),
                          kGcmTagBytes * 8};
  CK_MECHANISM mechanism = {CKM_AES_GCM, &params, sizeof(params)};
  if (encrypt) {
    CK_RV rv = fn->C_EncryptInit(session, &mechanism, key);
    if (rv != CKR_OK) return {rv, "C_EncryptInit"};
    rv = WithOutput(output, input.size() + kGcmTagBytes, input.size() + kGcmTagBytes, [&](CK_BYTE_PTR out, CK_ULONG_PTR len) {
      return fn->C_Encrypt(session, input.data(), input.size(), out, len);
    });
    return {rv, "C_Encrypt"};
  }
  CK_RV rv = fn->C_DecryptInit(session, &mechanism, key);
  if (rv != CKR_OK) return {rv, "C_DecryptInit"};
  size_t guess = input.size() > kGcmTagBytes ? input.size() - kGcmTagBytes : 0;
  rv = WithOutput(output, guess, input.size(), [&](CK_BYTE_PTR out, CK_ULONG_PTR len) {
    return fn->C_Decrypt(session, input.data(), input.size(), out, len);
  });
  return {rv, "C_Decrypt"};
}

Outcome Sign(CK_FUNCTION_LIST* fn, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key, const SignMechanism& m,
             Bytes& data, Bytes* signature) {
  CK_MECHANISM mechanism = MechanismOf(m);
  CK_RV rv = fn->C_SignInit(session, &mechanism, key);
  if (rv != CKR_OK) return {rv, "C_SignInit"};
  rv = WithOutput(signature, kSignatureGuess, kSignatureMax, [&](CK_BYTE_PTR out, CK_ULONG_PTR len) {
    return fn->C_Sign(session, data.data(), data.size(), out, len);
  });
  return {rv, "C_Sign"};
}

Outcome Verify(CK_FUNCTION_LIST* fn, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key, const SignMechanism& m,
               Bytes& data, Bytes& signature, bool* valid) {
  CK_MECHANISM mechanism = MechanismOf(m);
  CK_RV rv = fn->C_VerifyInit(session, &mechanism, key);
  if (rv != CKR_OK) return {rv, "C_VerifyInit"};
  rv = fn->C_Verify(session, data.data(), data.size(), signature.data(), signature.size());
  *valid = rv == CKR_OK;
  if (rv == CKR_SIGNATURE_INVALID || rv == CKR_SIGNATURE_LEN_RANGE) rv = CKR_OK;
  return {rv, "C_Verify"};
}
