// Admin and status calls of the ops dashboard (DESIGN §2 "Admin", GET /v1/status). Thin on purpose:
// an admin action is one deliberate click, so no retries — the dashboard shows the outcome instead,
// and a failure must be visible rather than silently repeated.

export const STATUS_TIMEOUT_MS = 4000;
export const ADMIN_TIMEOUT_MS = 15_000;

export interface AdminResult {
  ok: boolean;
  status: number;
  body: unknown;
}

export class AdminClient {
  #base: string;
  #token: () => string | null;
  #fetch: typeof fetch;

  constructor(opts: { baseUrl: string; token: () => string | null; fetch?: typeof fetch }) {
    this.#base = opts.baseUrl.replace(/\/+$/, "");
    this.#token = opts.token;
    this.#fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** GET /v1/status (public). Throws on network failure, timeout or non-200. */
  async status(): Promise<Record<string, unknown>> {
    const res = await this.#fetch(`${this.#base}/v1/status`, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(STATUS_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`status ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  }

  forceLevel(region: string, level: number | null): Promise<AdminResult> {
    return this.#post("/v1/admin/degradation", { region, level });
  }

  drain(region: string): Promise<AdminResult> {
    return this.#post(`/v1/admin/regions/${encodeURIComponent(region)}/drain`);
  }

  restore(region: string): Promise<AdminResult> {
    return this.#post(`/v1/admin/regions/${encodeURIComponent(region)}/restore`);
  }

  prewarm(): Promise<AdminResult> {
    return this.#post("/v1/admin/prewarm");
  }

  async #post(path: string, body?: unknown): Promise<AdminResult> {
    const token = this.#token();
    try {
      const res = await this.#fetch(`${this.#base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(ADMIN_TIMEOUT_MS),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // keep the raw text: it is still what the operator needs to see
      }
      return { ok: res.ok, status: res.status, body: parsed };
    } catch (e) {
      return { ok: false, status: 0, body: { error: { code: "network", message: (e as Error).message } } };
    }
  }
}
