// The subset of the PKCS#11 v2.40 interface (OASIS, "PKCS #11 Cryptographic Token Interface Base
// Specification") this addon uses, written from the specification rather than copied from the
// OASIS/RSA headers, so the addon carries no third-party header license. Layouts follow the Unix ABI of
// the standard headers: default struct packing, CK_ULONG = unsigned long. The function list is
// complete (all 68 slots, in order) because a module fills the whole table; only the slots the
// addon calls are typed, the rest are opaque pointers that merely keep the offsets right.
#ifndef KEYWARD_PKCS11_H
#define KEYWARD_PKCS11_H

#include <cstdint>

extern "C" {

typedef unsigned char CK_BYTE;
typedef CK_BYTE CK_BBOOL;
typedef unsigned long CK_ULONG;
typedef CK_ULONG CK_FLAGS;
typedef CK_ULONG CK_RV;
typedef CK_ULONG CK_SLOT_ID;
typedef CK_ULONG CK_SESSION_HANDLE;
typedef CK_ULONG CK_OBJECT_HANDLE;
typedef CK_ULONG CK_USER_TYPE;
typedef CK_ULONG CK_MECHANISM_TYPE;
typedef CK_ULONG CK_RSA_PKCS_MGF_TYPE;
typedef CK_BYTE* CK_BYTE_PTR;
typedef CK_ULONG* CK_ULONG_PTR;
typedef void* CK_VOID_PTR;
typedef CK_VOID_PTR* CK_VOID_PTR_PTR;
typedef CK_BYTE CK_UTF8CHAR;

struct CK_VERSION {
  CK_BYTE major;
  CK_BYTE minor;
};

struct CK_MECHANISM {
  CK_MECHANISM_TYPE mechanism;
  CK_VOID_PTR pParameter;
  CK_ULONG ulParameterLen;
};

// CKM_RSA_PKCS_PSS and CKM_SHA*_RSA_PKCS_PSS parameters (PKCS#11 Current Mechanisms).
struct CK_RSA_PKCS_PSS_PARAMS {
  CK_MECHANISM_TYPE hashAlg;
  CK_RSA_PKCS_MGF_TYPE mgf;
  CK_ULONG sLen;
};

// CKM_AES_GCM parameters (PKCS#11 Current Mechanisms), with ulIvBits as SoftHSM2 and the v3.0 headers have it.
struct CK_GCM_PARAMS {
  CK_BYTE_PTR pIv;
  CK_ULONG ulIvLen;
  CK_ULONG ulIvBits;
  CK_BYTE_PTR pAAD;
  CK_ULONG ulAADLen;
  CK_ULONG ulTagBits;
};

// C_Initialize arguments: the addon passes its own mutex functions (native/locks.cc) and CKF_OS_LOCKING_OK.
typedef CK_RV (*CK_CREATEMUTEX)(CK_VOID_PTR_PTR ppMutex);
typedef CK_RV (*CK_DESTROYMUTEX)(CK_VOID_PTR pMutex);
typedef CK_RV (*CK_LOCKMUTEX)(CK_VOID_PTR pMutex);
typedef CK_RV (*CK_UNLOCKMUTEX)(CK_VOID_PTR pMutex);

struct CK_C_INITIALIZE_ARGS {
  CK_CREATEMUTEX CreateMutex;
  CK_DESTROYMUTEX DestroyMutex;
  CK_LOCKMUTEX LockMutex;
  CK_UNLOCKMUTEX UnlockMutex;
  CK_FLAGS flags;
  CK_VOID_PTR pReserved;
};

typedef CK_RV (*CK_NOTIFY)(CK_SESSION_HANDLE, CK_ULONG, CK_VOID_PTR);
typedef void* CK_UNUSED_FN;

// CK_FUNCTION_LIST, every slot in the specification's order.
struct CK_FUNCTION_LIST {
  CK_VERSION version;
  CK_RV (*C_Initialize)(CK_VOID_PTR pInitArgs);
  CK_RV (*C_Finalize)(CK_VOID_PTR pReserved);
  CK_UNUSED_FN C_GetInfo;
  CK_UNUSED_FN C_GetFunctionList;
  CK_UNUSED_FN C_GetSlotList;
  CK_UNUSED_FN C_GetSlotInfo;
  CK_UNUSED_FN C_GetTokenInfo;
  CK_UNUSED_FN C_GetMechanismList;
  CK_UNUSED_FN C_GetMechanismInfo;
  CK_UNUSED_FN C_InitToken;
  CK_UNUSED_FN C_InitPIN;
  CK_UNUSED_FN C_SetPIN;
  CK_RV (*C_OpenSession)(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_NOTIFY Notify,
                         CK_SESSION_HANDLE* phSession);
  CK_RV (*C_CloseSession)(CK_SESSION_HANDLE hSession);
  CK_UNUSED_FN C_CloseAllSessions;
  CK_UNUSED_FN C_GetSessionInfo;
  CK_UNUSED_FN C_GetOperationState;
  CK_UNUSED_FN C_SetOperationState;
  CK_RV (*C_Login)(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR* pPin, CK_ULONG ulPinLen);
  CK_RV (*C_Logout)(CK_SESSION_HANDLE hSession);
  CK_UNUSED_FN C_CreateObject;
  CK_UNUSED_FN C_CopyObject;
  CK_UNUSED_FN C_DestroyObject;
  CK_UNUSED_FN C_GetObjectSize;
  CK_UNUSED_FN C_GetAttributeValue;
  CK_UNUSED_FN C_SetAttributeValue;
  CK_UNUSED_FN C_FindObjectsInit;
  CK_UNUSED_FN C_FindObjects;
  CK_UNUSED_FN C_FindObjectsFinal;
  CK_RV (*C_EncryptInit)(CK_SESSION_HANDLE hSession, CK_MECHANISM* pMechanism, CK_OBJECT_HANDLE hKey);
  CK_RV (*C_Encrypt)(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pEncryptedData,
                     CK_ULONG_PTR pulEncryptedDataLen);
  CK_UNUSED_FN C_EncryptUpdate;
  CK_UNUSED_FN C_EncryptFinal;
  CK_RV (*C_DecryptInit)(CK_SESSION_HANDLE hSession, CK_MECHANISM* pMechanism, CK_OBJECT_HANDLE hKey);
  CK_RV (*C_Decrypt)(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData, CK_ULONG ulEncryptedDataLen,
                     CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen);
  CK_UNUSED_FN C_DecryptUpdate;
  CK_UNUSED_FN C_DecryptFinal;
  CK_UNUSED_FN C_DigestInit;
  CK_UNUSED_FN C_Digest;
  CK_UNUSED_FN C_DigestUpdate;
  CK_UNUSED_FN C_DigestKey;
  CK_UNUSED_FN C_DigestFinal;
  CK_RV (*C_SignInit)(CK_SESSION_HANDLE hSession, CK_MECHANISM* pMechanism, CK_OBJECT_HANDLE hKey);
  CK_RV (*C_Sign)(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature,
                  CK_ULONG_PTR pulSignatureLen);
  CK_UNUSED_FN C_SignUpdate;
  CK_UNUSED_FN C_SignFinal;
  CK_UNUSED_FN C_SignRecoverInit;
  CK_UNUSED_FN C_SignRecover;
  CK_RV (*C_VerifyInit)(CK_SESSION_HANDLE hSession, CK_MECHANISM* pMechanism, CK_OBJECT_HANDLE hKey);
  CK_RV (*C_Verify)(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature,
                    CK_ULONG ulSignatureLen);
  CK_UNUSED_FN C_VerifyUpdate;
  CK_UNUSED_FN C_VerifyFinal;
  CK_UNUSED_FN C_VerifyRecoverInit;
  CK_UNUSED_FN C_VerifyRecover;
  CK_UNUSED_FN C_DigestEncryptUpdate;
  CK_UNUSED_FN C_DecryptDigestUpdate;
  CK_UNUSED_FN C_SignEncryptUpdate;
  CK_UNUSED_FN C_DecryptVerifyUpdate;
  CK_UNUSED_FN C_GenerateKey;
  CK_UNUSED_FN C_GenerateKeyPair;
  CK_UNUSED_FN C_WrapKey;
  CK_UNUSED_FN C_UnwrapKey;
  CK_UNUSED_FN C_DeriveKey;
  CK_UNUSED_FN C_SeedRandom;
  CK_UNUSED_FN C_GenerateRandom;
  CK_UNUSED_FN C_GetFunctionStatus;
  CK_UNUSED_FN C_CancelFunction;
  CK_UNUSED_FN C_WaitForSlotEvent;
};

typedef CK_RV (*CK_C_GetFunctionList)(CK_FUNCTION_LIST** ppFunctionList);

}  // extern "C"

// Constants used.
constexpr CK_RV CKR_OK = 0x0;
constexpr CK_RV CKR_HOST_MEMORY = 0x2;
constexpr CK_RV CKR_ARGUMENTS_BAD = 0x7;
constexpr CK_RV CKR_SIGNATURE_INVALID = 0xC0;
constexpr CK_RV CKR_SIGNATURE_LEN_RANGE = 0xC1;
constexpr CK_RV CKR_USER_ALREADY_LOGGED_IN = 0x100;
constexpr CK_RV CKR_BUFFER_TOO_SMALL = 0x150;
constexpr CK_RV CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;
constexpr CK_RV CKR_MUTEX_BAD = 0x1A0;
constexpr CK_RV CKR_MUTEX_NOT_LOCKED = 0x1A1;

constexpr CK_FLAGS CKF_OS_LOCKING_OK = 0x2;
constexpr CK_FLAGS CKF_RW_SESSION = 0x2;
constexpr CK_FLAGS CKF_SERIAL_SESSION = 0x4;
constexpr CK_USER_TYPE CKU_USER = 1;
constexpr CK_MECHANISM_TYPE CKM_AES_GCM = 0x1087;

#endif
