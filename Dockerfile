# The ocs-ts image: one agent per container. A service sets INSTANCE_ID (and SITE_HUB,
# SITE_HTTP, SITE_HOST) and mounts its site file at /config/default.yaml.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY lib ./lib
COPY agents ./agents
COPY test ./test
RUN npm run build

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    OCS_CONFIG_DIR=/config
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
ENTRYPOINT ["node", "dist/bin/ocs.js", "agent"]
