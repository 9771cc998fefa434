// The calling thread's OpenSSL error queue, emptied. A PKCS#11 module built on OpenSSL (SoftHSM2) binds
// to the libcrypto node exports, and a failed operation (an OAEP padding check, say) leaves its errors on
// the queue of the thread that called it; node:crypto's next call on that thread reads them as its own
// and throws. Every Cryptoki call on node's main thread is followed by a clear (the pool threads are the
// addon's own, and nothing else reads their queues).
#ifndef KEYWARD_OPENSSL_ERRORS_H
#define KEYWARD_OPENSSL_ERRORS_H

#include <openssl/err.h>

struct ClearOpenSslErrorsOnReturn {
  ClearOpenSslErrorsOnReturn() = default;
  ClearOpenSslErrorsOnReturn(const ClearOpenSslErrorsOnReturn&) = delete;
  ClearOpenSslErrorsOnReturn& operator=(const ClearOpenSslErrorsOnReturn&) = delete;
  ~ClearOpenSslErrorsOnReturn() { ERR_clear_error(); }
};

#endif
