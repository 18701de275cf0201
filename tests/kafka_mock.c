/* A Kafka cluster for the direct mode's tests: librdkafka's mock cluster
 * (a real implementation of the Kafka protocol, brokers on loopback TCP),
 * with the topics named on the command line, until SIGTERM or SIGINT.
 *
 *   kafka_mock [--brokers N] TOPIC[:PARTITIONS] ...
 *
 * Prints the bootstrap address ("127.0.0.1:PORT,...") as its first line on
 * stdout once the topics exist; exits 1 when it cannot start. The mock has
 * no CreateTopics, so the topics a test needs are made here. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop;

static void on_signal(int signum) {
  (void)signum;
  stop = 1;
}

/* "name" or "name:partitions" into `name` (at most `size` bytes) and
 * `*partitions`: 0, or -1 when it is neither. */
static int topic_arg(const char *arg, char *name, size_t size, int *partitions) {
  const char *colon = strchr(arg, ':');
  size_t len = colon ? (size_t)(colon - arg) : strlen(arg);
  char *end;
  long n = 1;

  if (colon) {
    n = strtol(colon + 1, &end, 10);
    if (*end || n < 1 || n > 64)
      return -1;
  }
  if (len == 0 || len >= size)
    return -1;
  memcpy(name, arg, len);
  name[len] = '\0';
  *partitions = (int)n;
  return 0;
}

int main(int argc, char **argv) {
  char errstr[512], name[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_mock_cluster_t *cluster;
  rd_kafka_t *rk;
  int brokers = 1, first = 1, partitions;
  struct sigaction sa;
  sigset_t block, wait_mask;

  /* blocked until sigsuspend, so that none comes between the check and the wait */
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigprocmask(SIG_BLOCK, &block, &wait_mask);
  sigdelset(&wait_mask, SIGTERM);
  sigdelset(&wait_mask, SIGINT);
  if (argc > 2 && strcmp(argv[1], "--brokers") == 0) {
    char *end;
    long n = strtol(argv[2], &end, 10);
    if (*end || n < 1 || n > 16) {
      fprintf(stderr, "kafka_mock: --brokers takes 1 to 16\n");
      return 1;
    }
    brokers = (int)n;
    first = 3;
  }
  /* The mock lives in a handle of its own; the producer is never used. */
  rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    fprintf(stderr, "kafka_mock: %s\n", errstr);
    return 1;
  }
  cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (!cluster) {
    fprintf(stderr, "kafka_mock: cannot start the mock cluster\n");
    rd_kafka_destroy(rk);
    return 1;
  }
  for (int i = first; i < argc; i++) {
    rd_kafka_resp_err_t err;
    if (topic_arg(argv[i], name, sizeof name, &partitions) != 0) {
      fprintf(stderr, "kafka_mock: not a topic: %s (TOPIC[:PARTITIONS])\n", argv[i]);
      stop = 1;
      break;
    }
    err = rd_kafka_mock_topic_create(cluster, name, partitions, 1);
    if (err) {
      fprintf(stderr, "kafka_mock: topic %s: %s\n", name, rd_kafka_err2str(err));
      stop = 1;
      break;
    }
  }
  if (!stop) {
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
    fflush(stdout);
  }
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  while (!stop)
    sigsuspend(&wait_mask);
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
