import { DurableObject } from "cloudflare:workers";
import type { Region } from "../shared/regions.ts";
import type { CachedPayload } from "./edge-cache.ts";
import { edgeConfig, type EdgeBindings } from "./env.ts";
import { callOrigin, relayedHeaders } from "./origin-client.ts";

// Cross-isolate coalescing: one Durable Object per hot shared key (idFromName(key)). Every isolate's
// leader for that key asks this object, which makes at most one origin fetch at a time and keeps the
// answer for `memoMs` so a burst arriving just after completion is served from memory, not the origin.
export class Coalescer extends DurableObject<EdgeBindings> {
  private inflight: Promise<CachedPayload> | null = null;
  private memo: { at: number; payload: CachedPayload } | null = null;
  private originFetches = 0;
  private served = 0;

  /** `headers` go with the origin call (request id, forced level); the leader's are used for the fetch. */
  async fetchOnce(region: Region, pathAndQuery: string, memoMs: number, headers: Record<string, string> = {}): Promise<CachedPayload> {
    this.served++;
    if (this.memo && Date.now() - this.memo.at < memoMs) return this.memo.payload;
    if (!this.inflight) {
      this.originFetches++;
      this.inflight = this.load(region, pathAndQuery, headers).finally(() => (this.inflight = null));
    }
    const payload = await this.inflight;
    if (payload.status === 200) this.memo = { at: Date.now(), payload };
    return payload;
  }

  stats(): { originFetches: number; served: number } {
    return { originFetches: this.originFetches, served: this.served };
  }

  private async load(region: Region, pathAndQuery: string, reqHeaders: Record<string, string>): Promise<CachedPayload> {
    const res = await callOrigin(edgeConfig(this.env), region, pathAndQuery, { headers: reqHeaders });
    return { status: res.status, body: await res.text(), headers: relayedHeaders(res) };
  }
}
