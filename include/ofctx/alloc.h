/* Memory that libofctx hands to the caller. */
#ifndef OFCTX_ALLOC_H
#define OFCTX_ALLOC_H

#include "ofctx/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Frees memory that a libofctx function returned as "caller frees with
 * ofctx_free" (for example the text of ofctx_config_to_json). NULL is fine. */
OFCTX_EXTERN void ofctx_free(void *ptr);

#ifdef __cplusplus
}
#endif
#endif
