# syntax=docker/dockerfile:1.7
# The llama.cpp worker (`tokenforge worker`): ghcr.io/tokenforge/worker, the image the Kubernetes
# backend gives llamacpp deployments (src/control/kubernetes/containers.ts). node-llama-cpp's
# prebuilt CPU binaries come with the production dependencies; synthetic models are written into
# the model cache volume on first start.
#
#   docker build -f deploy/docker/worker-llamacpp.Dockerfile -t ghcr.io/tokenforge/worker:dev .
#   docker run -p 8000:8000 -v tokenforge-models:/var/cache/tokenforge ghcr.io/tokenforge/worker:dev

ARG NODE_IMAGE=node:22-bookworm-slim

# ---- builder: the same steps as the gateway's (BuildKit shares the cached layers) ----
FROM ${NODE_IMAGE} AS builder
WORKDIR /src
ENV CI=true
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm install --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && chmod +x dist/cli/tokenforge.js

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    TOKENFORGE_HOME=/var/cache/tokenforge \
    TOKENFORGE_MODEL_CACHE=/var/cache/tokenforge/models
WORKDIR /app
RUN mkdir -p /var/cache/tokenforge/models \
 && chown -R node:node /var/cache/tokenforge \
 && ln -s /app/dist/cli/tokenforge.js /usr/local/bin/tokenforge
COPY --from=builder --chown=node:node /src/package.json ./package.json
COPY --from=builder --chown=node:node /src/node_modules ./node_modules
COPY --from=builder --chown=node:node /src/dist ./dist
USER node
VOLUME ["/var/cache/tokenforge"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8000/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/cli/tokenforge.js", "worker", "--model", "synthetic:tiny", "--host", "0.0.0.0", "--port", "8000"]
