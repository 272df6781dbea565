# syntax=docker/dockerfile:1
# aml-admission: `docker build -t aml-admission:0.1.0 .`
# Three stages: compile TypeScript with the dev dependencies, install production dependencies
# alone, then copy only the compiled code, those dependencies and the webhook templates into a
# slim runtime that runs as the unprivileged `node` user (uid 1000) and writes nothing to disk.

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# tsconfig also includes test/ and bench/; they are not copied, so only src/ is compiled.
RUN npx tsc -p . && test -f dist/src/main.js

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# package.json makes the compiled files ES modules ("type": "module").
COPY --chown=root:root package.json ./
COPY --chown=root:root --from=deps /app/node_modules ./node_modules
COPY --chown=root:root --from=build /app/dist/src ./dist/src
# `aml-admission init` reads its webhook configuration templates from webhook-config/ beside
# package.json (found from the installed code, not the working directory).
COPY --chown=root:root webhook-config ./webhook-config
# Files owned by root and not writable by the runtime user; a numeric USER lets Kubernetes
# verify runAsNonRoot.
USER 1000:1000
EXPOSE 8443
# A 4 MiB young generation (V8's default is 16 MiB) keeps the resident set under load ~40 MB
# smaller at no measurable cost in throughput: each request's garbage dies young (BENCHMARKS.md).
ENTRYPOINT ["node", "--max-semi-space-size=4", "dist/src/main.js"]
# Without arguments: serve with a self-signed certificate kept in /tmp, so the image also runs
# with a read-only root filesystem (`docker run --read-only --tmpfs /tmp -p 8443:8443 aml-admission`).
CMD ["serve", "--certs-dir", "/tmp/certs"]
