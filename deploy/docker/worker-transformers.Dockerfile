# syntax=docker/dockerfile:1.7
# The Hugging Face Transformers worker (workers/transformers/, Python): ghcr.io/tokenforge/worker-transformers.
# It speaks the worker protocol (PROTOCOL.md) on port 8000.
#
#   docker build -f deploy/docker/worker-transformers.Dockerfile -t ghcr.io/tokenforge/worker-transformers:dev .

ARG PYTORCH_IMAGE=pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

FROM ${PYTORCH_IMAGE} AS runtime
ARG TRANSFORMERS_VERSION=4.46.3
ARG ACCELERATE_VERSION=1.1.1
ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HOME=/var/cache/huggingface
# The engine libraries first (they change least), cached in ~/.cache/pip across builds.
RUN --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    pip install "transformers==${TRANSFORMERS_VERSION}" "accelerate==${ACCELERATE_VERSION}"
RUN groupadd --system --gid 1000 tokenforge \
 && useradd --system --uid 1000 --gid tokenforge --home-dir /app --shell /usr/sbin/nologin tokenforge \
 && mkdir -p /app /var/cache/huggingface \
 && chown -R tokenforge:tokenforge /app /var/cache/huggingface
WORKDIR /app
# The worker's own requirements (if it lists any), then its code.
COPY workers/transformers/ ./
RUN --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    if [ -f requirements.txt ]; then pip install -r requirements.txt; fi
USER tokenforge
VOLUME ["/var/cache/huggingface"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"]
# The default model needs no download; give your own with `--model ID` (the container args replace these).
CMD ["python", "server.py", "--host", "0.0.0.0", "--port", "8000", "--model", "synthetic:tiny"]
