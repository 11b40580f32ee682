# crdt-redis: one replica per container.
#
#   docker build -t crdt-redis .
#   docker run -d --name a -p 6379:6379 -p 8080:8080 -v crdt-a:/data \
#       -e CRDT_REDIS_REPLICA_ID=a -e CRDT_REDIS_PEERS=http://b:8080,http://c:8080 crdt-redis
#
# Mount points:
#   /data                       the data directory (identity, MANIFEST, *.base, *.seg). Mount a
#                               volume here: a node whose /data is lost rejoins as a new
#                               incarnation and re-syncs everything from its peers.
#   /etc/crdt-redis/node.json   the config file; the default is config/node.example.json
#                               (bind 0.0.0.0, data_dir /data). Mount your own read-only, or
#                               override single fields with CRDT_REDIS_<FIELD> env vars
#                               (flag > env > file > default).
# Ports: 6379 RESP (server_port), 8080 HTTP /health /stats /config /metrics + replication
# (http_port). The HEALTHCHECK below assumes http_port stays 8080.

# Build the wheel in a throwaway stage so the build context (.git, caches, local data dirs)
# and the compiler never land in a layer of the final image. With gcc there, setup.py
# compiles its hot modules (mypyc and Cython). python:3.11-slim has no compiler, and
# without one the wheel is pure Python: the same behaviour at 40-70% more CPU a request
# (bench/RESULTS.md). A failed compile still gives a valid, pure wheel.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels \
    && useradd --system --uid 10001 --no-create-home --home-dir /data crdt \
    && mkdir -p /data /etc/crdt-redis && chown crdt /data
COPY config/node.example.json /etc/crdt-redis/node.json

# Declared after the chown so a fresh named volume inherits the crdt user's ownership.
VOLUME ["/data"]
EXPOSE 6379 8080
USER crdt
WORKDIR /data

HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2)"]

ENTRYPOINT ["crdt-redis"]
CMD ["--config", "/etc/crdt-redis/node.json"]
