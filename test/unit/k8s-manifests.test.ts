import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

// The ranking service's deployment manifests, parsed and checked against the seed's autoscaling and
// lifecycle rules. No YAML package is installed, so a small parser for the block-style subset these
// files use (maps, sequences, plain/quoted scalars, flow lists of scalars, `|` literal blocks) lives here;
// anything outside that subset throws rather than being misread.

type Yaml = string | number | boolean | null | Yaml[] | { [k: string]: Yaml };
interface Line {
  indent: number;
  text: string;
}

function scalar(raw: string): Yaml {
  const s = raw.trim();
  if (/^".*"$/.test(s)) return JSON.parse(s) as string;
  if (/^'.*'$/.test(s)) return s.slice(1, -1).replace(/''/g, "'");
  if (s.startsWith("[") && s.endsWith("]")) return s.slice(1, -1).trim() === "" ? [] : s.slice(1, -1).split(",").map(scalar);
  if (s.startsWith("{") || s.startsWith("&") || s.startsWith("*") || s === ">" || s.startsWith("!")) throw new Error(`unsupported YAML: ${s}`);
  if (s === "true" || s === "false") return s === "true";
  if (s === "null" || s === "~" || s === "") return null;
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  return s;
}

function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || line[i - 1] === " ")) return line.slice(0, i);
  }
  return line;
}

function parseDocument(lines: Line[]): Yaml {
  let pos = 0;
  const block = (indent: number): Yaml => {
    if (lines[pos].text.startsWith("- ") || lines[pos].text === "-") {
      const out: Yaml[] = [];
      while (pos < lines.length && lines[pos].indent === indent && lines[pos].text.startsWith("-")) {
        const rest = lines[pos].text.slice(1).trimStart();
        if (rest === "") {
          pos++;
          out.push(block(lines[pos].indent));
        } else {
          // "- key: v" opens a map whose keys sit two columns right of the dash: re-read it as such.
          lines[pos] = { indent: indent + 2, text: rest };
          out.push(rest.includes(": ") || rest.endsWith(":") ? block(indent + 2) : (pos++, scalar(rest)));
        }
      }
      return out;
    }
    const out: { [k: string]: Yaml } = {};
    while (pos < lines.length && lines[pos].indent === indent && !lines[pos].text.startsWith("- ")) {
      const m = /^([^:]+):(?: (.*))?$/.exec(lines[pos].text);
      if (!m) throw new Error(`cannot parse line: ${lines[pos].text}`);
      const [key, value] = [m[1].trim(), (m[2] ?? "").trim()];
      pos++;
      if (value === "|") {
        const body: string[] = [];
        while (pos < lines.length && lines[pos].indent > indent) body.push(lines[pos++].text);
        out[key] = body.join("\n");
      } else if (value !== "") out[key] = scalar(value);
      else if (pos < lines.length && (lines[pos].indent > indent || (lines[pos].indent === indent && lines[pos].text.startsWith("- "))))
        out[key] = block(lines[pos].indent);
      else out[key] = null;
    }
    if (pos < lines.length && lines[pos].indent > indent) throw new Error(`bad indentation at: ${lines[pos].text}`);
    return out;
  };
  return lines.length ? block(lines[0].indent) : null;
}

function parseYamlDocuments(text: string): Yaml[] {
  return text.split(/^---\s*$/m).map((doc) =>
    parseDocument(
      doc
        .split("\n")
        .map(stripComment)
        .filter((l) => l.trim() !== "")
        .map((l) => ({ indent: l.length - l.trimStart().length, text: l.trim() })),
    ),
  );
}

const load = (file: string): any => parseYamlDocuments(readFileSync(`deploy/k8s/${file}`, "utf8"))[0];

describe("YAML subset parser", () => {
  it("reads maps, sequences of maps and scalars, quotes, flow lists and comments", () => {
    const doc = parseYamlDocuments(`a: 1 # c\nb:\n  - name: x\n    v: "2"\n  - y\nc: [a, "b"]\nd: 'it''s'\ne: true\n`)[0];
    expect(doc).toEqual({ a: 1, b: [{ name: "x", v: "2" }, "y"], c: ["a", "b"], d: "it's", e: true });
    expect(() => parseYamlDocuments("a: &anchor 1")).toThrow(/unsupported/);
  });
});

describe("ranking k8s manifests", () => {
  const dep = load("ranking-deployment.yaml");
  const svc = load("ranking-service.yaml");
  const hpa = load("ranking-hpa.yaml");
  const container = dep.spec.template.spec.containers[0];
  const env = Object.fromEntries(container.env.map((e: { name: string; value?: string }) => [e.name, e.value]));

  it("deployment: one GPU per pod, CUDA backend, probes on /readyz and /healthz", () => {
    expect(dep.apiVersion).toBe("apps/v1");
    expect(dep.kind).toBe("Deployment");
    expect(container.resources.limits["nvidia.com/gpu"]).toBe(1);
    expect(container.resources.requests.cpu).toBeDefined(); // the CPU-utilization target needs a request
    expect(env.RANK_BACKEND).toBe("cuda");
    expect(container.readinessProbe.httpGet.path).toBe("/readyz");
    expect(container.livenessProbe.httpGet.path).toBe("/healthz");
    expect(Number(env.PORT)).toBe(container.ports[0].containerPort);
    expect(dep.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
  });

  it("deployment: the grace period covers preStop plus the drain bound", () => {
    const preStop = container.lifecycle.preStop.exec.command;
    expect(preStop[0]).toBe("sleep");
    const grace = dep.spec.template.spec.terminationGracePeriodSeconds;
    expect(grace).toBeGreaterThan(Number(preStop[1]) + Number(env.RANK_DRAIN_TIMEOUT_MS) / 1000);
    expect(dep.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
  });

  it("service selects the deployment's pods on the named http port", () => {
    expect(svc.kind).toBe("Service");
    for (const [k, v] of Object.entries(svc.spec.selector)) expect(dep.spec.template.metadata.labels[k]).toBe(v);
    expect(dep.spec.selector.matchLabels).toEqual(svc.spec.selector);
    expect(svc.spec.ports[0].targetPort).toBe(container.ports[0].name);
  });

  it("HPA: seed values — 100..1000 replicas, CPU 70%, p99 40 ms, fast up, slow down", () => {
    expect(hpa.apiVersion).toBe("autoscaling/v2");
    expect(hpa.kind).toBe("HorizontalPodAutoscaler");
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: dep.metadata.name });
    expect(hpa.spec.minReplicas).toBe(100);
    expect(hpa.spec.maxReplicas).toBe(1000);
    expect(dep.spec.replicas).toBe(hpa.spec.minReplicas);
    const cpu = hpa.spec.metrics.find((m: { type: string }) => m.type === "Resource");
    expect(cpu.resource).toEqual({ name: "cpu", target: { type: "Utilization", averageUtilization: 70 } });
    const p99 = hpa.spec.metrics.find((m: { type: string }) => m.type === "Pods");
    expect(p99.pods.metric.name).toBe("fyp_latency_p99_ms");
    expect(p99.pods.target).toEqual({ type: "AverageValue", averageValue: "40" });
    expect(hpa.spec.behavior.scaleUp).toEqual({ stabilizationWindowSeconds: 30, policies: [{ type: "Percent", value: 100, periodSeconds: 60 }] });
    expect(hpa.spec.behavior.scaleDown).toEqual({ stabilizationWindowSeconds: 300, policies: [{ type: "Percent", value: 10, periodSeconds: 60 }] });
  });

  it("prometheus-adapter rule serves the same metric name", () => {
    const cm = load("prometheus-adapter-rules.yaml");
    expect(cm.data["config.yaml"]).toContain('as: "fyp_latency_p99_ms"');
  });

  it("Dockerfile: CUDA runtime base, non-root user, CUDA backend, server entrypoint", () => {
    const df = readFileSync("gpu-inference/Dockerfile", "utf8");
    expect(df).toMatch(/^FROM nvidia\/cuda:12\.[\d.]+-cudnn-runtime-ubuntu22\.04$/m);
    expect(df).toMatch(/^USER (?!0\b|root\b)\S+/m);
    expect(df).toMatch(/RANK_BACKEND=cuda/);
    expect(df).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
    expect(df).toMatch(/^CMD \["node", "gpu-inference\/server\.ts"\]$/m);
  });
});
