/* The version of the loaded library, for callers built against another. */
#include "ofctx/version.h"

unsigned int ofctx_version(void) { return OFCTX_VERSION_HEX; }

const char *ofctx_version_string(void) { return OFCTX_VERSION_STRING; }
