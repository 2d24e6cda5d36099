import type { FeedEvent, FeedResponse } from "../contract.ts";
import type { RetryPolicy } from "../config.ts";
import { retry, TryTimeoutError } from "../retry.ts";

// HTTP client for the public edge API (DESIGN §2) as the web client uses it. DOM-free: it needs only
// fetch, so the same code runs in the browser page and in node tests against a real HTTP server.

/**
 * Feed reads from a browser: GETs are idempotent, so retry transient failures (network, timeout, 5xx,
 * 429). Per-try timeout is generous because a cold origin may rank for a few seconds; the backoff is the
 * seed's CDN-origin shape (100/500 ms ±20%) stretched for a user's connection rather than a PoP's.
 */
export const CLIENT_FEED_RETRY: RetryPolicy = { retries: 2, delaysMs: [300, 1000], jitter: 0.2, perTryTimeoutMs: 8000 };
/** One POST /v1/events try. The batcher owns retries (it must re-queue, never drop), so none here. */
export const CLIENT_EVENTS_TIMEOUT_MS = 10_000;
/** Chrome caps the bodies of all in-flight keepalive requests at 64 KiB together; stay well below. */
export const KEEPALIVE_MAX_BYTES = 48 * 1024;

/** A non-2xx answer from the API, with the contract's error body when there was one. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  readonly status: number;
  readonly code: string;
  readonly retryAfterMs: number | null;
  /** The error body's own message (e.g. "invalid token"), without the status and code. */
  readonly detail: string;
  constructor(status: number, code: string, message: string, retryAfterMs: number | null) {
    super(`${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
    this.detail = message;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Worth another try: the network, a timeout, a 5xx or a 429. A 4xx will give the same answer again. */
export function isTransient(err: unknown): boolean {
  if (err instanceof HttpError) return err.status >= 500 || err.status === 429 || err.status === 408;
  if (err instanceof TryTimeoutError) return true;
  return !(err instanceof DOMException && err.name === "AbortError");
}

function retryAfterMs(res: Response): number | null {
  const h = res.headers.get("retry-after");
  if (!h) return null;
  const s = Number(h);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : null;
}

async function httpError(res: Response): Promise<HttpError> {
  let code = "http_error";
  let message = res.statusText || "request failed";
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    // Not the contract's JSON error body (an intermediary's page): the status says enough.
  }
  return new HttpError(res.status, code, message, retryAfterMs(res));
}

/** Outcome of one events POST, as the batcher needs it: only "accepted" (a 202) may drop events. */
export type SendOutcome =
  | { kind: "accepted"; accepted: number }
  | { kind: "retry"; status: number; retryAfterMs: number | null; error: string }
  | { kind: "unauthorized"; status: number; error: string }
  | { kind: "rejected"; status: number; error: string };

export interface ApiClientOptions {
  /** Edge base URL, e.g. location.origin or http://127.0.0.1:8787. */
  baseUrl: string;
  /** Current session token (null = anonymous); read per request so a sign-in applies at once. */
  token?: () => string | null;
  fetch?: typeof fetch;
  feedRetry?: RetryPolicy;
  eventsTimeoutMs?: number;
}

export interface FeedRequest {
  count?: number;
  cursor?: string | null;
  region?: string | null;
}

export class ApiClient {
  readonly baseUrl: string;
  #token: () => string | null;
  #fetch: typeof fetch;
  #feedRetry: RetryPolicy;
  #eventsTimeoutMs: number;

  constructor(opts: ApiClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, "");
    this.#token = opts.token ?? (() => null);
    // Bound: calling a detached window.fetch throws "Illegal invocation" in browsers.
    this.#fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.#feedRetry = opts.feedRetry ?? CLIENT_FEED_RETRY;
    this.#eventsTimeoutMs = opts.eventsTimeoutMs ?? CLIENT_EVENTS_TIMEOUT_MS;
  }

  #auth(): Record<string, string> {
    const t = this.#token();
    return t ? { authorization: `Bearer ${t}` } : {};
  }

  /** GET /v1/feed, retried on transient failures. Throws HttpError for a 4xx (e.g. 401 bad token). */
  async getFeed(req: FeedRequest = {}, signal?: AbortSignal): Promise<FeedResponse> {
    const q = new URLSearchParams();
    if (req.count) q.set("count", String(req.count));
    if (req.cursor) q.set("cursor", req.cursor);
    if (req.region) q.set("region", req.region);
    const qs = q.toString();
    const url = `${this.baseUrl}/v1/feed${qs ? `?${qs}` : ""}`;
    return retry(
      async (_attempt, trySignal) => {
        const res = await this.#fetch(url, { headers: { accept: "application/json", ...this.#auth() }, signal: trySignal });
        if (!res.ok) throw await httpError(res);
        return (await res.json()) as FeedResponse;
      },
      this.#feedRetry,
      { signal, retryable: isTransient },
    );
  }

  /**
   * One POST /v1/events try. Never throws: every failure becomes an outcome, so the caller cannot
   * mistake an exception path for "sent". keepalive lets the request outlive the page (pagehide).
   */
  async sendEvents(events: readonly FeedEvent[], opts: { keepalive?: boolean } = {}): Promise<SendOutcome> {
    const body = JSON.stringify({ events });
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(new TryTimeoutError(1, this.#eventsTimeoutMs)), this.#eventsTimeoutMs);
    try {
      const res = await this.#fetch(`${this.baseUrl}/v1/events`, {
        method: "POST",
        headers: { "content-type": "application/json", ...this.#auth() },
        body,
        keepalive: !!opts.keepalive && body.length <= KEEPALIVE_MAX_BYTES,
        signal: ctl.signal,
      });
      if (res.status === 202) {
        const b = (await res.json().catch(() => ({}))) as { accepted?: number };
        return { kind: "accepted", accepted: b.accepted ?? events.length };
      }
      const err = await httpError(res);
      if (res.status === 401 || res.status === 403) return { kind: "unauthorized", status: res.status, error: err.message };
      if (isTransient(err)) return { kind: "retry", status: res.status, retryAfterMs: err.retryAfterMs, error: err.message };
      return { kind: "rejected", status: res.status, error: err.message };
    } catch (e) {
      // Network failure or timeout: the server may or may not have the batch; resending is safe because
      // every event carries an idempotency key.
      return { kind: "retry", status: 0, retryAfterMs: null, error: (e as Error).message ?? String(e) };
    } finally {
      clearTimeout(timer);
    }
  }
}
