/* echo: the smallest libofctx function. It answers each event with its own
 * data, and sends the data on to every output the function context names.
 * Under the Knative runtime it answers a CloudEvent with a CloudEvent.
 * Build: cc -o echo echo.c $(pkg-config --cflags --libs libofctx) */
#include <ofctx/ofctx.h>

static ofctx_result_t echo(ofctx_t *ctx, const ofctx_event_t *in) {
  const ofctx_config_t *cfg = ofctx_config(ctx);
  size_t len;
  const char *data = ofctx_event_data(in, &len);

  if (ofctx_set_reply(ctx, data, len) != OFCTX_OK)
    return OFCTX_ERROR;
  if (ofctx_event_kind(in) == OFCTX_EVENT_CLOUDEVENT &&
      (ofctx_set_reply_attribute(ctx, "type", "dev.libofctx.echo") != OFCTX_OK ||
       ofctx_set_reply_attribute(ctx, "source", "/echo") != OFCTX_OK ||
       ofctx_set_reply_attribute(ctx, "inreplyto", ofctx_event_attribute(in, "id")) != OFCTX_OK ||
       (ofctx_event_content_type(in) &&
        ofctx_set_reply_attribute(ctx, "datacontenttype", ofctx_event_content_type(in)) !=
            OFCTX_OK)))
    return OFCTX_ERROR;
  for (size_t i = 0; i < ofctx_config_output_count(cfg); i++) {
    const char *output = ofctx_component_name(ofctx_config_output_at(cfg, i));
    ofctx_err_t rc = ofctx_send_to(ctx, output, data, len, NULL);
    if (rc == OFCTX_EINVAL) { /* data no binding can carry: retrying cannot help */
      ofctx_log(ctx, OFCTX_LOG_WARN, "cannot send to %s: %s", output, ofctx_strerror(rc));
      return OFCTX_DROP;
    }
    if (rc != OFCTX_OK) {
      ofctx_log(ctx, OFCTX_LOG_ERROR, "cannot send to %s: %s", output, ofctx_strerror(rc));
      return OFCTX_ERROR;
    }
  }
  return OFCTX_SUCCESS;
}

int main(int argc, char **argv) { return ofctx_main(argc, argv, echo); }
