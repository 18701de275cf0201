/* librdkafka through dlopen. See rdkafka_lib.h. */
#include <stddef.h>
#include <stdio.h>

#include "dl_table.h"
#include "rdkafka_lib.h"

ofctx__rdkafka_t ofctx__rdkafka;

/* Each field of ofctx__rdkafka and the symbol that fills it. */
#define OFCTX__RDKAFKA_SYMBOL(name) {offsetof(ofctx__rdkafka_t, name), "rd_kafka_" #name},
static const ofctx__dl_symbol_t symbols[] = {OFCTX__RDKAFKA_FUNCTIONS(OFCTX__RDKAFKA_SYMBOL)};

static const ofctx__dl_table_t library = {
    .env = "OFCTX_LIBRDKAFKA",
    .soname = "librdkafka.so.1",
    .library = "librdkafka",
    .package = "librdkafka1",
    .symbols = symbols,
    .count = sizeof symbols / sizeof symbols[0],
};

static int state; /* 0 not tried, 1 open, -1 failed */
static char failure[512];

int ofctx__rdkafka_open(char *why, size_t size) {
  if (state == 0)
    state = ofctx__dl_table_open(&library, &ofctx__rdkafka, NULL, failure, sizeof failure) ? 1 : -1;
  if (state < 0 && why && size)
    snprintf(why, size, "%s", failure);
  return state > 0 ? 0 : -1;
}
