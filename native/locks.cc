// Mutexes for the PKCS#11 module, handed over in C_Initialize.
//
// Why: a software token such as SoftHSM2 guards its handle table, token and key objects with many
// short critical sections, taken several times per C_SignInit/C_Sign. With the OS's default mutex a
// contended lock puts the waiter to sleep at once, so two pool threads signing with one key pay a futex
// sleep and wake-up per contended lock and end up slower than one thread (measured: 2 sessions gave
// 0.9x of 1 session on SoftHSM2 ECDSA P-256). An adaptive mutex spins briefly before sleeping, which
// suits sections this short. The spec lets a caller pass its own mutex functions together with
// CKF_OS_LOCKING_OK; a module may still use its own OS locks, so nothing depends on these being used.
#include "locks.h"

#include <pthread.h>

#include <new>

namespace {

CK_RV CreateMutexCb(CK_VOID_PTR_PTR out) {
  if (out == nullptr) return CKR_ARGUMENTS_BAD;
  auto* m = new (std::nothrow) pthread_mutex_t;
  if (m == nullptr) return CKR_HOST_MEMORY;
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
  int rc = pthread_mutex_init(m, &attr);
  pthread_mutexattr_destroy(&attr);
  if (rc != 0) {
    delete m;
    return CKR_HOST_MEMORY;
  }
  *out = m;
  return CKR_OK;
}

CK_RV DestroyMutexCb(CK_VOID_PTR mutex) {
  if (mutex == nullptr) return CKR_MUTEX_BAD;
  auto* m = static_cast<pthread_mutex_t*>(mutex);
  if (pthread_mutex_destroy(m) != 0) return CKR_MUTEX_BAD;
  delete m;
  return CKR_OK;
}

CK_RV LockMutexCb(CK_VOID_PTR mutex) {
  if (mutex == nullptr) return CKR_MUTEX_BAD;
  return pthread_mutex_lock(static_cast<pthread_mutex_t*>(mutex)) == 0 ? CKR_OK : CKR_MUTEX_BAD;
}

CK_RV UnlockMutexCb(CK_VOID_PTR mutex) {
  if (mutex == nullptr) return CKR_MUTEX_BAD;
  return pthread_mutex_unlock(static_cast<pthread_mutex_t*>(mutex)) == 0 ? CKR_OK : CKR_MUTEX_NOT_LOCKED;
}

}  // namespace

void SetMutexCallbacks(CK_C_INITIALIZE_ARGS* args) {
  args->CreateMutex = CreateMutexCb;
  args->DestroyMutex = DestroyMutexCb;
  args->LockMutex = LockMutexCb;
  args->UnlockMutex = UnlockMutexCb;
}
