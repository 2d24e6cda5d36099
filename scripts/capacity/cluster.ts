// Ranking pods and GPU nodes of one region, second by second: what happens between the HPA writing a
// replica count and a pod taking traffic, and what the HPA's metrics pipeline sees meanwhile.
//   unscheduled (Pending, no free GPU) → pulling (Pending: image pull, container start) → loading
//   (Running, not Ready: the server loads the model before it listens, so /metrics has no series: the HPA
//   counts the pod as missing) → listening (Running, not Ready until the next readiness probe: p99 gauge
//   0, empty window) → ready (gets traffic).
// Scale-down removes pods in the ReplicaSet controller's order: unscheduled, then pending, then not
// ready, then ready; a removed pod holds its GPU through preStop + drain.
// GPU nodes follow the cluster autoscaler's rules: a scan every 10 s adds nodes for unschedulable pods
// (ready after `nodeProvisionS`), and removes nodes whose GPUs have all been free for 10 minutes
// (scale-down-unneeded-time), not within 10 minutes of a scale-up (scale-down-delay-after-add).
// Pods are fluid counts (a fraction of a pod never exists: counts stay integers).

export interface ClusterParams {
  gpusPerNode: number;
  gpusPerPod: number;
  nodeProvisionS: number;
  imagePullS: number;
  modelLoadS: number;
  readinessPeriodS: number;
  /** GPU held after removal: preStop sleep + drain. */
  releaseS: number;
  caScanS: number;
  caUnneededS: number;
  caDelayAfterAddS: number;
}

type Phase = "unscheduled" | "pulling" | "loading" | "listening" | "ready";
const ORDER: Phase[] = ["unscheduled", "pulling", "loading", "listening", "ready"];

interface Cohort {
  count: number;
  phase: Phase;
  /** When this cohort enters its next phase (s); Infinity while unscheduled. */
  until: number;
}

export interface PodCounts {
  /** All pods of the Deployment that are not terminating (the scale's current replicas). */
  total: number;
  unscheduled: number;
  pulling: number;
  loading: number;
  listening: number;
  ready: number;
  terminating: number;
}

export class RegionCluster {
  private readonly p: ClusterParams;
  private cohorts: Cohort[] = [];
  private releasing: { count: number; until: number }[] = [];
  nodes: number;
  private provisioning: { count: number; readyAt: number }[] = [];
  private unneededSince: number | null = null;
  private lastScaleUpAt = -Infinity;
  private nextScanAt: number;
  /** Earliest time a phase, node or GPU release changes; ticks before it (and the next scan) are no-ops. */
  private nextChangeAt = -Infinity;
  private cached: PodCounts | null = null;

  constructor(p: ClusterParams, readyPods: number, now: number) {
    this.p = p;
    this.nodes = Math.ceil((readyPods * p.gpusPerPod) / p.gpusPerNode);
    if (readyPods > 0) this.cohorts.push({ count: readyPods, phase: "ready", until: Infinity });
    this.nextScanAt = now;
  }

  counts(): PodCounts {
    if (this.cached) return this.cached;
    const c: PodCounts = { total: 0, unscheduled: 0, pulling: 0, loading: 0, listening: 0, ready: 0, terminating: 0 };
    for (const x of this.cohorts) {
      c[x.phase] += x.count;
      c.total += x.count;
    }
    c.terminating = this.releasing.reduce((s, r) => s + r.count, 0);
    this.cached = c;
    return c;
  }

  /** Nodes being provisioned (billed, not yet schedulable). */
  get provisioningNodes(): number {
    return this.provisioning.reduce((s, x) => s + x.count, 0);
  }

  /** Sets the Deployment's replica count (what the HPA wrote). */
  scaleTo(replicas: number, now: number): void {
    const c = this.counts();
    if (replicas === c.total) return;
    this.cached = null;
    this.nextChangeAt = now;
    if (replicas > c.total) this.cohorts.push({ count: replicas - c.total, phase: "unscheduled", until: Infinity });
    let remove = c.total - replicas;
    for (const phase of ORDER) {
      if (remove <= 0) break;
      // Youngest first within a phase (they have done the least work).
      for (let i = this.cohorts.length - 1; i >= 0 && remove > 0; i--) {
        const x = this.cohorts[i];
        if (x.phase !== phase) continue;
        const n = Math.min(remove, x.count);
        x.count -= n;
        remove -= n;
        if (phase !== "unscheduled") this.releasing.push({ count: n, until: now + this.p.releaseS });
      }
    }
    this.cohorts = this.cohorts.filter((x) => x.count > 0);
  }

  /** Advances phases, scheduling and the cluster autoscaler to time `now` (call once per second). */
  tick(now: number): void {
    if (now < this.nextChangeAt && now < this.nextScanAt) return;
    this.cached = null;
    const p = this.p;
    for (const r of this.provisioning) if (r.readyAt <= now) this.nodes += r.count;
    this.provisioning = this.provisioning.filter((r) => r.readyAt > now);
    this.releasing = this.releasing.filter((r) => r.until > now);
    for (const x of this.cohorts) {
      while (x.until <= now) {
        if (x.phase === "pulling") [x.phase, x.until] = ["loading", x.until + p.modelLoadS];
        else if (x.phase === "loading") [x.phase, x.until] = ["listening", x.until + p.readinessPeriodS / 2];
        else if (x.phase === "listening") [x.phase, x.until] = ["ready", Infinity];
        else break;
      }
    }
    // Scheduler: unscheduled pods onto free GPUs, oldest first.
    let free = this.freeGpus();
    for (const x of this.cohorts) {
      if (x.phase !== "unscheduled" || free < p.gpusPerPod) continue;
      const n = Math.min(x.count, Math.floor(free / p.gpusPerPod));
      free -= n * p.gpusPerPod;
      if (n === x.count) [x.phase, x.until] = ["pulling", now + p.imagePullS];
      else {
        x.count -= n;
        this.cohorts.push({ count: n, phase: "pulling", until: now + p.imagePullS });
      }
    }
    this.cohorts = this.mergeReady();
    if (now >= this.nextScanAt) {
      this.nextScanAt = now + p.caScanS;
      this.autoscaleNodes(now);
    }
    this.cached = null;
    this.nextChangeAt = Math.min(
      Infinity,
      ...this.cohorts.map((x) => x.until),
      ...this.provisioning.map((x) => x.readyAt),
      ...this.releasing.map((x) => x.until),
    );
  }

  private freeGpus(): number {
    const used = this.cohorts.filter((x) => x.phase !== "unscheduled").reduce((s, x) => s + x.count, 0) + this.releasing.reduce((s, r) => s + r.count, 0);
    return this.nodes * this.p.gpusPerNode - used * this.p.gpusPerPod;
  }

  private autoscaleNodes(now: number): void {
    const p = this.p;
    const unscheduledGpus = this.counts().unscheduled * p.gpusPerPod;
    const coming = this.provisioningNodes * p.gpusPerNode;
    if (unscheduledGpus > coming) {
      const add = Math.ceil((unscheduledGpus - coming) / p.gpusPerNode);
      this.provisioning.push({ count: add, readyAt: now + p.nodeProvisionS });
      this.lastScaleUpAt = now;
      this.unneededSince = null;
      return;
    }
    const spare = Math.floor(this.freeGpus() / p.gpusPerNode);
    if (spare <= 0 || unscheduledGpus > 0) {
      this.unneededSince = null;
      return;
    }
    this.unneededSince ??= now;
    if (now - this.unneededSince >= p.caUnneededS && now - this.lastScaleUpAt >= p.caDelayAfterAddS) {
      this.nodes -= spare;
      this.unneededSince = null;
    }
  }

  private mergeReady(): Cohort[] {
    const ready = this.cohorts.filter((x) => x.phase === "ready").reduce((s, x) => s + x.count, 0);
    const rest = this.cohorts.filter((x) => x.phase !== "ready" && x.count > 0);
    return ready > 0 ? [{ count: ready, phase: "ready", until: Infinity }, ...rest] : rest;
  }
}
