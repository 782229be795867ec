# syntax=docker/dockerfile:1
# One image for every role (ingest, worker, reconciler, migrate); compose picks the command.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# Manifests first, so dependency layers are reused until a package.json changes.
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/queue/package.json packages/queue/
COPY packages/db/package.json packages/db/
COPY packages/runtime/package.json packages/runtime/
COPY packages/testing/package.json packages/testing/
COPY apps/ingest/package.json apps/ingest/
COPY apps/worker/package.json apps/worker/
COPY apps/reconciler/package.json apps/reconciler/
RUN npm ci
COPY . .
# npm keeps every workspace through a prune; the tests' own package is not part of the image.
RUN npm run build && npm prune --omit=dev && rm -rf packages/testing node_modules/@receipt-sync/testing

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/packages ./packages
COPY --from=build /app/apps ./apps
COPY --from=build /app/prisma ./prisma
# The ingest's spool directory (a volume in compose) must belong to the user that writes it.
RUN mkdir -p /app/spool && chown node:node /app/spool
USER node
EXPOSE 3000
CMD ["node", "apps/ingest/dist/main.js"]
