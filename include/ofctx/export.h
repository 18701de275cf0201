/* Symbol visibility for libofctx. The library is built with hidden visibility;
 * only declarations marked OFCTX_EXTERN are exported. */
#ifndef OFCTX_EXPORT_H
#define OFCTX_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define OFCTX_EXTERN __attribute__((visibility("default")))
#else
#define OFCTX_EXTERN
#endif

#endif
