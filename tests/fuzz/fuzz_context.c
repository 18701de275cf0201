/* Fuzz target: FUNC_CONTEXT documents (either shape) through the parser;
 * a context that loads must print, and its accessors must hold. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ofctx/ofctx.h>

static const char *self_host(void *arg, const char *name) {
  (void)arg;
  return strcmp(name, "CONTEXT_MODE") == 0 ? "self-host" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ofctx_config_t *cfg = NULL;
  ofctx_error_t err;
  char *text;

  if (ofctx_config_parse(&cfg, "FUNC_CONTEXT", (const char *)data, size, self_host, NULL, &err) !=
      OFCTX_OK)
    return 0;
  text = ofctx_config_to_json(cfg);
  if (!text)
    abort(); /* memory is not short here */
  for (size_t i = 0; i < ofctx_config_input_count(cfg); i++) {
    const ofctx_component_t *in = ofctx_config_input_at(cfg, i);
    if (ofctx_config_input(cfg, ofctx_component_name(in)) != in || !ofctx_component_type(in))
      abort();
  }
  for (size_t i = 0; i < ofctx_config_output_count(cfg); i++) {
    const ofctx_component_t *out = ofctx_config_output_at(cfg, i);
    if (ofctx_config_output(cfg, ofctx_component_name(out)) != out)
      abort();
  }
  ofctx_free(text);
  ofctx_config_free(cfg);
  return 0;
}
