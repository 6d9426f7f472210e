# One image for every role: `dg run <role>` picks what the container does.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Runtime packages plus the compiler only: the test toolchain (jest, chdb) stays out of the image.
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm install --no-save --ignore-scripts typescript@5.9.3 @types/node@24 @types/pngjs@6
COPY tsconfig.json tsconfig.build.json ./
COPY schemas ./schemas
COPY services ./services
RUN npx tsc -p tsconfig.build.json

FROM node:24-bookworm-slim
ENV NODE_ENV=production
# Two glibc malloc arenas instead of up to 8 per core: the threads' freed memory stays resident per
# arena (about 24 MiB less peak RSS for a busy questioner, bound bench; issue 10).
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY schemas ./schemas
COPY services ./services
COPY bin ./bin
COPY scripts/ensure-built.js ./scripts/ensure-built.js
# /data and /datasets are owned by the non-root user so fresh named volumes mounted there are writable;
# the root filesystem can then be read-only (compose read_only, Helm readOnlyRootFilesystem).
RUN mkdir -p dist /data /datasets && date -u +%FT%TZ > dist/.build-stamp && chown -R node:node /app /data /datasets
USER node
ENV DG_DATA_DIR=/data DG_DATASETS_DIR=/datasets
ENTRYPOINT ["node", "bin/dg"]
CMD ["run"]
