import { LATENCY_BUCKETS_MS, Registry } from "../shared/prometheus.ts";

// Origin metrics of DESIGN §2, one registry per isolate (Prometheus scrapes each instance).
export class Metrics {
  readonly registry = new Registry();
  private readonly requests = this.registry.counter("fyp_origin_requests_total", "Origin requests by route and region");
  private readonly feedLatency = this.registry.histogram("fyp_origin_feed_latency_ms", "Origin feed latency (ms)", LATENCY_BUCKETS_MS);
  private readonly cacheReq = this.registry.counter("fyp_cache_requests_total", "Cache lookups by tier (app|feature|feature_memo) and result");
  private readonly breaker = this.registry.gauge("fyp_breaker_state", "Circuit breaker state: 0 closed, 1 open, 2 half-open");
  private readonly level = this.registry.gauge("fyp_degradation_level", "Current degradation level by region");
  private readonly events = this.registry.counter("fyp_events_written_total", "Interaction events written to this region's database");
  private readonly deadlines = this.registry.counter("fyp_origin_feed_deadline_exceeded_total", "Feed requests past the pipeline's deadline, answered cache-only (origin/feed/route.ts)");
  private readonly region: string;

  constructor(region: string) {
    this.region = region;
  }
  request(route: string) {
    this.requests.inc({ route, region: this.region });
  }
  feedLatencyMs(ms: number) {
    this.feedLatency.observe({ region: this.region }, ms);
  }
  /** tier: app = chains in Redis · feature = feature store in Redis · feature_memo = the isolate's memo of decoded video features in front of it. */
  cache(tier: "app" | "feature" | "feature_memo", result: "hit" | "miss", n = 1) {
    if (n > 0) this.cacheReq.inc({ tier, result }, n);
  }
  breakerState(name: string, state: 0 | 1 | 2) {
    this.breaker.set({ name }, state);
  }
  degradationLevel(level: number) {
    this.level.set({ region: this.region }, level);
  }
  feedDeadlineExceeded() {
    this.deadlines.inc({ region: this.region });
  }
  eventsWritten(n: number) {
    this.events.inc({ region: this.region }, n);
  }
  render(): string {
    return this.registry.render();
  }
}
