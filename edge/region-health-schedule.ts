// The RegionHealth probe cadence (DESIGN.md §3 "Regions": probe each origin every 10 s; issue 12 item 6:
// "every 10 s exactly"). Probe rounds sit on a fixed grid — plannedAt, plannedAt + interval, … — instead
// of "now + interval once the round has finished", which drifted to 10–12 s per round (probe time plus
// alarm delay) and pushed removal past the 60 s the procedure promises. Pure functions, no clock.
//
// Worst case with the production values (interval 10 s, 3 failures, anti-flap 30 s): an outage that starts
// just after the probe at slot s0 fails the probes at s0+10, +20, +30 (threshold: anti-flap starts at
// s0+30), and the round at slot s0+60 closes the anti-flap window before it probes, so the region is out
// at s0+60 ≤ outage start + 60 s. Rounds are stamped with their slot, not with the (ms-late) wall clock
// of the alarm, so the windows line up with the grid exactly.

export interface RoundTiming {
  /** The time this round's probes are stamped with: its grid slot (the latest slot at or before `now`),
   * or `now` itself for an alarm that fired before its planned time. */
  slotAt: number;
  /** When the next alarm must fire: the next slot after `slotAt`; slots already missed are skipped. */
  nextAt: number;
}

/**
 * Timing of a probe round whose alarm was planned for `plannedAt` (ms) and fires at `now` (ms).
 * An alarm that fires late by more than an interval (the object was evicted, the runtime was busy) does
 * not try to catch up: the missed slots are skipped and the grid is kept. Throws RangeError for an
 * interval ≤ 0 (the config bounds forbid it).
 */
export function roundTiming(plannedAt: number, now: number, intervalMs: number): RoundTiming {
  if (!(intervalMs > 0)) throw new RangeError(`probe interval must be > 0 ms, got ${intervalMs}`);
  const missed = Math.max(0, Math.floor((now - plannedAt) / intervalMs));
  const slot = plannedAt + missed * intervalMs;
  return { slotAt: Math.min(slot, now), nextAt: slot + intervalMs };
}

/**
 * Whether a round can outlast its slot. The three probes run concurrently, so a round lasts at most one
 * probe timeout; with the production values (2 s timeout, 10 s interval) it always ends before the next
 * slot. Shrunk test timings may not (the e2e stack probes every 500 ms with a 1 s timeout, because an
 * origin whose Postgres is down answers its health check after the 500 ms database probe): then the
 * alarm of the next slot joins the round still in flight instead of starting another, so rounds never
 * overlap and the grid is kept.
 */
export function roundsMayOverlap(t: { probeTimeoutMs: number; probeIntervalMs: number }): boolean {
  return t.probeTimeoutMs >= t.probeIntervalMs;
}
