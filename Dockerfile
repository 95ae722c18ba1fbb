# syntax=docker/dockerfile:1
# The operator's image: built on Node 24, run on distroless Node 24 as UID 65532 with production dependencies only.
# Build: docker build -t ghcr.io/blackroad-os/blackroad-os-operator:0.1.0 .
# Pin the base images by digest (…@sha256:…) where the build must be reproducible.
ARG NODE_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# Compiles src/ to dist/ with the dev dependencies (TypeScript).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# Installs the production dependencies alone, so no build tool reaches the runtime image.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# No shell, no package manager: node, the compiled operator, its CRDs and agent catalog.
FROM ${RUNTIME_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY crds ./crds
COPY agent-catalog ./agent-catalog
USER 65532:65532
EXPOSE 8080 8081
# V8 sized for a memory-budgeted container: a 1 MiB young generation and size-over-speed heuristics take an operator
# caching 10,000 objects from ~165 to ~100 MiB (bench/runtime-memory.ts runs it with the flags read from here).
# They are node arguments, not NODE_OPTIONS: node refuses --optimize-for-size in NODE_OPTIONS and would not start.
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=1", "--optimize-for-size", "dist/cli/main.js"]
CMD ["run"]
