/* Compiler marks for libofctx's declarations: symbol visibility (the
 * library is built with hidden visibility; only declarations marked
 * OFCTX_EXTERN are exported) and printf-style format checks (OFCTX_PRINTF:
 * the format is argument `fmt`, its arguments start at `args`). Both are
 * empty for compilers that know no GNU attributes. */
#ifndef OFCTX_EXPORT_H
#define OFCTX_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define OFCTX_EXTERN __attribute__((visibility("default")))
#define OFCTX_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define OFCTX_EXTERN
#define OFCTX_PRINTF(fmt, args)
#endif

#endif
