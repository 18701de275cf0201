# The run image of the libofctx builder: Debian 12 slim with only the
# runtime libraries (the function and libofctx come in their layers).
#   podman build -f buildpack/builder/run.Dockerfile -t REGISTRY/libofctx-run:debian12 .
FROM debian:12-slim
# libcurl4 is opened at the first send over HTTP (dlopen): ldd does not show it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libuv1 libjansson4 libhttp-parser2.9 libpcre2-8-0 libyaml-0-2 \
      libnghttp2-14 libprotobuf-c1 librdkafka1 libcurl4 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ARG cnb_uid=1000
ARG cnb_gid=1000
RUN groupadd --gid ${cnb_gid} cnb && useradd --uid ${cnb_uid} --gid ${cnb_gid} -M -s /usr/sbin/nologin cnb
LABEL io.buildpacks.stack.id="dev.openfunction.libofctx.debian12" \
      io.buildpacks.base.distro.name="debian" io.buildpacks.base.distro.version="12"
USER ${cnb_uid}:${cnb_gid}
