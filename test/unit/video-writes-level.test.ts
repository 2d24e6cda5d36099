import { describe, expect, it } from "vitest";
import { videoWriteRoutes } from "../../origin/video-write-routes.ts";
import { WRITES_QUEUED_RETRY_AFTER_S } from "../../origin/write-guard.ts";
import { FORCED_LEVEL_HEADER } from "../../shared/forced-level-header.ts";
import { pgError, scriptedDb, scriptedRedis } from "../support/failing-deps.ts";
import { originTestApp, originTestDeps } from "../support/origin-app.ts";

// Catalogue writes go through the same guard as events (origin/write-guard.ts: the level policy's
// `writesAllowed`, not a level number): at level 3 (forced here) the origin answers 503 + retry-after
// without touching the database, so the edge queues the write; below it the write reaches the database
// (a refused value: one try, 422).

function app() {
  const db = scriptedDb(() => pgError("23514", "check violation"));
  return { a: originTestApp(originTestDeps(db, scriptedRedis()), videoWriteRoutes), db };
}
const upload = (level: string) => ({
  method: "POST",
  headers: { "content-type": "application/json", [FORCED_LEVEL_HEADER]: level },
  body: JSON.stringify({
    caption: "hi", duration_ms: 1000, video_id: "v77", user_id: "u1", home_region: "us", ts: new Date().toISOString(), accepted_in: "us",
  }),
});

describe("video writes by the level policy", () => {
  it("level 3: 503 writes_queued with retry-after (origin/write-guard.ts), the database untouched", async () => {
    const { a, db } = app();
    const res = await a.request("/internal/v1/videos", upload("3"));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe(String(WRITES_QUEUED_RETRY_AFTER_S));
    expect(await res.json()).toMatchObject({ error: { code: "writes_queued" } });
    expect(db.tries).toHaveLength(0);
  });

  for (const level of ["0", "1", "2"]) {
    it(`level ${level}: the write reaches the database (a refused value: one try, 422)`, async () => {
      const { a, db } = app();
      const res = await a.request("/internal/v1/videos", upload(level));
      expect(res.status).toBe(422);
      expect(db.tries).toHaveLength(1);
    });
  }
});
