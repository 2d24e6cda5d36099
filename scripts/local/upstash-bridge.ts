import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { timingSafeEqual } from "node:crypto";
import { Redis } from "ioredis";

// A local stand-in for Upstash Redis: the Upstash REST protocol in front of a real redis-server, so the
// origin code runs the unmodified @upstash/redis client in local mode. What the client relies on
// (read from its source, v1.x):
//   POST /            body ["CMD", ...args]        → {result} | 4xx {error}
//   POST /pipeline    body [[...], [...]]          → [{result}|{error}, ...]   (errors do not fail the rest)
//   POST /multi-exec  same, inside MULTI/EXEC      → same shape
//   Upstash-Encoding: base64 (client default)      → every string in a result is base64, numbers stay numbers
// Non-2xx answers must carry a JSON {error}: the client reads body.error and throws it.
// Upstash also takes path-style commands (/set/key/value, binary value in a POST body); supported too.

const MAX_BODY_BYTES = 10 * 1024 * 1024;
// Chaos tests stop or SIGSTOP redis; the origin must see an error fast, not a hung request.
const COMMAND_TIMEOUT_MS = 1000;

// Commands that would change the state of the shared connection or block it for every other request.
const DENIED = new Set([
  "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH", "SELECT", "QUIT", "RESET", "MONITOR", "SYNC", "PSYNC",
  "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE", "CLIENT", "HELLO",
  "BLPOP", "BRPOP", "BRPOPLPUSH", "BLMOVE", "BLMPOP", "BZPOPMIN", "BZPOPMAX", "BZMPOP", "WAIT", "WAITAOF",
]);

type Arg = string | Buffer;
type Reply = Buffer | string | number | null | Error | Reply[];

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const isReplyError = (e: unknown): e is Error => e instanceof Error && e.name === "ReplyError";

/** Upstash JSON shape of a redis reply; base64 keeps binary values exact through JSON. */
function encodeReply(reply: Reply, base64: boolean): unknown {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === "number") return reply;
  if (Buffer.isBuffer(reply)) return base64 ? reply.toString("base64") : reply.toString("utf8");
  if (typeof reply === "string") return base64 ? Buffer.from(reply).toString("base64") : reply;
  if (Array.isArray(reply)) return reply.map((r) => encodeReply(r, base64));
  if (reply instanceof Error) return reply.message;
  return String(reply);
}

/** JSON command → redis arguments. The client serializes objects itself; numbers/booleans arrive raw. */
function toCommand(raw: unknown): Arg[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new HttpError(400, "ERR command must be a non-empty JSON array");
  return raw.map((a) => (typeof a === "string" ? a : typeof a === "object" && a !== null ? JSON.stringify(a) : String(a)));
}

function checkAllowed(cmd: Arg[]): string {
  const name = String(cmd[0]).toUpperCase();
  if (DENIED.has(name)) throw new HttpError(400, `ERR command '${name}' is not supported by the local Upstash bridge`);
  return name;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, `ERR request body larger than ${MAX_BODY_BYTES} bytes`));
        req.removeAllListeners("data");
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new HttpError(400, "ERR request body is not valid JSON");
  }
}

function authorized(req: IncomingMessage, url: URL, token: string): boolean {
  const header = req.headers.authorization ?? "";
  const given = header.startsWith("Bearer ") ? header.slice(7) : (url.searchParams.get("_token") ?? "");
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startUpstashBridge(opts: {
  port: number;
  redisPort: number;
  token: string;
  host?: string;
}): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const host = opts.host ?? "127.0.0.1";
  const redis = new Redis({
    host: "127.0.0.1",
    port: opts.redisPort,
    // Upstash REST answers with RESP2 shapes (flat WITHSCORES arrays, scores as strings); ioredis 6
    // defaults to RESP3, whose maps, doubles and nested pairs the client would not expect.
    protocol: 2,
    // Fail fast instead of queueing while redis is down, and never replay half-done writes (INCR)
    // after a reconnect: the caller already got an error for them.
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: COMMAND_TIMEOUT_MS,
    // Reconnect quickly so a restarted redis is usable again within a fraction of a second.
    retryStrategy: (times: number) => Math.min(50 * times, 500),
  });
  redis.on("error", () => {}); // connection errors surface per request; don't crash or spam

  // Upper-case names on purpose: ioredis applies reply transformers (hgetall → object, …) keyed by the
  // lower-case name; the raw RESP reply is what Upstash returns.
  const send = (cmd: Arg[]): Promise<Reply> => redis.callBuffer(String(cmd[0]).toUpperCase(), ...cmd.slice(1)) as Promise<Reply>;

  /** Results of commands sent back-to-back; a non-redis failure (down, timeout) fails the whole request. */
  async function settle(promises: Promise<Reply>[], base64: boolean): Promise<unknown[]> {
    const settled = await Promise.allSettled(promises);
    return settled.map((s) => {
      if (s.status === "fulfilled") return { result: encodeReply(s.value, base64) };
      if (isReplyError(s.reason)) return { error: s.reason.message };
      throw s.reason;
    });
  }

  async function single(cmd: Arg[], base64: boolean): Promise<unknown> {
    checkAllowed(cmd);
    try {
      return { result: encodeReply(await send(cmd), base64) };
    } catch (err) {
      if (isReplyError(err)) throw new HttpError(400, err.message);
      throw err;
    }
  }

  async function pipeline(cmds: Arg[][], base64: boolean): Promise<unknown[]> {
    cmds.forEach(checkAllowed);
    return settle(cmds.map(send), base64);
  }

  async function multiExec(cmds: Arg[][], base64: boolean): Promise<unknown[]> {
    cmds.forEach(checkAllowed);
    // All written synchronously on one connection, so no other request's command can land inside
    // the transaction (JS runs this block without interleaving).
    const multi = redis.callBuffer("MULTI") as Promise<Reply>;
    const queued = cmds.map(send);
    const exec = redis.callBuffer("EXEC") as Promise<Reply>;
    // Settle all together so no rejection is ever left without a handler.
    const settled = await Promise.allSettled([multi, ...queued, exec]);
    const m = settled[0];
    const e = settled[settled.length - 1];
    if (e.status === "rejected") {
      // EXECABORT: a command was rejected while queueing (unknown command, wrong arity).
      const cause = settled.slice(1, -1).find((r) => r.status === "rejected");
      if (isReplyError(e.reason)) {
        const why = cause?.status === "rejected" && isReplyError(cause.reason) ? `: ${cause.reason.message}` : "";
        throw new HttpError(400, `${e.reason.message}${why}`);
      }
      throw e.reason;
    }
    if (m.status === "rejected") throw m.reason;
    const replies = e.value;
    if (!Array.isArray(replies)) throw new HttpError(400, "ERR transaction aborted");
    return replies.map((r) => (r instanceof Error ? { error: r.message } : { result: encodeReply(r, base64) }));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://bridge");
    if (!authorized(req, url, opts.token)) throw new HttpError(401, "Unauthorized");
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    const body = await readBody(req);
    const segments = url.pathname.split("/").filter((s) => s !== "").map((s) => decodeURIComponent(s));

    let out: unknown;
    if (segments.length === 0) {
      if (req.method !== "POST") throw new HttpError(405, "ERR use POST with a JSON command array");
      out = await single(toCommand(parseJson(body)), base64);
    } else if (segments.length === 1 && (segments[0] === "pipeline" || segments[0] === "multi-exec")) {
      const raw = parseJson(body);
      if (!Array.isArray(raw) || raw.length === 0) throw new HttpError(400, "ERR body must be a non-empty array of commands");
      const cmds = raw.map(toCommand);
      out = segments[0] === "pipeline" ? await pipeline(cmds, base64) : await multiExec(cmds, base64);
    } else {
      // Path-style: /set/key/value; a POST body, when present, is the (binary-safe) last argument.
      const cmd: Arg[] = [...segments];
      if (req.method === "POST" && body.length > 0) cmd.push(body);
      out = await single(cmd, base64);
    }
    const json = JSON.stringify(out);
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
    res.end(json);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 503;
      const message =
        err instanceof HttpError ? err.message : `ERR redis unavailable: ${err instanceof Error ? err.message : String(err)}`;
      const json = JSON.stringify({ error: message });
      if (res.headersSent) return void res.destroy();
      const headers: Record<string, string | number> = { "content-type": "application/json", "content-length": Buffer.byteLength(json) };
      if (status === 413) headers.connection = "close";
      res.writeHead(status, headers);
      res.end(json);
    });
  });
  // Longer than undici's keep-alive so the client never reuses a socket we are about to close.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  // Give redis a moment so the first request does not race the initial connect; a redis that is not up
  // yet is fine (requests get 503 until it is).
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 3000);
    redis.once("ready", () => {
      clearTimeout(timer);
      resolve();
    });
  });

  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      redis.disconnect();
    },
  };
}
