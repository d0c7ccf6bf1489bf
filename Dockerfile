# Image of todo-web and todo-worker: one image, two commands.
#
#   docker build -t todo .
#   docker run --rm todo                  # todo-web (the default command)
#   docker run --rm todo todo-worker
#
# The build stage compiles both binaries on debian:bookworm with Debian's
# -dev packages. The runtime stage is debian:bookworm-slim with only the
# shared libraries they load, the static files and the two binaries. It runs
# as uid 10001, needs no writable path outside /tmp, and keeps running with
# every capability dropped (compose.yaml runs it that way).

FROM debian:bookworm AS build

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake make pkg-config libboost1.81-dev libpq-dev libhiredis-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY migrations migrations
COPY static static
COPY src src
COPY app app

# The build context has no .git folder, so the commit comes in as an argument.
ARG REVISION=unknown
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTODO_BUILD_TESTS=OFF -DTODO_REVISION="${REVISION}" \
 && cmake --build build -j "$(nproc)" --target todo-web todo-worker \
 && strip --strip-unneeded build/todo-web build/todo-worker


FROM debian:bookworm-slim AS runtime

# libpq5 brings OpenSSL, Kerberos and LDAP, which libpq loads; libstdc++ is
# already in the base image.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libpq5 libhiredis0.14 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 todo \
 && useradd --system --uid 10001 --gid todo --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin todo

COPY --from=build /src/build/todo-web /src/build/todo-worker /usr/local/bin/
COPY static /usr/share/todo/static

ENV STATIC_DIR=/usr/share/todo/static

USER 10001:10001
WORKDIR /
EXPOSE 5000 9100

# Both binaries stop gracefully on SIGTERM, also as PID 1: they install
# their own handler and start no child process, so no init is needed.
STOPSIGNAL SIGTERM

# GET /healthz with bash's /dev/tcp, because the image has no curl or wget.
# The port depends on the command: METRICS_PORT when a todo-worker process
# runs, PORT otherwise. Every process is looked at, not only PID 1, because
# `docker run --init` makes docker-init PID 1. It assumes BIND_ADDRESS
# covers 127.0.0.1, as the default 0.0.0.0 does.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["bash", "-c", "port=${PORT:-5000}; for comm in /proc/[0-9]*/comm; do read -r name <\"$comm\" && [[ $name == todo-worker ]] && { port=${METRICS_PORT:-9100}; break; }; done 2>/dev/null; exec 3<>/dev/tcp/127.0.0.1/$port || exit 1; printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3; read -r -t 2 version status rest <&3; [[ $status == 200 ]]"]

CMD ["todo-web"]

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="todo" \
      org.opencontainers.image.description="Todo web service (todo-web) and export worker (todo-worker), with JSON logs, Prometheus metrics and OpenTelemetry traces" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="debian:bookworm-slim"
