# syntax=docker/dockerfile:1.7
# vLLM (+ LMCache) built from source at pinned commits: ghcr.io/tokenforge/vllm. The Kubernetes
# backend uses vllm/vllm-openai by default (src/control/kubernetes/containers.ts); this image is
# for a commit, an architecture list or an LMCache build that the published image does not have.
#
#   docker build -f deploy/docker/vllm.Dockerfile \
#     --build-arg VLLM_COMMIT=<sha|tag> --build-arg LMCACHE_COMMIT=<sha|tag> \
#     --build-arg CUDA_ARCH="9.0" -t ghcr.io/tokenforge/vllm:dev .
#
# Stages: base (CUDA devel + OS packages) -> builder (sources at the commits, wheels) ->
# runtime (CUDA runtime + the wheels). Cache mounts keep apt, pip, the git objects and ccache's
# compiled objects between builds, so a new commit recompiles only what changed.

ARG CUDA_VERSION=12.8.1
ARG UBUNTU_VERSION=22.04

# ---- base: CUDA toolkit, compilers, Python ----
FROM nvidia/cuda:${CUDA_VERSION}-devel-ubuntu${UBUNTU_VERSION} AS base
ENV DEBIAN_FRONTEND=noninteractive
RUN rm -f /etc/apt/apt.conf.d/docker-clean \
 && echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' > /etc/apt/apt.conf.d/keep-cache
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt,sharing=locked \
    apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates git ccache ninja-build cmake build-essential \
      python3 python3-dev python3-venv python3-pip
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:${PATH} \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    pip install --upgrade pip setuptools wheel

# ---- builder: vLLM and LMCache at the given commits, built into wheels ----
FROM base AS builder
# A commit SHA or a tag of each repository. The defaults are a starting point; this pair was not
# built here (no Docker daemon, no GPU): pin the pair you have tested.
ARG VLLM_COMMIT=v0.11.0
ARG LMCACHE_COMMIT=v0.3.7
# TORCH_CUDA_ARCH_LIST: the GPU architectures to compile kernels for (fewer = faster build).
ARG CUDA_ARCH="8.0 8.6 8.9 9.0+PTX"
ARG MAX_JOBS=16
ARG NVCC_THREADS=4
ENV TORCH_CUDA_ARCH_LIST=${CUDA_ARCH} \
    MAX_JOBS=${MAX_JOBS} \
    NVCC_THREADS=${NVCC_THREADS} \
    CCACHE_DIR=/root/.cache/ccache \
    CMAKE_C_COMPILER_LAUNCHER=ccache \
    CMAKE_CXX_COMPILER_LAUNCHER=ccache \
    CMAKE_CUDA_COMPILER_LAUNCHER=ccache
# Sources: bare mirrors live in a cache mount, so a new commit fetches only the new objects.
RUN --mount=type=cache,target=/root/.cache/git,sharing=locked \
    set -eux; \
    for repo in vllm-project/vllm LMCache/LMCache; do \
      mirror="/root/.cache/git/$(basename "$repo").git"; \
      if [ -d "$mirror" ]; then git -C "$mirror" fetch --prune --tags origin; \
      else git clone --mirror "https://github.com/$repo.git" "$mirror"; fi; \
    done; \
    git clone --no-hardlinks /root/.cache/git/vllm.git /src/vllm; \
    git -C /src/vllm checkout --detach "${VLLM_COMMIT}"; \
    git clone --no-hardlinks /root/.cache/git/LMCache.git /src/lmcache; \
    git -C /src/lmcache checkout --detach "${LMCACHE_COMMIT}"
# vLLM: its build requirements (torch for this CUDA), then the wheel. ccache and the CMake build
# directory are cache mounts: the build outputs survive between image builds.
WORKDIR /src/vllm
RUN --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    --mount=type=cache,target=/root/.cache/ccache \
    --mount=type=cache,target=/src/vllm/build \
    set -eux; \
    if [ -f requirements/build.txt ]; then pip install -r requirements/build.txt; \
    else pip install -r requirements-build.txt; fi; \
    python3 setup.py bdist_wheel --dist-dir=/wheels
# LMCache against the torch vLLM's build installed (no build isolation).
WORKDIR /src/lmcache
RUN --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    --mount=type=cache,target=/root/.cache/ccache \
    set -eux; \
    if [ -f requirements/build.txt ]; then pip install -r requirements/build.txt; fi; \
    pip wheel --no-deps --no-build-isolation --wheel-dir=/wheels .

# ---- runtime: CUDA runtime libraries, Python, the wheels ----
FROM nvidia/cuda:${CUDA_VERSION}-runtime-ubuntu${UBUNTU_VERSION} AS runtime
ENV DEBIAN_FRONTEND=noninteractive
RUN rm -f /etc/apt/apt.conf.d/docker-clean
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt,sharing=locked \
    apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 python3-venv libgomp1
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:${PATH} \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HOME=/root/.cache/huggingface
# The wheels are bind-mounted from the builder: no layer holds a second copy of them.
RUN --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install /wheels/*.whl
VOLUME ["/root/.cache/huggingface"]
EXPOSE 8000
ENTRYPOINT ["vllm", "serve"]
