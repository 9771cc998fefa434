// The mutex callbacks the addon gives C_Initialize (CK_C_INITIALIZE_ARGS CreateMutex … UnlockMutex).
#ifndef KEYWARD_LOCKS_H
#define KEYWARD_LOCKS_H

#include "pkcs11.h"

// Points args' four mutex slots at the addon's callbacks.
void SetMutexCallbacks(CK_C_INITIALIZE_ARGS* args);

#endif
