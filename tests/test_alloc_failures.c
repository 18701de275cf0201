/* Allocation failures along the main paths: with ofctx_replace_allocator,
 * the Nth allocation fails, for every N until a run needs fewer than N.
 * Each run must end with a clean error (or a counted failed event), never a
 * crash, and with every allocation given back.
 *   - parse: every valid function context of tests/data/context, loaded
 *     through its case environment, then printed and read back;
 *   - invoke and send: ofctx_main_opts with --context and --invoke (the
 *     local runtime) on events that reply, send to a binding and publish;
 *   - the servers: the Async runtime over HTTP and over gRPC (its sends
 *     over gRPC too), and the Knative runtime, on real sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <execinfo.h>
#include <ofctx/ofctx.h>

#include "case_util.h"

/* The failing allocator: counts calls and live blocks, and keeps the stack
 * of the allocation it failed, which a failed check prints. */
static struct {
  long calls, fail_at, failed, live;
  void *frames[24];
  int depth;
} counter;

static void trace(void) { counter.depth = backtrace(counter.frames, 24); }

/* Fails the test, first printing where the failed allocation came from. */
#define fail_at_allocation(...)                                                                    \
  do {                                                                                             \
    fprintf(stderr, "the failed allocation:\n");                                                   \
    backtrace_symbols_fd(counter.frames, counter.depth, 2);                                        \
    fail_msg(__VA_ARGS__);                                                                         \
  } while (0)

static void *failing_malloc(size_t size, void *arg) {
  (void)arg;
  if (++counter.calls == counter.fail_at) {
    counter.failed++;
    trace();
    return NULL;
  }
  counter.live++;
  return malloc(size);
}

static void *failing_realloc(void *ptr, size_t size, void *arg) {
  void *p;
  (void)arg;
  if (++counter.calls == counter.fail_at) {
    counter.failed++;
    trace();
    return NULL;
  }
  p = realloc(ptr, size);
  if (p && !ptr)
    counter.live++;
  return p;
}

static void failing_free(void *ptr, void *arg) {
  (void)arg;
  if (ptr)
    counter.live--;
  free(ptr);
}

/* Only libofctx's own allocations fail here. jansson's are left alone:
 * Debian's jansson 2.14 itself crashes when an allocation inside json_loads
 * fails (a ten-line program that fails its Nth malloc shows it), so failing
 * them would test jansson, not libofctx. */
static void arm(long fail_at) {
  static const ofctx_allocator_t failing = {sizeof failing, failing_malloc, failing_realloc,
                                            failing_free, NULL};
  memset(&counter, 0, sizeof counter);
  counter.fail_at = fail_at;
  assert_int_equal(ofctx_replace_allocator(&failing), OFCTX_OK);
}

/* OFCTX_FAIL_ONLY=N runs the servers with only allocation N failing. */
static long first_n(void) {
  const char *only = getenv("OFCTX_FAIL_ONLY");
  return only ? atol(only) : 1;
}

static void disarm(void) { assert_int_equal(ofctx_replace_allocator(NULL), OFCTX_OK); }

static void replace_allocator_arguments(void **state) {
  ofctx_allocator_t incomplete = {sizeof incomplete, failing_malloc, NULL, failing_free, NULL};
  ofctx_allocator_t unsized = {0, failing_malloc, failing_realloc, failing_free, NULL};
  (void)state;
  assert_int_equal(ofctx_replace_allocator(&incomplete), OFCTX_EINVAL);
  assert_int_equal(ofctx_replace_allocator(&unsized), OFCTX_EINVAL);
  assert_int_equal(ofctx_replace_allocator(NULL), OFCTX_OK);
}

/* ---- parse ---- */

static void parse_case(void **state) {
  const char *dir = *state;
  long n;

  for (n = 1;; n++) {
    case_env_t env;
    ofctx_config_t *cfg = NULL;
    ofctx_error_t err;
    ofctx_err_t rc;

    case_env_load(&env, dir); /* with the test's own allocator: malloc */
    arm(n);
    rc = ofctx_config_load(&cfg, case_env_get, &env, &err);
    if (rc == OFCTX_OK) {
      char *text = ofctx_config_to_json(cfg);
      if (text) {
        ofctx_config_t *again = NULL;
        if (ofctx_config_parse(&again, "printed", text, strlen(text), case_env_get, &env, &err) ==
            OFCTX_OK)
          ofctx_config_free(again);
        ofctx_free(text);
      }
      ofctx_config_free(cfg);
    } else {
      /* a failed allocation is reported as such, with a message */
      assert_int_equal(counter.failed, 1);
      assert_int_equal(rc, OFCTX_ENOMEM);
      assert_true(err.message[0] != '\0');
    }
    assert_int_equal(counter.live, 0);
    disarm();
    case_env_free(&env);
    if (counter.calls < n)
      break; /* this run needed fewer allocations: every one has failed once */
  }
  assert_true(n > 1);
}

/* ---- invoke and send, through the local runtime ---- */

static void sent(ofctx_t *ctx, const ofctx_send_result_t *r, void *arg) {
  (void)r;
  (void)arg;
  ofctx_log(ctx, OFCTX_LOG_DEBUG, "sent");
}

static ofctx_result_t busy(ofctx_t *ctx, const ofctx_event_t *in) {
  size_t len;
  const char *data = ofctx_event_data(in, &len);
  const char *const metadata[] = {"key", "value", NULL};
  ofctx_send_opts_t opts = {sizeof opts, NULL, metadata, NULL, sent, NULL};
  ofctx_result_t rc = OFCTX_SUCCESS;

  if (ofctx_set_reply(ctx, data, len) != OFCTX_OK)
    rc = OFCTX_ERROR;
  if (ofctx_send_to(ctx, "out", data, len, &opts) != OFCTX_OK)
    rc = OFCTX_ERROR;
  if (ofctx_send_to(ctx, "pub", data, len, NULL) != OFCTX_OK)
    rc = OFCTX_ERROR;
  if (ofctx_invoke_binding(ctx, "direct", "create", "{}", 2, NULL) != OFCTX_OK)
    rc = OFCTX_ERROR;
  ofctx_log(ctx, OFCTX_LOG_INFO, "handled %zu bytes", len);
  return rc;
}

static char *write_temp(const char *text) {
  char *path = strdup("/tmp/ofctx-alloc-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  return path;
}

static void local_runtime(void **state) {
  char *context = write_temp(
      "{\"name\":\"fails\",\"runtime\":\"Async\","
      "\"inputs\":{\"in\":{\"componentName\":\"in\",\"componentType\":\"bindings.kafka\"}},"
      "\"outputs\":{\"out\":{\"componentName\":\"out\",\"componentType\":\"bindings.kafka\","
      "\"operation\":\"create\",\"metadata\":{\"k\":\"v\"}},"
      "\"pub\":{\"uri\":\"t\",\"componentName\":\"ps\",\"componentType\":\"pubsub.kafka\"}}}");
  char *events = write_temp("{\"a\":1}\nplain text\n\n{\"b\":[1,2,3]}\n");
  char *argv[] = {"fails", "--context", context, "--invoke", events, NULL};
  ofctx_main_opts_t opts = {.size = sizeof opts, .function = busy};
  int saved_out = dup(1), saved_err = dup(2), null = open("/dev/null", O_WRONLY);
  long n, failures_seen = 0;
  (void)state;

  setenv("OFCTX_LOG_LEVEL", "debug", 1); /* the log path allocates too */
  for (n = 1;; n++) {
    int status;
    fflush(stdout);
    dup2(null, 1);
    dup2(null, 2);
    arm(n);
    status = ofctx_main_opts(5, argv, &opts);
    disarm();
    fflush(stdout);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    if (counter.failed)
      failures_seen++;
    /* 0: every line handled (failed events are counted, not fatal);
     * 1: could not start or read the events; 2: no context could be built */
    if (status < 0 || status > 2)
      fail_at_allocation("allocation %ld: exit status %d", n, status);
    if (counter.live != 0)
      fail_at_allocation("allocation %ld failed: %ld blocks left", n, counter.live);
    if (counter.calls < n)
      break;
  }
  assert_true(failures_seen > 20);
  unsetenv("OFCTX_LOG_LEVEL");
  close(null);
  close(saved_out);
  close(saved_err);
  unlink(context);
  unlink(events);
  free(context);
  free(events);
}

/* ---- the servers: the async runtime and the Knative runtime ---- */

typedef struct {
  int port;
  const char *const *requests;
  const size_t *lens; /* of each request; NULL: they are C strings */
  volatile int stop;
  int hung; /* requests that got neither an answer nor a close in time */
  const char *hung_request;
} client_t;

static int free_port(void) {
  struct sockaddr_in a = {0};
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0), port;

  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  getsockname(fd, (struct sockaddr *)&a, &len);
  port = ntohs(a.sin_port);
  close(fd);
  return port;
}

static int connect_to(int port) {
  struct sockaddr_in a = {0};
  struct timeval tv = {3, 0};
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Each request on its own connection (Connection: close), read until the
 * server closes; then SIGTERM. */
static void *client_main(void *arg) {
  client_t *c = arg;
  int fd = -1;

  for (int tries = 0; tries < 400 && !c->stop && fd < 0; tries++) {
    fd = connect_to(c->port);
    if (fd < 0)
      nanosleep(&(struct timespec){0, 5000000}, NULL);
  }
  if (fd < 0)
    return NULL; /* the server never came up: it failed to start */
  close(fd);
  for (const char *const *r = c->requests; *r && !c->stop; r++) {
    char buf[4096];
    ssize_t n;
    size_t len = c->lens ? c->lens[r - c->requests] : strlen(*r);
    fd = connect_to(c->port);
    if (fd < 0)
      break;
    if (write(fd, *r, len) < 0) {
      close(fd);
      continue;
    }
    while ((n = read(fd, buf, sizeof buf)) > 0)
      ;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      c->hung++;
      c->hung_request = *r;
    }
    close(fd);
  }
  kill(getpid(), SIGTERM);
  return NULL;
}

static ofctx_result_t reply_event(ofctx_t *ctx, const ofctx_event_t *in) {
  ofctx_result_t rc = busy(ctx, in);
  if (ofctx_event_kind(in) == OFCTX_EVENT_CLOUDEVENT &&
      (ofctx_set_reply_attribute(ctx, "type", "t.reply") != OFCTX_OK ||
       ofctx_set_reply_attribute(ctx, "source", "/fails") != OFCTX_OK))
    rc = OFCTX_ERROR;
  return rc;
}

/* A batch function that holds its input until its bulk publish ends, and
 * a tick that sends: the paths of batches, bulk publishes, holds and ticks. */
static void published(ofctx_t *ctx, const ofctx_send_result_t *r, void *arg) {
  (void)r;
  (void)arg;
  ofctx_release(ctx, OFCTX_OK);
}

static ofctx_result_t batch_busy(ofctx_t *ctx, ofctx_batch_t *batch) {
  ofctx_bulk_entry_t entries[8] = {{0}};
  const char *const metadata[] = {"k", "v", NULL};
  ofctx_send_opts_t opts = OFCTX_SEND_OPTS_INIT;
  size_t n = ofctx_batch_count(batch);
  ofctx_err_t rc;

  for (size_t i = 0; i < n && i < 8; i++) {
    const ofctx_event_t *ev = ofctx_batch_event(batch, i);
    entries[i].data = ofctx_event_data(ev, &entries[i].len);
    entries[i].metadata = metadata;
    ofctx_batch_set_status(batch, i, i % 2 ? OFCTX_DROP : OFCTX_SUCCESS);
  }
  opts.done = published;
  if (ofctx_hold(ctx) != OFCTX_OK)
    return OFCTX_ERROR;
  rc = ofctx_publish_bulk(ctx, "ps", "t", entries, n < 8 ? n : 8, &opts);
  if (rc != OFCTX_OK) {
    ofctx_release(ctx, rc);
    return OFCTX_ERROR;
  }
  return OFCTX_SUCCESS;
}

static void tick_busy(ofctx_t *ctx, int stopping, void *user_data) {
  (void)user_data;
  ofctx_send_to(ctx, "out", stopping ? "{\"bye\":1}" : "{\"tick\":1}", stopping ? 9 : 10, NULL);
}

static ofctx_main_opts_t server_opts = {.size = sizeof server_opts, .function = reply_event};

static void server_paths(const char *context, const char *const *requests, const size_t *lens) {
  char port[16], dapr_port[16];
  char *argv[] = {"fails", NULL};
  ofctx_main_opts_t opts = server_opts;
  int saved_err = dup(2), null = open("/dev/null", O_WRONLY);
  long n, failures_seen = 0;

  snprintf(dapr_port, sizeof dapr_port, "%d", free_port()); /* nobody there: sends fail */
  setenv("DAPR_HTTP_PORT", dapr_port, 1);
  setenv("FUNC_CONTEXT", context, 1);
  setenv("CONTEXT_MODE", "self-host", 1);
  setenv("OFCTX_LISTEN_HOST", "127.0.0.1", 1);
  setenv("OFCTX_SEND_ATTEMPTS", "1", 1);
  setenv("OFCTX_DAPR_WAIT_MS", "0", 1);
  setenv("OFCTX_GRACE_PERIOD_MS", "3000", 1);
  setenv("OFCTX_LOG_LEVEL", "debug", 1);
  for (n = first_n();; n++) {
    client_t client = {0, requests, lens, 0, 0, NULL};
    pthread_t thread;
    int status;
    client.port = free_port();
    snprintf(port, sizeof port, "%d", client.port);
    setenv("PORT", port, 1);
    if (getenv("APP_PROTOCOL")) /* sends over gRPC to the function itself: UNIMPLEMENTED */
      setenv("DAPR_GRPC_PORT", port, 1);
    dup2(null, 2);
    arm(n);
    pthread_create(&thread, NULL, client_main, &client);
    status = ofctx_main_opts(1, argv, &opts);
    client.stop = 1;
    pthread_join(thread, NULL);
    disarm();
    dup2(saved_err, 2);
    if (counter.failed)
      failures_seen++;
    /* 0: a clean stop; 1: could not start; 2: no context could be built */
    if (status < 0 || status > 2)
      fail_at_allocation("allocation %ld: exit status %d", n, status);
    if (client.hung)
      fail_at_allocation("allocation %ld failed: %d requests got no answer, such as %.60s", n,
                         client.hung, client.hung_request);
    if (counter.live != 0)
      fail_at_allocation("allocation %ld failed: %ld blocks left", n, counter.live);
    if (counter.calls < n || getenv("OFCTX_FAIL_ONLY"))
      break;
  }
  assert_true(failures_seen > 50 || getenv("OFCTX_FAIL_ONLY"));
  close(null);
  close(saved_err);
}

static void async_server(void **state) {
  static const char *const requests[] = {
      "OPTIONS /in HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
      "POST /in HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX-Key: k\r\nContent-Length: "
      "7\r\n\r\n{\"a\":1}",
      "POST /dapr/pubsub/orders HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: "
      "97\r\n\r\n"
      "{\"id\":\"1\",\"source\":\"s\",\"type\":\"t\",\"specversion\":\"1.0\",\"datacontenttype\":"
      "\"text/plain\",\"data\":\"hi\"}",
      "GET /dapr/subscribe HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
      "POST /dapr/pubsub/orders HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: "
      "212\r\n\r\n"
      "{\"entries\":[{\"entryId\":\"e1\",\"event\":{\"id\":\"1\",\"source\":\"s\",\"type\":\"t\","
      "\"specversion\":\"1.0\",\"data\":\"hi\"},\"metadata\":{\"k\":\"v\"}},{\"entryId\":\"e2\","
      "\"event\":\"aGk=\",\"contentType\":\"text/plain\"},{\"entryId\":\"e3\",\"event\":5}]}",
      "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
      "POST /in HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\n",
      NULL};
  (void)state;
  server_paths(
      "{\"name\":\"fails\",\"runtime\":\"Async\",\"inputs\":{"
      "\"in\":{\"componentName\":\"in\",\"componentType\":\"bindings.kafka\"},"
      "\"orders\":{\"uri\":\"o\",\"componentName\":\"ps\",\"componentType\":\"pubsub.kafka\","
      "\"metadata\":{\"bulkSubscribe\":\"true\"}}},"
      "\"outputs\":{\"out\":{\"componentName\":\"out\",\"componentType\":\"bindings.kafka\"},"
      "\"pub\":{\"uri\":\"t\",\"componentName\":\"ps\",\"componentType\":\"pubsub.kafka\"}}}",
      requests, NULL);
}

/* The same requests to a batch function with a tick. */
static void async_batch_server(void **state) {
  server_opts = (ofctx_main_opts_t){
      .size = sizeof server_opts, .batch = batch_busy, .tick = tick_busy, .tick_ms = 2};
  async_server(state);
  server_opts = (ofctx_main_opts_t){.size = sizeof server_opts, .function = reply_event};
}

static void knative_server(void **state) {
  static const char *const requests[] = {
      "GET /k/x?q=a+b&r=%41 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
      "POST /k/y HTTP/1.1\r\nHost: t\r\nConnection: close\r\nce-specversion: 1.0\r\nce-id: 1\r\n"
      "ce-source: /s\r\nce-type: t\r\nce-ext: a%20b\r\nContent-Type: text/plain\r\n"
      "Content-Length: 2\r\n\r\nhi",
      "POST /k/z HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: "
      "application/cloudevents+json\r\n"
      "Content-Length: "
      "66\r\n\r\n{\"specversion\":\"1.0\",\"id\":\"2\",\"source\":\"/"
      "s\",\"type\":\"t\",\"data\":[1]}",
      "POST /k/z HTTP/1.1\r\nHost: t\r\nConnection: close\r\nce-specversion: "
      "0.3\r\nContent-Length: 0\r\n\r\n",
      "GET /nothing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
      NULL};
  (void)state;
  server_paths(
      "{\"name\":\"fails\",\"runtime\":\"Knative\",\"httpPattern\":\"/k/{name}\","
      "\"outputs\":{\"out\":{\"componentName\":\"out\",\"componentType\":\"bindings.kafka\"},"
      "\"pub\":{\"uri\":\"t\",\"componentName\":\"ps\",\"componentType\":\"pubsub.kafka\"}}}",
      requests, NULL);
}

/* ---- the Async runtime over gRPC: HTTP/2 written by hand ---- */

/* Appends an HTTP/2 frame. */
static size_t h2_frame(char *out, int type, int flags, int stream, const void *payload,
                       size_t len) {
  unsigned char head[9] = {(unsigned char)(len >> 16),
                           (unsigned char)(len >> 8),
                           (unsigned char)len,
                           (unsigned char)type,
                           (unsigned char)flags,
                           0,
                           0,
                           0,
                           (unsigned char)stream};
  memcpy(out, head, 9);
  memcpy(out + 9, payload, len);
  return 9 + len;
}

/* An HPACK literal field without indexing, no Huffman coding. */
static size_t hpack(char *out, const char *name, const char *value) {
  size_t n = strlen(name), v = strlen(value);
  out[0] = 0;
  out[1] = (char)n;
  memcpy(out + 2, name, n);
  out[2 + n] = (char)v;
  memcpy(out + 3 + n, value, v);
  return 3 + n + v;
}

/* One connection with one call of `method` carrying `msg`, then GOAWAY. */
static size_t h2_call(char *out, const char *method, const char *msg, size_t msg_len) {
  char headers[512], data[512];
  size_t n = 0, h = 0;
  char path[128];

  snprintf(path, sizeof path, "/dapr.proto.runtime.v1.%s", method);
  memcpy(out, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
  n = 24;
  n += h2_frame(out + n, 4, 0, 0, "", 0); /* SETTINGS */
  h += hpack(headers + h, ":method", "POST");
  h += hpack(headers + h, ":scheme", "http");
  h += hpack(headers + h, ":path", path);
  h += hpack(headers + h, ":authority", "t");
  h += hpack(headers + h, "content-type", "application/grpc");
  h += hpack(headers + h, "traceparent", "00-abc-def-01");
  n += h2_frame(out + n, 1, 4, 1, headers, h); /* HEADERS, END_HEADERS */
  data[0] = 0;
  data[1] = data[2] = data[3] = 0;
  data[4] = (char)msg_len;
  memcpy(data + 5, msg, msg_len);
  n += h2_frame(out + n, 0, 1, 1, data, 5 + msg_len);     /* DATA, END_STREAM */
  n += h2_frame(out + n, 7, 0, 0, "\0\0\0\0\0\0\0\0", 8); /* GOAWAY */
  return n;
}

static void grpc_server(void **state) {
  /* BindingEventRequest{name "in", data "{}", metadata {k: v}};
   * TopicEventRequest{id, source, type, specversion, topic "o", pubsub "ps", data, extensions} */
  static const char binding[] = "\x0a\x02in\x12\x02{}\x1a\x06\x0a\x01k\x12\x01v";
  static const char topic[] = "\x0a\x01"
                              "1\x12\x01s\x1a\x01t\x22\x03"
                              "1.0\x32\x01o\x3a\x02hi"
                              "\x42\x02ps\x52\x0d\x0a\x0b\x0a\x01x\x12\x06\x2a\x04\x0a\x02\x0a\x00";
  /* TopicEventBulkRequest{entries [{e, cloud_event{1, s, t, 1.0, data "hi"}, metadata {k: v}},
   * {r, bytes "x"}], topic o, pubsub_name ps} */
  static const char bulk[] = "\x12\x1f\x0a\x01"
                             "e\x1a\x12\x0a\x01"
                             "1\x12\x01s\x1a\x01t\x22\x03"
                             "1.0\x32\x02hi\x2a\x06\x0a\x01k\x12\x01v"
                             "\x12\x06\x0a\x01r\x12\x01x\x22\x01o\x2a\x02ps";
  static char bufs[6][1024];
  static const char *requests[7];
  static size_t lens[6];
  (void)state;

  lens[0] = h2_call(bufs[0], "AppCallback/OnBindingEvent", binding, sizeof binding - 1);
  lens[1] = h2_call(bufs[1], "AppCallback/OnTopicEvent", topic, sizeof topic - 1);
  lens[2] = h2_call(bufs[2], "AppCallback/ListTopicSubscriptions", "", 0);
  lens[3] = h2_call(bufs[3], "AppCallback/ListInputBindings", "", 0);
  lens[4] = h2_call(bufs[4], "AppCallbackHealthCheck/HealthCheck", "", 0);
  lens[5] = h2_call(bufs[5], "AppCallback/OnBulkTopicEvent", bulk, sizeof bulk - 1);
  for (int i = 0; i < 6; i++)
    requests[i] = bufs[i];
  requests[6] = NULL;
  setenv("APP_PROTOCOL", "grpc", 1);
  server_paths(
      "{\"name\":\"fails\",\"runtime\":\"Async\",\"inputs\":{"
      "\"in\":{\"componentName\":\"in\",\"componentType\":\"bindings.kafka\"},"
      "\"orders\":{\"uri\":\"o\",\"componentName\":\"ps\",\"componentType\":\"pubsub.kafka\","
      "\"metadata\":{\"m\":\"1\"}}},"
      "\"outputs\":{\"out\":{\"componentName\":\"out\",\"componentType\":\"bindings.kafka\"},"
      "\"pub\":{\"uri\":\"t\",\"componentName\":\"ps\",\"componentType\":\"pubsub.kafka\"}}}",
      requests, lens);
  unsetenv("APP_PROTOCOL");
  unsetenv("DAPR_GRPC_PORT");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(replace_allocator_arguments),
      cmocka_unit_test(local_runtime),
      cmocka_unit_test(async_server),
      cmocka_unit_test(async_batch_server),
      cmocka_unit_test(knative_server),
      cmocka_unit_test(grpc_server),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  return failed + case_run_folder("parse with failing allocations",
                                  OFCTX_TEST_DATA "/context/valid", parse_case);
}
