// The capacity simulator's view of what the code deploys: the ranking HPA and Deployment as written in
// deploy/k8s/ (parsed with the `yaml` package, validated with zod) and the platform limits of
// shared/config.ts. Nothing here repeats a number those files hold; the simulator reads them from here.
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { CANDIDATES, RANKING_BREAKER, RETRY, TTL } from "../../shared/config.ts";
import { SHARDS } from "../../shared/db/schema.ts";
import { REGION_VALUES } from "../../shared/regions.ts";

export const ROOT = path.resolve(import.meta.dirname, "../..");

const PolicySchema = z.object({
  type: z.enum(["Pods", "Percent"]),
  value: z.number().int().positive(),
  periodSeconds: z.number().int().min(1).max(1800),
});
export type ScalingPolicy = z.infer<typeof PolicySchema>;

// Defaults of autoscaling/v2 when a direction omits a field (Kubernetes docs, "Default Behavior").
const DEFAULT_UP = { stabilizationWindowSeconds: 0, selectPolicy: "Max" as const, policies: [{ type: "Percent" as const, value: 100, periodSeconds: 15 }, { type: "Pods" as const, value: 4, periodSeconds: 15 }] };
const DEFAULT_DOWN = { stabilizationWindowSeconds: 300, selectPolicy: "Max" as const, policies: [{ type: "Percent" as const, value: 100, periodSeconds: 15 }] };

const rules = (def: typeof DEFAULT_UP | typeof DEFAULT_DOWN) =>
  z
    .object({
      stabilizationWindowSeconds: z.number().int().min(0).max(3600).default(def.stabilizationWindowSeconds),
      selectPolicy: z.enum(["Max", "Min", "Disabled"]).default(def.selectPolicy),
      policies: z.array(PolicySchema).min(1).default(def.policies),
    })
    .default(def);

const MetricSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("Resource"),
    resource: z.object({ name: z.literal("cpu"), target: z.object({ type: z.literal("Utilization"), averageUtilization: z.number().positive() }) }),
  }),
  z.object({
    type: z.literal("Pods"),
    pods: z.object({
      metric: z.object({ name: z.string().min(1) }),
      target: z.object({ type: z.literal("AverageValue"), averageValue: z.coerce.number().positive() }),
    }),
  }),
]);
export type MetricSpec = z.infer<typeof MetricSchema>;

const HpaSchema = z.object({
  apiVersion: z.literal("autoscaling/v2"),
  kind: z.literal("HorizontalPodAutoscaler"),
  spec: z.object({
    minReplicas: z.number().int().min(1).default(1),
    maxReplicas: z.number().int().min(1),
    metrics: z.array(MetricSchema).min(1),
    behavior: z.object({ scaleUp: rules(DEFAULT_UP), scaleDown: rules(DEFAULT_DOWN) }).default({ scaleUp: DEFAULT_UP, scaleDown: DEFAULT_DOWN }),
  }),
});

/** autoscaling/v2 HPA spec as the controller sees it, with the API's defaults filled in. */
export type HpaSpec = z.infer<typeof HpaSchema>["spec"];
export type ScalingRules = HpaSpec["behavior"]["scaleUp"];

/** Parses an autoscaling/v2 HorizontalPodAutoscaler manifest (YAML text); throws on anything the simulator cannot model. */
export function parseHpa(yamlText: string): HpaSpec {
  return HpaSchema.parse(parse(yamlText)).spec;
}

const ProbeSchema = z.object({ periodSeconds: z.number().int().positive().default(10), failureThreshold: z.number().int().positive().default(3) }).passthrough();

/** What the simulator needs from the ranking Deployment manifest. */
export interface RankingDeployment {
  /** CPU request per pod (cores): the HPA's Utilization target is relative to it. */
  cpuRequestCores: number;
  gpusPerPod: number;
  /** Micro-batching of the service (RANK_MAX_BATCH_ROWS / RANK_MAX_WAIT_MS / RANK_MAX_QUEUE_ROWS). */
  maxBatchRows: number;
  maxWaitMs: number;
  maxQueueRows: number;
  /** startupProbe bound (s): periodSeconds × failureThreshold; a pod slower than this is restarted. */
  startupProbeBoundS: number;
  readinessPeriodS: number;
  preStopSleepS: number;
  terminationGracePeriodS: number;
}

const cpuCores = (q: string | number): number => (typeof q === "number" ? q : q.endsWith("m") ? Number(q.slice(0, -1)) / 1000 : Number(q));

/** Parses the ranking Deployment manifest (YAML text). Throws if a field the model depends on is absent. */
export function parseRankingDeployment(yamlText: string): RankingDeployment {
  const doc = z
    .object({
      kind: z.literal("Deployment"),
      spec: z.object({
        template: z.object({
          spec: z.object({
            terminationGracePeriodSeconds: z.number().int().min(0),
            containers: z.array(
              z.object({
                env: z.array(z.object({ name: z.string(), value: z.string().optional() }).passthrough()),
                resources: z.object({ requests: z.record(z.string(), z.union([z.string(), z.number()])), limits: z.record(z.string(), z.union([z.string(), z.number()])) }),
                startupProbe: ProbeSchema,
                readinessProbe: ProbeSchema,
                lifecycle: z.object({ preStop: z.object({ exec: z.object({ command: z.array(z.string()) }) }) }),
              }).passthrough(),
            ).min(1),
          }).passthrough(),
        }).passthrough(),
      }).passthrough(),
    })
    .passthrough()
    .parse(parse(yamlText));
  const pod = doc.spec.template.spec;
  const c = pod.containers[0];
  const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
  const num = (name: string): number => {
    const v = Number(env[name]);
    if (!Number.isFinite(v)) throw new Error(`ranking deployment: env ${name} missing or not a number`);
    return v;
  };
  const [cmd, secs] = c.lifecycle.preStop.exec.command;
  if (cmd !== "sleep" || !Number.isFinite(Number(secs))) throw new Error("ranking deployment: preStop is expected to be `sleep N`");
  return {
    cpuRequestCores: cpuCores(c.resources.requests.cpu),
    gpusPerPod: Number(c.resources.limits["nvidia.com/gpu"] ?? 0),
    maxBatchRows: num("RANK_MAX_BATCH_ROWS"),
    maxWaitMs: num("RANK_MAX_WAIT_MS"),
    maxQueueRows: num("RANK_MAX_QUEUE_ROWS"),
    startupProbeBoundS: c.startupProbe.periodSeconds * c.startupProbe.failureThreshold,
    readinessPeriodS: c.readinessProbe.periodSeconds,
    preStopSleepS: Number(secs),
    terminationGracePeriodS: pod.terminationGracePeriodSeconds,
  };
}

/** Everything the simulator reads from the repository's configuration. */
export interface DeployedConfig {
  hpa: HpaSpec;
  deployment: RankingDeployment;
  regions: readonly string[];
  /** Candidates per ranking call at level 0 (CANDIDATES.normalPool). */
  candidatesPerRankCall: number;
  /** Items of one ranked chain (CANDIDATES.chainLength). */
  chainLength: number;
  /** The origin's ranking call: per-try timeout (ms) and retries (RETRY.mlInference). */
  rankTimeoutMs: number;
  rankRetries: number;
  /** Slow-call threshold of the ranking breaker (ms): the seed's 40 ms latency SLO. */
  slowCallMs: number;
  ttl: typeof TTL;
  shards: number;
  sources: string[];
}

/** Loads deploy/k8s/ranking-hpa.yaml, deploy/k8s/ranking-deployment.yaml and shared/config.ts (or the given files). */
export function loadDeployedConfig(o: { hpaFile?: string; deploymentFile?: string } = {}): DeployedConfig {
  const hpaFile = o.hpaFile ?? path.join(ROOT, "deploy/k8s/ranking-hpa.yaml");
  const deploymentFile = o.deploymentFile ?? path.join(ROOT, "deploy/k8s/ranking-deployment.yaml");
  return {
    hpa: parseHpa(readFileSync(hpaFile, "utf8")),
    deployment: parseRankingDeployment(readFileSync(deploymentFile, "utf8")),
    regions: REGION_VALUES,
    candidatesPerRankCall: CANDIDATES.normalPool,
    chainLength: CANDIDATES.chainLength,
    rankTimeoutMs: RETRY.mlInference.perTryTimeoutMs,
    rankRetries: RETRY.mlInference.retries,
    slowCallMs: RANKING_BREAKER.slowCallDurationMs,
    ttl: TTL,
    shards: SHARDS,
    sources: [path.relative(ROOT, hpaFile), path.relative(ROOT, deploymentFile), "shared/config.ts", "shared/db/schema.ts"],
  };
}
