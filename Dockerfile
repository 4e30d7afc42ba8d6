# syntax=docker/dockerfile:1
# Build: compile TypeScript with the dev dependencies, then keep production dependencies only.
FROM node:26-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Run: no compiler, no dev dependencies, no demo (NODE_ENV=production never loads it), non-root.
FROM node:26-slim
# PORT is the listening port (it overrides the config's `port`), so EXPOSE, the health check and the listener agree
ENV NODE_ENV=production PORT=3000
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
# /healthz on PORT, the port the broker listens on (docker run -e PORT=8080 -p 8080:8080 moves both)
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
# the production command, as `npm run start:prod` runs it outside a container; node itself is PID 1 here (not npm)
# and handles SIGTERM: stop accepting, finish in-flight requests, close Redis, exit 0
CMD ["node", "dist/main.js"]
