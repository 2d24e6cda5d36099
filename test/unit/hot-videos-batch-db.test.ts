import { describe, expect, it } from "vitest";
import { catalogRoutes } from "../../origin/catalog-routes.ts";
import { scriptedDb, scriptedRedis } from "../support/failing-deps.ts";
import { originTestApp, originTestDeps, TEST_EXECUTION_CTX as ctx } from "../support/origin-app.ts";

// The hot pool's bulk reads (GET /internal/v1/hot-videos: regional trending, the region's 10,000 most-viewed
// uploads, their features) run on the batch pool, which feeds no health signal: in a new-user trial the
// 10,000-row head query, sampled as database latency on the request pool, flipped a quiet origin to level 3.
describe("GET /internal/v1/hot-videos reads on the batch pool only", () => {
  it("never touches the request's observed pool; the head query gets its 2 s statement timeout", async () => {
    const observed = scriptedDb(() => []);
    const batch = scriptedDb((sql) => (sql.includes("ORDER BY views DESC LIMIT") ? [{ video_id: "7" }, { video_id: "8" }] : []));
    const app = originTestApp(originTestDeps(observed, scriptedRedis(), {}, batch), catalogRoutes);
    const res = await app.request("/internal/v1/hot-videos?count=10&head=100", {}, {}, ctx);
    expect(res.status).toBe(200);
    expect(observed.tries).toHaveLength(0);
    const head = batch.triesOf("upload_region = $1 ORDER BY views DESC");
    expect(head.length).toBeGreaterThanOrEqual(1);
    expect(head[0].params).toEqual(["us", 100]);
    expect(head[0].timeoutMs).toBe(2000);
    expect(batch.tries.length).toBeGreaterThan(head.length); // trending and the features' Postgres reads too
  });
});
