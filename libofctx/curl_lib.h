/* libcurl, opened at its first use (dlopen) instead of linked. Debian's
 * libcurl brings some thirty libraries (OpenSSL, GnuTLS, Kerberos, LDAP,
 * SSH...) whose pages cost about 5 MB of RSS at exec and 2 MB more once
 * curl_global_init has run; a function that never talks to its sidecar
 * needs none of them. Internal. */
#ifndef OFCTX_CURL_LIB_H
#define OFCTX_CURL_LIB_H

#include <stddef.h>

#include <curl/curl.h>

/* The libcurl functions libofctx calls, filled in by ofctx__curl_open(). */
typedef struct {
  CURL *(*easy_init)(void);
  CURLcode (*easy_setopt)(CURL *easy, CURLoption option, ...);
  CURLcode (*easy_getinfo)(CURL *easy, CURLINFO info, ...);
  void (*easy_cleanup)(CURL *easy);
  const char *(*easy_strerror)(CURLcode code);
  CURLM *(*multi_init)(void);
  CURLMcode (*multi_setopt)(CURLM *multi, CURLMoption option, ...);
  CURLMcode (*multi_add_handle)(CURLM *multi, CURL *easy);
  CURLMcode (*multi_remove_handle)(CURLM *multi, CURL *easy);
  CURLMcode (*multi_assign)(CURLM *multi, curl_socket_t fd, void *data);
  CURLMcode (*multi_socket_action)(CURLM *multi, curl_socket_t fd, int mask, int *running);
  CURLMsg *(*multi_info_read)(CURLM *multi, int *left);
  CURLMcode (*multi_cleanup)(CURLM *multi);
  struct curl_slist *(*slist_append)(struct curl_slist *list, const char *line);
  void (*slist_free_all)(struct curl_slist *list);
} ofctx__curl_t;

extern ofctx__curl_t ofctx__curl;

/* Opens the library named by OFCTX_LIBCURL (default "libcurl.so.4", Debian's
 * libcurl4) and runs curl_global_init, once per process; later calls return
 * the first one's result. 0, or -1 after logging why. Call it from the loop
 * thread only. */
int ofctx__curl_open(void);

#endif
