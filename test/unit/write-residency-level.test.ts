import { describe, expect, it } from "vitest";
import { eventsRoutes } from "../../origin/events-routes.ts";
import { videoWriteRoutes } from "../../origin/video-write-routes.ts";
import { FORCED_LEVEL_HEADER } from "../../shared/forced-level-header.ts";
import { scriptedDb, scriptedRedis } from "../support/failing-deps.ts";
import { originTestApp, originTestDeps, TEST_EXECUTION_CTX as ctx } from "../support/origin-app.ts";

// Residency before the level-3 write guard (origin/events-routes.ts, origin/video-write-routes.ts): a
// write whose body names another home region is refused with a permanent 409 wrong_region even while
// this origin is at level 3 — that answer needs only the request, so it must not be hidden behind the
// retryable 503 writes_queued (which would keep a write that can never land here in the queue). A
// resident's write at level 3 still gets the 503, without a database call.

function app() {
  const db = scriptedDb(() => []);
  return { a: originTestApp(originTestDeps(db, scriptedRedis()), eventsRoutes, videoWriteRoutes), db };
}
const ts = new Date().toISOString();
const req = (method: string, body: object) => ({ method, headers: { "content-type": "application/json", [FORCED_LEVEL_HEADER]: "3" }, body: JSON.stringify(body) });
const events = (home: string) => req("POST", { user_id: "u5", home_region: home, events: [{ type: "like", video_id: "v7", ts, idempotency_key: "residency-key-1" }] });
const upload = (home: string) => req("POST", { caption: "hi", duration_ms: 1000, video_id: "v77", user_id: "u5", home_region: home, ts, accepted_in: "eu" });
const patch = (home: string) => req("PATCH", { user_id: "u5", home_region: home, patch: { caption: "new" }, ts, accepted_in: "eu" });

describe("level 3: residency decided from the request first", () => {
  for (const [name, path, init] of [
    ["events", "/internal/v1/events", events],
    ["video upload", "/internal/v1/videos", upload],
    ["video edit", "/internal/v1/videos/v77", patch],
  ] as const) {
    it(`${name} for a user of another region: 409 wrong_region, not 503; a resident's: 503 writes_queued; no database call`, async () => {
      const { a, db } = app();
      const foreign = await a.request(path, init("eu"), {}, ctx);
      expect(foreign.status).toBe(409);
      expect(await foreign.json()).toMatchObject({ error: { code: "wrong_region", field: "home_region" } });
      const resident = await a.request(path, init("us"), {}, ctx);
      expect(resident.status).toBe(503);
      expect(await resident.json()).toMatchObject({ error: { code: "writes_queued" } });
      expect(db.tries).toHaveLength(0);
    });
  }
});
