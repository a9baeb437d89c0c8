# hoplink: one image for every role (web, worker, migrations); the command picks the role.
#   docker build -t hoplink .
#   docker run --rm hoplink --help
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOPLINK_HOST=0.0.0.0 \
    HOPLINK_PORT=8080 \
    HOPLINK_DATA_DIR=/var/lib/hoplink

# A fixed numeric id, so volumes keep their owner across image rebuilds.
RUN groupadd --system --gid 10001 hoplink \
 && useradd --system --uid 10001 --gid hoplink --home-dir /var/lib/hoplink \
      --shell /usr/sbin/nologin hoplink \
 && install -d -o hoplink -g hoplink -m 0700 /var/lib/hoplink

WORKDIR /opt/hoplink
COPY pyproject.toml README.md ./
COPY src ./src
# Every dependency ships a manylinux wheel for CPython 3.11: no compiler in the image.
RUN pip install . && rm -rf /opt/hoplink/src

USER hoplink
WORKDIR /var/lib/hoplink
# The web role keeps its local click spool (used while Redis is unreachable) here.
VOLUME ["/var/lib/hoplink"]
EXPOSE 8080

# Liveness of the web role. Other roles override it (compose: the worker checks its
# metrics port, the one-shot migration disables it). No curl in the slim image: Python.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ.get('HEALTHCHECK_URL', 'http://127.0.0.1:8080/healthz'), timeout=4)"]

ENTRYPOINT ["hoplink"]
CMD ["serve"]
