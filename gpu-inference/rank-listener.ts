// The ranking service's fast path: POST /v1/rank (and the constant GET /healthz) served straight on
// node:http, every other request handed to the Hono app (gpu-inference/app.ts). Hono's Node adapter builds a web Request and Response
// per call and streams the body through a web ReadableStream; for this one hot route that cost ~2–3×
// what plain node:http does per request (measured: bench/rank.bench.ts's transport floor and the
// batched/unbatched throughput rows), the per-request cost that bounds what batching can win.
//
// Same answers as the Hono route (gpu-inference/rank-handler.ts does the work for both): 401 without the
// secret when required, 413 payload_too_large past maxBodyBytes whether the body is sized or chunked
// (answered once the client has sent it all), 400 for invalid JSON, `connection: close` while draining,
// fyp_rank_requests_total / fyp_rank_latency_ms for every answer, 500 internal for anything unexpected.
import type { IncomingMessage, ServerResponse } from "node:http";
import { timingSafeEqualStr } from "../shared/timing-safe.ts";
import type { AppDeps } from "./app.ts";
import { errorReply, handleRank, type RankReply } from "./rank-handler.ts";

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

const HEALTHY = JSON.stringify({ ok: true });

/**
 * A node:http listener: POST /v1/rank and GET /healthz (a constant: the liveness probe, and the transport
 * floor bench/rank.bench.ts compares a rank call with) here, everything else to `fallback` (the Hono
 * app's listener).
 */
export function rankFastPath(d: AppDeps, fallback: Listener): Listener {
  return (req, res) => {
    const q = req.url?.indexOf("?") ?? -1;
    const path = q >= 0 ? req.url!.slice(0, q) : req.url;
    if (req.method === "POST" && path === "/v1/rank") return void serveRank(d, req, res);
    if (req.method === "GET" && path === "/healthz") {
      req.resume();
      res.writeHead(200, { "content-type": "application/json", "content-length": HEALTHY.length, ...(d.draining() ? { connection: "close" } : {}) });
      return void res.end(HEALTHY);
    }
    fallback(req, res);
  };
}

function send(d: AppDeps, res: ServerResponse, reply: RankReply, t0: number, close = false): void {
  const text = JSON.stringify(reply.body);
  const headers: Record<string, string | number> = { "content-type": "application/json", "content-length": Buffer.byteLength(text) };
  if (reply.retryAfterS !== undefined) headers["retry-after"] = String(reply.retryAfterS);
  if (close || d.draining()) headers.connection = "close";
  res.writeHead(reply.status, headers);
  res.end(text);
  d.metrics.observeRequest(reply.status, performance.now() - t0);
}

/**
 * The body as text, or "too-large" once it passes `max` bytes. Past the cap the rest is read and
 * discarded (not kept), and the answer waits for its end: answering and closing mid-upload would cut the
 * client off while it is still sending (EPIPE), where it should read a 413.
 */
function readBody(req: IncomingMessage, max: number): Promise<string | "too-large"> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= max) chunks.push(c);
      else chunks.length = 0;
    });
    req.once("end", () => resolve(size > max ? "too-large" : Buffer.concat(chunks, size).toString("utf8")));
    req.once("error", reject);
  });
}

/** Reads and discards the rest of a request body. */
const drain = (req: IncomingMessage) =>
  new Promise<void>((resolve) => {
    req.once("end", resolve);
    req.once("error", () => resolve());
    req.once("close", resolve);
    req.resume();
  });

async function serveRank(d: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const t0 = performance.now();
  try {
    if (d.config.requireSecret && !timingSafeEqualStr(String(req.headers["x-internal-secret"] ?? ""), d.config.internalSecret)) {
      await drain(req);
      return send(d, res, errorReply(401, "unauthorized", "missing or wrong x-internal-secret", "x-internal-secret"), t0);
    }
    const tooLarge = () => errorReply(413, "payload_too_large", `body over ${d.config.maxBodyBytes} bytes`, "body");
    if (Number(req.headers["content-length"] ?? 0) > d.config.maxBodyBytes) {
      await drain(req);
      return send(d, res, tooLarge(), t0);
    }
    const text = await readBody(req, d.config.maxBodyBytes);
    if (text === "too-large") return send(d, res, tooLarge(), t0);
    send(d, res, await handleRank(d, async () => JSON.parse(text), req.headers["content-type"]), t0);
  } catch (e) {
    console.error(`[rank] unhandled: ${e instanceof Error ? e.message : String(e)}`);
    if (!res.headersSent) send(d, res, errorReply(500, "internal", "internal error"), t0, true);
    else res.destroy();
  }
}
