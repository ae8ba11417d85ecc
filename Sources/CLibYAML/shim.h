#ifndef KEYWARD_CLIBYAML_SHIM_H
#define KEYWARD_CLIBYAML_SHIM_H
#include <yaml.h>
#endif
