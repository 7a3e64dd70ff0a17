# syntax=docker/dockerfile:1.7
# The TokenForge gateway (`tokenforge serve`): ghcr.io/tokenforge/gateway, as deploy/k8s/gateway.yaml runs it.
#
#   docker build -f deploy/docker/gateway.Dockerfile -t ghcr.io/tokenforge/gateway:dev .
#
# Layers go from least to most often changed: base image, OS packages, the lockfile's
# dependencies (cached in ~/.npm across builds), then the sources and the build.

ARG NODE_IMAGE=node:22-bookworm-slim

# ---- builder: install every dependency, compile TypeScript, then keep only production ones ----
FROM ${NODE_IMAGE} AS builder
WORKDIR /src
ENV CI=true
# Package files before the source: a source change reuses the dependency layer.
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would compile before src/ is here, and the `node` devDependency's
# installer is not needed (the base image is Node 22). npm install rather than npm ci: see .ci/run.
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm install --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && chmod +x dist/cli/tokenforge.js

# ---- runtime: Node, production node_modules and dist/, as a non-root user ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    TOKENFORGE_HOME=/var/lib/tokenforge \
    TOKENFORGE_RESULTS_DIR=/var/lib/tokenforge/results
WORKDIR /app
RUN mkdir -p /var/lib/tokenforge \
 && chown node:node /var/lib/tokenforge \
 && ln -s /app/dist/cli/tokenforge.js /usr/local/bin/tokenforge
COPY --from=builder --chown=node:node /src/package.json ./package.json
COPY --from=builder --chown=node:node /src/node_modules ./node_modules
COPY --from=builder --chown=node:node /src/dist ./dist
USER node
VOLUME ["/var/lib/tokenforge"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/cli/tokenforge.js", "serve", "--host", "0.0.0.0", "--port", "8080"]
