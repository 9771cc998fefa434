// Names of PKCS#11 return values, for Pkcs11Error.ckr.
#ifndef KEYWARD_CKR_H
#define KEYWARD_CKR_H

#include "pkcs11.h"

// The CKR_* name of rv (PKCS#11 v2.40); "CKR_VENDOR_DEFINED" for vendor codes and "CKR_UNKNOWN"
// for a code the table lacks, so a caller can always switch on the name.
const char* CkrName(CK_RV rv);

#endif
