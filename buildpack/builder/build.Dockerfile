# The build image of the libofctx builder: Debian 12 with the compiler and
# the -dev packages that libofctx and a function need.
#   podman build -f buildpack/builder/build.Dockerfile -t REGISTRY/libofctx-build:debian12 .
FROM debian:12
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev make cmake pkgconf binutils \
      libuv1-dev libjansson-dev libhttp-parser-dev libcurl4-openssl-dev libpcre2-dev libyaml-dev \
      libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler zlib1g-dev librdkafka-dev git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ARG cnb_uid=1000
ARG cnb_gid=1000
RUN groupadd --gid ${cnb_gid} cnb && useradd --uid ${cnb_uid} --gid ${cnb_gid} -m -s /bin/bash cnb
ENV CNB_USER_ID=${cnb_uid} CNB_GROUP_ID=${cnb_gid}
LABEL io.buildpacks.stack.id="dev.openfunction.libofctx.debian12" \
      io.buildpacks.base.distro.name="debian" io.buildpacks.base.distro.version="12"
USER ${cnb_uid}:${cnb_gid}
