import {
  CTX_DIM, EMBEDDING_DIM, describeBadFeature, encodeColumnar, findBadFeature, parseRankResponse,
} from "../shared/rank-contract.ts";
import { pairsToBase64, packIds } from "../shared/u64-ids.ts";
import type { CircuitBreaker } from "../shared/circuit-breaker.ts";
import type { Clock } from "../shared/clock.ts";
import { retryPolicy, wrap } from "../shared/resilience-policy.ts";
import { defaultRetryable, type RetryPolicy } from "../shared/retry.ts";
import type { DependencyHealth } from "./dependency-health.ts";

// HTTP client of the ranking service (gpu-inference/). Two request forms (shared/rank-contract.ts):
//  - by ids (rankByIds, the feed's form since issue 13): the user's embedding and followees plus the
//    candidate ids, packed uint64; the service gathers video embeddings and counts from its own versioned
//    feature table (gpu-inference/feature-table.ts) and derives the context features itself, so the
//    origin reads no video features to rank (5,000 × 64 bytes of floats no longer cross Redis and the
//    wire). Ids the table does not hold are scored from its cold item features, never refused;
//  - columnar (rankColumnar): ids plus base64 float32 blocks the caller built, for callers that hold the
//    features themselves (and the service's compatibility tests).
// `rank` takes either input and picks the form from its shape.
//
// Inputs are checked against the service's contract before anything is sent (shared/rank-contract.ts:
// every feature finite and within ±FEATURE_ABS_MAX): a candidate whose features are corrupt (e.g. a
// damaged feature-store entry) is left out rather than costing the user the whole ranked feed; a corrupt
// user embedding cannot be ranked at all and fails permanently. A 4xx answer (other than 408/429) is
// permanent too: the same request would be refused again, so the caller goes straight to its fallback
// instead of retrying (isRetryableRankingError). Responses are validated: scores are finite in [0, 1].

export { CTX_DIM };

/** Columnar form: the caller's own features per candidate. */
export interface RankColumnarInput {
  userId: string;
  userEmb: Float32Array;
  ids: string[];
  embeddings: Float32Array; // ids.length * EMBEDDING_DIM
  ctx: Float32Array; // ids.length * CTX_DIM
  topK: number;
}
/** By-ids form: candidate video ids (decimal strings) and the author ids the user follows. */
export interface RankByIdsInput {
  userId: string;
  userEmb: Float32Array;
  ids: string[];
  /** Author ids (decimal strings) the user follows: the service's followedAuthor context feature. */
  followees: readonly string[];
  topK: number;
}
export type RankInput = RankColumnarInput | RankByIdsInput;

export interface RankOutput {
  modelVersion: string;
  items: { id: string; score: number }[];
  /** Candidates left out: a feature not finite or in range (columnar), an id that is not a decimal id (by ids); in input order. */
  dropped: string[];
  /** By-ids answers: the service's feature table version and how many ids it scored from cold item features. */
  featureTable?: { version: string; missing: number };
}

export class RankingError extends Error {
  readonly status: number;
  /** Retrying cannot help (the request was refused or could not be built): go to the fallback. */
  readonly permanent: boolean;
  constructor(message: string, status = 0, permanent = false) {
    super(message);
    this.status = status;
    this.permanent = permanent;
  }
}

/** Retry predicate for ranking calls: shared/retry.ts's default, minus permanent RankingErrors. */
export const isRetryableRankingError = (err: unknown): boolean =>
  defaultRetryable(err) && !(err instanceof RankingError && err.permanent);

/**
 * One ranking step of a feed request, wrap(observed by `ml`, retry per `policy`, `breaker`)
 * (shared/resilience-policy.ts): `call` through `breaker` on every try, retried per `policy` (the
 * seed's ML inference policy: 1 retry after 20 ms ±20%, 40 ms per try) unless the error is permanent,
 * and observed as ONE sample of `ml` (the "ML p99 > 50 ms" signal of origin/signals.ts): the wall time
 * of the whole step — every try, the backoff, a timed-out try at its elapsed time (≥ its timeout) —
 * failures included. A step the breaker refused before any try reached the service is no sample.
 * Resolves with call's result; throws like shared/retry.ts retry(): CircuitOpenError, a permanent
 * RankingError, or RetryExhaustedError (cause = the last try's error).
 */
export function rankStep<T>(ml: DependencyHealth, breaker: CircuitBreaker, policy: RetryPolicy, call: () => Promise<T>, clock?: Clock): Promise<T> {
  let calls = 0;
  const step = wrap(ml.observing(() => calls === 0), retryPolicy(policy, { retryable: isRetryableRankingError, clock }), breaker);
  return step.execute(() => (calls++, call()));
}

/** Request-timeout and rate-limit answers may succeed on another try; every other 4xx will not. */
const permanentStatus = (status: number) => status >= 400 && status < 500 && status !== 408 && status !== 429;

/** Rows whose embedding or context holds a value the service would refuse; empty when all are fine. */
function badRows(input: RankColumnarInput): Set<number> {
  const bad = new Set<number>();
  for (const [block, dim] of [[input.embeddings, EMBEDDING_DIM], [input.ctx, CTX_DIM]] as const) {
    let from = 0;
    for (let hit = findBadFeature(block, dim); hit; hit = findBadFeature(block.subarray(from), dim)) {
      const row = hit.row + from / dim;
      bad.add(row);
      from = (row + 1) * dim;
    }
  }
  return bad;
}

/** Input minus the rows in `drop` (a copy; the common case, no bad rows, never gets here). */
function withoutRows(input: RankColumnarInput, drop: Set<number>): RankColumnarInput {
  const keep = input.ids.map((_, i) => i).filter((i) => !drop.has(i));
  const embeddings = new Float32Array(keep.length * EMBEDDING_DIM);
  const ctx = new Float32Array(keep.length * CTX_DIM);
  keep.forEach((i, k) => {
    embeddings.set(input.embeddings.subarray(i * EMBEDDING_DIM, (i + 1) * EMBEDDING_DIM), k * EMBEDDING_DIM);
    ctx.set(input.ctx.subarray(i * CTX_DIM, (i + 1) * CTX_DIM), k * CTX_DIM);
  });
  return { ...input, ids: keep.map((i) => input.ids[i]), embeddings, ctx };
}

/** Throws the permanent RankingError for a user embedding the service would refuse. */
function checkUser(userEmb: Float32Array): void {
  const userBad = userEmb.length === EMBEDDING_DIM ? findBadFeature(userEmb, EMBEDDING_DIM) : { row: 0, col: userEmb.length, value: NaN };
  if (userBad) throw new RankingError(`user embedding not rankable: ${describeBadFeature(userBad)}`, 0, true);
}

/** Ranks with whichever form `input` is (see the header); throws like rankColumnar / rankByIds. */
export function rank(baseUrl: string, input: RankInput, timeoutMs: number, secret = ""): Promise<RankOutput> {
  return "embeddings" in input ? rankColumnar(baseUrl, input, timeoutMs, secret) : rankByIds(baseUrl, input, timeoutMs, secret);
}

/**
 * Ranks `input.ids` for one user; resolves with the top `topK` (score desc) and the ids left out for bad
 * features. Throws RankingError: permanent for a bad user embedding, block sizes that do not match the
 * ids, a 4xx answer (except 408/429) or a malformed response; otherwise (network, timeout, 5xx) retryable.
 */
export async function rankColumnar(baseUrl: string, input: RankColumnarInput, timeoutMs: number, secret = ""): Promise<RankOutput> {
  const n = input.ids.length;
  if (input.embeddings.length !== n * EMBEDDING_DIM) throw new RankingError("embedding block size mismatch", 0, true);
  if (input.ctx.length !== n * CTX_DIM) throw new RankingError("context block size mismatch", 0, true);
  checkUser(input.userEmb);
  const bad = badRows(input);
  const sent = bad.size ? withoutRows(input, bad) : input;
  const dropped = bad.size ? input.ids.filter((_, i) => bad.has(i)) : [];
  if (dropped.length) console.warn(`ranking: left out ${dropped.length} candidate(s) with non-finite or out-of-range features (${dropped.slice(0, 5).join(", ")})`);

  const body = JSON.stringify({
    user: { id: input.userId, embedding: Array.from(input.userEmb) },
    columnar: encodeColumnar({ ids: sent.ids, embeddings: sent.embeddings, ctx: sent.ctx }),
    top_k: input.topK,
  });
  return { ...(await post(baseUrl, body, timeoutMs, secret)), dropped };
}

/** Decimal ids (digits only, < 2^64) packed; the others returned as dropped. */
function packDecimal(ids: readonly string[]): { packed: Uint32Array; kept: number; dropped: string[] } {
  try {
    return { packed: packIds(ids), kept: ids.length, dropped: [] };
  } catch {
    // Rare (a corrupt cached list): keep what packs, one id at a time.
    const keep: string[] = [];
    const dropped: string[] = [];
    for (const id of ids) {
      try {
        packIds([id]);
        keep.push(id);
      } catch {
        dropped.push(id);
      }
    }
    return { packed: packIds(keep), kept: keep.length, dropped };
  }
}

/**
 * Ranks candidate ids for one user with the service's feature table (the by_ids form); resolves with the
 * top `topK` (score desc), the ids left out (not decimal ids), and the table version/missing count the
 * service reports. Ids the table does not hold are scored cold by the service, not refused. Throws
 * RankingError like rankColumnar: permanent for a bad user embedding, a 4xx (except 408/429) or a
 * malformed answer; retryable otherwise (a 503 while the service has no table included).
 */
export async function rankByIds(baseUrl: string, input: RankByIdsInput, timeoutMs: number, secret = ""): Promise<RankOutput> {
  checkUser(input.userEmb);
  const ids = packDecimal(input.ids);
  if (ids.dropped.length) console.warn(`ranking: left out ${ids.dropped.length} candidate id(s) that are not decimal ids (${ids.dropped.slice(0, 5).join(", ")})`);
  const followees = packDecimal(input.followees);
  const body = JSON.stringify({
    user: { id: input.userId, embedding: Array.from(input.userEmb) },
    by_ids: { ids: pairsToBase64(ids.packed), ...(followees.kept ? { followees: pairsToBase64(followees.packed) } : {}) },
    top_k: input.topK,
  });
  return { ...(await post(baseUrl, body, timeoutMs, secret)), dropped: ids.dropped };
}

/** One POST /v1/rank; the answer validated against the contract. */
async function post(baseUrl: string, body: string, timeoutMs: number, secret: string): Promise<Omit<RankOutput, "dropped">> {
  let res: Response;
  try {
    res = await fetch(`${baseUrl}/v1/rank`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-internal-secret": secret },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new RankingError(`ranking call failed: ${(e as Error).name === "TimeoutError" ? "timeout" : (e as Error).message}`);
  }
  if (!res.ok) {
    // The error body names the refused field; worth a log line when the request itself was wrong.
    const detail = permanentStatus(res.status) ? await res.text().catch(() => "") : (await res.body?.cancel(), "");
    throw new RankingError(`ranking service answered ${res.status}${detail ? `: ${detail.slice(0, 300)}` : ""}`, res.status, permanentStatus(res.status));
  }
  const parsed = parseRankResponse(await res.json().catch(() => undefined));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RankingError(`malformed ranking response at ${issue.path.join(".") || "body"}: ${issue.message}`, res.status, true);
  }
  const d = parsed.data;
  return {
    modelVersion: d.model_version, items: d.items.map((it) => ({ id: String(it.id), score: it.score })),
    ...(d.feature_table ? { featureTable: d.feature_table } : {}),
  };
}
