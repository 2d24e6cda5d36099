import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis as IORedis } from "ioredis";
import type { OriginConfig } from "../../origin/env.ts";
import { freePort } from "../../scripts/local/free-port.ts";
import { startRedis } from "../../scripts/local/redis.ts";
import { startUpstashBridge } from "../../scripts/local/upstash-bridge.ts";

// A real redis-server of the test's own behind the local Upstash REST bridge, for integration tests of the
// origin's Redis call sites: `cfg` is what the origin's client (origin/redis.ts redisFor) needs, `raw` a
// direct client for reading what was written (TTLs, keys). Test-only: product code never imports this.

export interface LocalRedis {
  cfg: OriginConfig;
  raw: IORedis;
  /** The redis-server itself, to stop and restart it (a Redis outage behind a live bridge). */
  server: Awaited<ReturnType<typeof startRedis>>;
  stop(): Promise<void>;
}

export async function startLocalRedis(name: string): Promise<LocalRedis> {
  const token = `${name}-token`;
  const dir = mkdtempSync(join(tmpdir(), `fyp-${name}-`));
  const srv = await startRedis({ port: await freePort(), dir: join(dir, "redis"), name });
  const bridge = await startUpstashBridge({ port: 0, redisPort: srv.port, token });
  const raw = new IORedis({ port: srv.port, lazyConnect: true });
  await raw.connect();
  return {
    cfg: { UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: token } as OriginConfig,
    raw,
    server: srv,
    async stop() {
      raw.disconnect();
      await bridge.close();
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
