# syntax=docker/dockerfile:1
#
# Quorum: one image for every role (server, worker, executor, feed). The role is the CLI command:
#   docker run --rm quorum:local config check
#   docker run --rm -e REDIS_URL=redis://host:6379 quorum:local worker --queues ticks,analysis
# The TypeScript is compiled by esbuild (a production dependency) into node_modules/.cache, here
# at build time, so the image runs read-only; typescript, tsx and vitest stay out of the image.

FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    QUORUM_PORT=3000

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
    && npm cache clean --force

# The code and the bundled market data. Owned by root and read-only for the `node` user that runs it.
# quorum.config.yam[l] is optional: the glob copies it when present and matches nothing otherwise.
COPY tsconfig.json quorum.config.yam[l] ./
COPY bin/ ./bin/
COPY src/ ./src/
COPY queues/ ./queues/
COPY processors/ ./processors/
COPY bots/ ./bots/
COPY data/ ./data/

# Compile the CLI, the bots and the bot-thread entry now: the running container cannot write.
RUN node bin/quorum.js compile

USER node

EXPOSE 3000

# bin/quorum.js runs the compiled CLI (compiling it first if the sources changed).
ENTRYPOINT ["node", "bin/quorum.js"]
CMD ["server"]

# Slim images have no curl: ask node's fetch. Meant for the `server` role; compose overrides it for the others.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.QUORUM_PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
