/* The sidecar client: libcurl multi driven by libuv (socket and timer
 * callbacks), with retries and back-off. See dapr_http_client.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "curl_lib.h"
#include "dapr_http_client.h"
#include "mem.h"

typedef struct call call_t;

struct call {
  ofctx__dapr_http_client_t *client;
  call_t *prev, *next;
  CURL *easy;
  struct curl_slist *headers; /* the call's own, or the client's json_headers */
  char *body;
  size_t body_len;
  ofctx__buf_t resp;
  int too_big;
  int in_multi;
  char etag[256]; /* the answer's ETag, "" when none (or too long to keep) */
  ofctx__retry_policy_t policy;
  int attempts;
  uv_timer_t backoff;
  ofctx__dapr_done_fn done;
  void *arg;
  char errbuf[CURL_ERROR_SIZE];
};

/* A socket curl asked to watch. Connection sockets (opened by
 * open_socket) keep their poll handle from connect to close; while the
 * connection idles in curl's cache it waits for reading (the sidecar
 * closing it), unreferenced. Other sockets have one only while watched. */
typedef struct sock {
  uv_poll_t poll;
  curl_socket_t fd;
  ofctx__dapr_http_client_t *client;
  struct sock *prev, *next;
  int kept;   /* a connection socket: released by close_socket */
  int polled; /* `poll` is initialised */
  int events; /* what `poll` waits for */
  int idle;   /* kept, but no transfer uses it */
} sock_t;

struct ofctx__dapr_http_client {
  uv_loop_t *loop;
  CURLM *multi;
  uv_timer_t timer;
  char *base;         /* "http://host:port", or another server's "http(s)://authority" */
  int https;          /* the base is https:// (never the sidecar's) */
  int sidecar;        /* made by ofctx__dapr_http_client_new: errors name its variables */
  char *token_header; /* "dapr-api-token: ..." or NULL */
  ofctx__retry_policy_t policy;
  call_t *calls;
  size_t pending;
  sock_t *socks;
  /* Sockets to poll are taken from here, so that curl's socket callback
   * never fails for want of memory (a failure there would strand its
   * transfer): each call puts one in before it starts, and a socket that
   * closes comes back here. */
  sock_t *spares;
  size_t spare_count;
  /* Finished calls kept with their curl handle and back-off timer, for
   * the next ones (at most POOL_MAX). */
  call_t *pool;
  size_t pool_count;
  struct curl_slist *json_headers; /* the headers of JSON calls, shared */
  int closing;
  int handles; /* open libuv handles: the timer, polls, back-off timers */
  void (*closed)(void *arg);
  void *closed_arg;
  uint64_t rng;
};

static void handle_closed(uv_handle_t *handle);

static void spares_trim(ofctx__dapr_http_client_t *c, size_t keep) {
  while (c->spare_count > keep) {
    sock_t *s = c->spares;
    c->spares = s->next;
    c->spare_count--;
    ofctx__free(s);
  }
}

static void spare_put(ofctx__dapr_http_client_t *c, sock_t *s) {
  s->next = c->spares;
  c->spares = s;
  c->spare_count++;
}

/* A zeroed socket record: a spare, else a new one (NULL without memory). */
static sock_t *spare_take(ofctx__dapr_http_client_t *c) {
  sock_t *s = c->spares;

  if (!s)
    return ofctx__calloc(1, sizeof *s);
  c->spares = s->next;
  c->spare_count--;
  memset(s, 0, sizeof *s);
  return s;
}

static void maybe_free(ofctx__dapr_http_client_t *c) {
  if (c->closing && c->handles == 0) {
    void (*closed)(void *) = c->closed;
    void *arg = c->closed_arg;
    spares_trim(c, 0);
    ofctx__curl.slist_free_all(c->json_headers);
    ofctx__free(c->base);
    ofctx__free(c->token_header);
    ofctx__free(c);
    if (closed)
      closed(arg);
  }
}

/* ---- curl ↔ libuv ---- */

static void check_done(ofctx__dapr_http_client_t *c);

static void poll_cb(uv_poll_t *poll, int status, int events) {
  sock_t *s = poll->data;
  ofctx__dapr_http_client_t *c = s->client;
  int flags = 0, running;

  if (s->idle) { /* the sidecar closed it: curl finds out when it reuses it */
    uv_poll_stop(poll);
    s->events = 0;
    return;
  }
  if (status < 0) { /* libuv has stopped the poll */
    flags = CURL_CSELECT_ERR;
    s->events = 0;
  }
  if (events & UV_READABLE)
    flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE)
    flags |= CURL_CSELECT_OUT;
  ofctx__curl.multi_socket_action(c->multi, s->fd, flags, &running);
  check_done(c);
}

static void sock_closed(uv_handle_t *handle) {
  sock_t *s = handle->data;
  ofctx__dapr_http_client_t *c = s->client;

  spare_put(c, s);
  c->handles--;
  maybe_free(c);
}

/* Unwatches and releases a socket, before it is closed. */
static void sock_close(sock_t *s) {
  ofctx__dapr_http_client_t *c = s->client;

  OFCTX__LIST_UNLINK(c->socks, s);
  if (s->polled) {
    uv_close((uv_handle_t *)&s->poll, sock_closed);
    return;
  }
  spare_put(c, s);
}

static sock_t *kept_sock(ofctx__dapr_http_client_t *c, curl_socket_t fd) {
  for (sock_t *s = c->socks; s; s = s->next)
    if (s->kept && s->fd == fd)
      return s;
  return NULL;
}

static int socket_cb(CURL *easy, curl_socket_t fd, int action, void *userp, void *socketp) {
  ofctx__dapr_http_client_t *c = userp;
  sock_t *s = socketp;
  int events = 0;

  (void)easy;
  if (action == CURL_POLL_REMOVE) {
    if (s) {
      if (!c->closing)
        ofctx__curl.multi_assign(c->multi, fd, NULL);
      if (!s->kept) {
        sock_close(s);
      } else { /* idle in curl's cache: still read, so that reuse costs no
                * epoll_ctl, but not keeping the loop alive */
        s->idle = 1;
        uv_unref((uv_handle_t *)&s->poll);
        if (s->events != UV_READABLE) {
          s->events = UV_READABLE;
          uv_poll_start(&s->poll, UV_READABLE, poll_cb);
        }
      }
    }
    return 0;
  }
  if (!s)
    s = kept_sock(c, fd);
  if (!s) {
    s = spare_take(c);
    if (!s)
      return -1;
    s->fd = fd;
    s->client = c;
    OFCTX__LIST_PUSH(c->socks, s);
  }
  if (!s->polled) {
    if (uv_poll_init_socket(c->loop, &s->poll, fd) != 0) {
      sock_close(s);
      return -1;
    }
    s->poll.data = s;
    s->polled = 1;
    c->handles++;
  }
  ofctx__curl.multi_assign(c->multi, fd, s);
  s->idle = 0;
  uv_ref((uv_handle_t *)&s->poll);
  if (action & CURL_POLL_IN)
    events |= UV_READABLE;
  if (action & CURL_POLL_OUT)
    events |= UV_WRITABLE;
  if (events != s->events) { /* each uv_poll_start is two epoll_ctl calls */
    s->events = events;
    uv_poll_start(&s->poll, events, poll_cb);
  }
  return 0;
}

/* Connection sockets are known from their opening to their closing, so that
 * their poll handles can outlive a transfer (no epoll churn per request). */
static curl_socket_t open_socket(void *userp, curlsocktype purpose, struct curl_sockaddr *addr) {
  ofctx__dapr_http_client_t *c = userp;
  curl_socket_t fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
  sock_t *s;

  if (fd == CURL_SOCKET_BAD || purpose != CURLSOCKTYPE_IPCXN)
    return fd;
  s = ofctx__calloc(1, sizeof *s);
  if (s) { /* without it, the socket is watched like any other */
    s->fd = fd;
    s->client = c;
    s->kept = 1;
    OFCTX__LIST_PUSH(c->socks, s);
  }
  return fd;
}

static int close_socket(void *userp, curl_socket_t fd) {
  sock_t *s = kept_sock(userp, fd);

  if (s) /* libuv forgets the descriptor before it can be reused */
    sock_close(s);
  return close(fd);
}

static void timer_cb(uv_timer_t *timer) {
  ofctx__dapr_http_client_t *c = timer->data;
  int running;

  ofctx__curl.multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_done(c);
}

static int timer_function(CURLM *multi, long timeout_ms, void *userp) {
  ofctx__dapr_http_client_t *c = userp;

  (void)multi;
  if (timeout_ms < 0)
    uv_timer_stop(&c->timer);
  else
    uv_timer_start(&c->timer, timer_cb, (uint64_t)timeout_ms, 0);
  return 0;
}

/* ---- one call ---- */

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp) {
  call_t *call = userp;
  size_t len = size * nmemb;

  if (len > call->policy.max_response_size - call->resp.len) { /* resp.len is at most the max */
    call->too_big = 1;
    return 0; /* makes curl fail the transfer */
  }
  ofctx__buf_append(&call->resp, data, len);
  return call->resp.failed ? 0 : len;
}

/* Keeps the answer's ETag (a state read's) of the last attempt. */
static size_t header_cb(char *data, size_t size, size_t nmemb, void *userp) {
  call_t *call = userp;
  size_t len = size * nmemb, n;

  if (len > 5 && strncasecmp(data, "etag:", 5) == 0) {
    const char *v = data + 5;
    n = len - 5;
    while (n && (*v == ' ' || *v == '\t'))
      v++, n--;
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
      n--;
    if (n < sizeof call->etag) {
      memcpy(call->etag, v, n);
      call->etag[n] = '\0';
    }
  }
  return len;
}

#define POOL_MAX 64

static void call_free(uv_handle_t *handle) {
  call_t *call = handle->data;
  ofctx__dapr_http_client_t *c = call->client;

  ofctx__free(call);
  c->handles--;
  maybe_free(c);
}

static void call_destroy(call_t *call) {
  ofctx__curl.easy_cleanup(call->easy);
  uv_close((uv_handle_t *)&call->backoff, call_free);
}

/* Reports the outcome and releases the call (to the pool, mostly). */
static void call_finish(call_t *call, int ok, int status, const char *error) {
  ofctx__dapr_http_client_t *c = call->client;
  ofctx__dapr_result_t result;

  if (call->in_multi) {
    ofctx__curl.multi_remove_handle(c->multi, call->easy);
    call->in_multi = 0;
  }
  uv_timer_stop(&call->backoff);
  OFCTX__LIST_UNLINK(c->calls, call);
  c->pending--;
  spares_trim(c, c->pending + 2);
  result.ok = ok;
  result.status = status;
  result.error = ok ? NULL : error;
  result.body = call->resp.data ? call->resp.data : "";
  result.body_len = call->resp.len;
  result.attempts = call->attempts;
  result.etag = call->etag;
  result.cancelled = c->closing && !ok;
  call->done(call->arg, &result);
  if (call->headers != c->json_headers)
    ofctx__curl.slist_free_all(call->headers);
  call->headers = NULL;
  ofctx__free(call->body);
  call->body = NULL;
  ofctx__buf_free(&call->resp);
  if (c->closing || c->pool_count >= POOL_MAX) {
    call_destroy(call);
    return;
  }
  call->next = c->pool;
  c->pool = call;
  c->pool_count++;
}

static int call_start_attempt(call_t *call) {
  call->attempts++;
  ofctx__buf_free(&call->resp);
  call->too_big = 0;
  call->errbuf[0] = '\0';
  call->etag[0] = '\0';
  if (ofctx__curl.multi_add_handle(call->client->multi, call->easy) != CURLM_OK)
    return -1;
  call->in_multi = 1;
  return 0;
}

static void backoff_done(uv_timer_t *timer) {
  call_t *call = timer->data;

  if (call_start_attempt(call) != 0)
    call_finish(call, 0, 0, "cannot start the request");
}

static int retryable_status(int status) { return status >= 500 || status == 408 || status == 429; }

static void attempt_done(call_t *call, CURLcode code) {
  long status = 0;
  char error[CURL_ERROR_SIZE + 64];

  ofctx__curl.easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
  ofctx__curl.multi_remove_handle(call->client->multi, call->easy);
  call->in_multi = 0;
  if (code == CURLE_OK && status >= 200 && status < 300) {
    call_finish(call, 1, (int)status, NULL);
    return;
  }
  if (call->too_big) {
    snprintf(error, sizeof error, "the answer is larger than %zu bytes",
             call->policy.max_response_size);
    call_finish(call, 0, (int)status, error);
    return;
  }
  if (code == CURLE_OK)
    snprintf(error, sizeof error, "HTTP status %ld", status);
  else if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST)
    /* say where it looked: the variables that tell it */
    snprintf(error, sizeof error,
             call->client->sidecar ? "%s (the sidecar at %s, from DAPR_HOST and DAPR_HTTP_PORT)"
                                   : "%s (at %s)",
             call->errbuf[0] ? call->errbuf : ofctx__curl.easy_strerror(code), call->client->base);
  else
    snprintf(error, sizeof error, "%s",
             call->errbuf[0] ? call->errbuf : ofctx__curl.easy_strerror(code));
  if ((code != CURLE_OK ||
       (retryable_status((int)status) && !(status == 500 && call->policy.final_500))) &&
      call->attempts < call->policy.max_attempts && !call->client->closing) {
    uint64_t wait = ofctx__backoff_ms(&call->policy, call->attempts, &call->client->rng);
    curl_off_t after = 0;
    /* a rate limiter's Retry-After (seconds) is waited out, within a bound */
    if ((status == 429 || status == 503) &&
        ofctx__curl.easy_getinfo(call->easy, CURLINFO_RETRY_AFTER, &after) == CURLE_OK)
      wait = ofctx__retry_after_ms(wait, (int64_t)after);
    uv_timer_start(&call->backoff, backoff_done, wait, 0);
    return;
  }
  call_finish(call, 0, (int)status, error);
}

static void check_done(ofctx__dapr_http_client_t *c) {
  CURLMsg *msg;
  int left;

  while ((msg = ofctx__curl.multi_info_read(c->multi, &left)) != NULL) {
    call_t *call = NULL;
    if (msg->msg != CURLMSG_DONE)
      continue;
    ofctx__curl.easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&call);
    if (call)
      attempt_done(call, msg->data.result);
  }
}

static void ignore_result(void *arg, const ofctx__dapr_result_t *result) {
  (void)arg;
  (void)result;
}

/* A call from the pool, or a new one with its curl handle set up. */
static call_t *call_take(ofctx__dapr_http_client_t *c) {
  call_t *call = c->pool;

  if (call) {
    c->pool = call->next;
    c->pool_count--;
    return call;
  }
  call = ofctx__calloc(1, sizeof *call);
  if (!call)
    return NULL;
  call->easy = ofctx__curl.easy_init();
  if (!call->easy) {
    ofctx__free(call);
    return NULL;
  }
  call->client = c;
  ofctx__curl.easy_setopt(call->easy, CURLOPT_PRIVATE, call);
  ofctx__curl.easy_setopt(call->easy, CURLOPT_WRITEFUNCTION, write_cb);
  ofctx__curl.easy_setopt(call->easy, CURLOPT_WRITEDATA, call);
  ofctx__curl.easy_setopt(call->easy, CURLOPT_HEADERFUNCTION, header_cb);
  ofctx__curl.easy_setopt(call->easy, CURLOPT_HEADERDATA, call);
  ofctx__curl.easy_setopt(call->easy, CURLOPT_ERRORBUFFER, call->errbuf);
  ofctx__curl.easy_setopt(call->easy, CURLOPT_NOSIGNAL, 1L);
  ofctx__curl.easy_setopt(call->easy, CURLOPT_PROTOCOLS_STR, c->https ? "https" : "http");
  /* The path goes out as it was built: curl never removes dot segments
   * (the callers refuse them; this keeps a slip from reaching another API). */
  ofctx__curl.easy_setopt(call->easy, CURLOPT_PATH_AS_IS, 1L);
  /* The sidecar is next door: never through a proxy from http_proxy & co.,
   * which would also see the token. */
  ofctx__curl.easy_setopt(call->easy, CURLOPT_PROXY, "");
  ofctx__curl.easy_setopt(call->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  ofctx__curl.easy_setopt(call->easy, CURLOPT_OPENSOCKETDATA, c);
  ofctx__curl.easy_setopt(call->easy, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
  ofctx__curl.easy_setopt(call->easy, CURLOPT_CLOSESOCKETDATA, c);
  uv_timer_init(c->loop, &call->backoff);
  call->backoff.data = call;
  c->handles++;
  return call;
}

/* Appends a line, or frees the whole list when it cannot. */
static struct curl_slist *add_header(struct curl_slist *list, const char *line) {
  struct curl_slist *more = list ? ofctx__curl.slist_append(list, line) : NULL;

  if (!more)
    ofctx__curl.slist_free_all(list);
  return more;
}

/* "Expect:" (no 100-continue round trip on large bodies), the type, the
 * token, the call's own lines (NULL-ended, or NULL); NULL when out of
 * memory. */
static struct curl_slist *headers_for(const ofctx__dapr_http_client_t *c, const char *content_type,
                                      const char *const *lines) {
  struct curl_slist *list = ofctx__curl.slist_append(NULL, "Expect:");

  if (content_type) { /* whole, however long */
    ofctx__buf_t line = {0};
    ofctx__buf_puts(&line, "Content-Type: ");
    ofctx__buf_puts(&line, content_type);
    if (line.failed) {
      ofctx__curl.slist_free_all(list);
      return NULL;
    }
    list = add_header(list, line.data);
    ofctx__buf_free(&line);
  }
  if (c->token_header)
    list = add_header(list, c->token_header);
  for (; lines && *lines && list; lines++)
    list = add_header(list, *lines);
  return list;
}

ofctx_err_t ofctx__dapr_call(ofctx__dapr_http_client_t *c, const char *method, const char *path,
                             const char *content_type, const char *const *headers, const void *body,
                             size_t body_len, const ofctx__retry_policy_t *policy,
                             ofctx__dapr_done_fn done, void *arg) {
  call_t *call;
  ofctx__buf_t url = {0};
  int json = content_type && strcmp(content_type, "application/json") == 0;
  int bodyless = strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0;

  if (c->closing)
    return OFCTX_ESEND;
  if (c->spare_count < c->pending + 1) {
    sock_t *spare = ofctx__calloc(1, sizeof *spare);
    if (!spare)
      return OFCTX_ENOMEM;
    spare_put(c, spare);
  }
  call = call_take(c);
  if (!call)
    return OFCTX_ENOMEM;
  call->policy = policy ? *policy : c->policy;
  if (call->policy.max_attempts < 1)
    call->policy.max_attempts = 1;
  call->attempts = 0;
  call->done = done;
  call->arg = arg;
  call->body = ofctx__malloc(body_len + 1);
  call->headers = json && !headers ? c->json_headers : headers_for(c, content_type, headers);
  ofctx__buf_puts(&url, c->base);
  ofctx__buf_puts(&url, path);
  if (!call->body || !call->headers || url.failed ||
      ofctx__curl.easy_setopt(call->easy, CURLOPT_URL, url.data) != CURLE_OK) {
    ofctx__buf_free(&url);
    if (call->headers != c->json_headers)
      ofctx__curl.slist_free_all(call->headers);
    ofctx__free(call->body);
    call_destroy(call);
    return OFCTX_ENOMEM;
  }
  ofctx__buf_free(&url); /* curl keeps a copy */
  if (body_len)
    memcpy(call->body, body, body_len);
  call->body_len = body_len;
  ofctx__curl.easy_setopt(call->easy, CURLOPT_HTTPHEADER, call->headers);
  ofctx__curl.easy_setopt(call->easy, CURLOPT_TIMEOUT_MS, (long)call->policy.timeout_ms);
  if (bodyless) { /* no body left from the handle's last call */
    ofctx__curl.easy_setopt(call->easy, CURLOPT_POSTFIELDS, NULL);
    ofctx__curl.easy_setopt(call->easy, CURLOPT_HTTPGET, 1L);
  } else {
    ofctx__curl.easy_setopt(call->easy, CURLOPT_POSTFIELDS, call->body);
    ofctx__curl.easy_setopt(call->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
  }
  ofctx__curl.easy_setopt(call->easy, CURLOPT_CUSTOMREQUEST,
                          strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0 ? NULL
                                                                                    : method);
  OFCTX__LIST_PUSH(c->calls, call);
  c->pending++;
  if (call_start_attempt(call) != 0) {
    call->done = ignore_result; /* the caller hears of it from the return value */
    call_finish(call, 0, 0, "cannot start the request");
    return OFCTX_ESEND;
  }
  return 0;
}

size_t ofctx__dapr_http_client_pending(const ofctx__dapr_http_client_t *c) { return c->pending; }

static void handle_closed(uv_handle_t *handle) {
  ofctx__dapr_http_client_t *c = handle->data;

  c->handles--;
  maybe_free(c);
}

ofctx_err_t ofctx__dapr_http_client_new(ofctx__dapr_http_client_t **out, uv_loop_t *loop,
                                        const char *host, int port, const char *token,
                                        const ofctx__retry_policy_t *policy) {
  size_t len = strlen(host) + 32;
  char *base = ofctx__malloc(len);
  ofctx_err_t rc;

  *out = NULL;
  if (!base)
    return OFCTX_ENOMEM;
  snprintf(base, len,
           strchr(host, ':') != NULL && host[0] != '[' ? "http://[%s]:%d" : "http://%s:%d", host,
           port);
  rc = ofctx__http_client_new(out, loop, base, token, policy);
  ofctx__free(base);
  if (rc == OFCTX_OK)
    (*out)->sidecar = 1;
  return rc;
}

ofctx_err_t ofctx__http_client_new(ofctx__dapr_http_client_t **out, uv_loop_t *loop,
                                   const char *base, const char *token,
                                   const ofctx__retry_policy_t *policy) {
  ofctx__dapr_http_client_t *c;

  *out = NULL;
  if (ofctx__curl_open() != 0)
    return OFCTX_ESEND;
  c = ofctx__calloc(1, sizeof *c);
  if (!c)
    return OFCTX_ENOMEM;
  c->loop = loop;
  if (policy)
    c->policy = *policy;
  else
    ofctx__retry_policy_default(&c->policy);
  c->rng = uv_hrtime() | 1;
  c->https = strncmp(base, "https://", 8) == 0;
  c->base = ofctx__strdup(base);
  if (token)
    c->token_header = ofctx__malloc(strlen(token) + sizeof "dapr-api-token: ");
  c->multi = ofctx__curl.multi_init();
  if (!c->base || (token && !c->token_header) || !c->multi)
    goto fail;
  if (token)
    snprintf(c->token_header, strlen(token) + sizeof "dapr-api-token: ", "dapr-api-token: %s",
             token);
  c->json_headers = headers_for(c, "application/json", NULL);
  if (!c->json_headers)
    goto fail;
  ofctx__curl.multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
  ofctx__curl.multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
  ofctx__curl.multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_function);
  ofctx__curl.multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
  /* Bursts of sends queue for a connection instead of using up descriptors. */
  ofctx__curl.multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 64L);
  /* and stay open between bursts (the default cache follows the number of
   * transfers in progress, and would close most of them) */
  ofctx__curl.multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 64L);
  uv_timer_init(loop, &c->timer);
  c->timer.data = c;
  c->handles = 1;
  *out = c;
  return 0;
fail:
  if (c->multi)
    ofctx__curl.multi_cleanup(c->multi);
  ofctx__free(c->base);
  ofctx__free(c->token_header);
  ofctx__free(c);
  return OFCTX_ENOMEM;
}

void ofctx__dapr_http_client_close(ofctx__dapr_http_client_t *c, void (*closed)(void *),
                                   void *arg) {
  c->closing = 1;
  c->closed = closed;
  c->closed_arg = arg;
  while (c->calls)
    call_finish(c->calls, 0, 0, "cancelled");
  while (c->pool) {
    call_t *call = c->pool;
    c->pool = call->next;
    call_destroy(call);
  }
  c->pool_count = 0;
  ofctx__curl.multi_cleanup(c->multi);
  c->multi = NULL;
  while (c->socks) /* what curl did not remove itself */
    sock_close(c->socks);
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->timer, handle_closed);
}
