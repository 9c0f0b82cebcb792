# syntax=docker/dockerfile:1
# The gateway and worker image: `playsmart serve [--role gateway|worker]`.
# Build from the repository root: docker build -t playsmart .
# Runs the TypeScript sources through tsx (a runtime dependency), as `npm start` does.

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; no install scripts run (none is needed).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY gen ./gen
COPY openapi ./openapi
# The base image's unprivileged user.
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself (graceful shutdown, docs/operations.md).
CMD ["node", "bin/playsmart.js", "serve"]
