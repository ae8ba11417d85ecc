#ifndef KEYWARD_CLIBSSH2_SHIM_H
#define KEYWARD_CLIBSSH2_SHIM_H
#include <libssh2.h>
#endif
