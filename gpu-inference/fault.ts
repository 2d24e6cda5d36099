// Fault injection for chaos tests: extra latency on every batch ("the model got slow") and a random
// failure rate per request ("the model is failing"). Off by default; set by env at startup or at runtime
// through POST /v1/admin/fault (internal-secret guarded).
import { z } from "zod";

export const FaultSettingsSchema = z.object({
  delay_ms: z.number().min(0).max(60_000).optional(),
  fail_rate: z.number().min(0).max(1).optional(),
});
export type FaultSettings = { delay_ms: number; fail_rate: number };

export class FaultInjector {
  private s: FaultSettings;
  private readonly random: () => number;

  constructor(initial: Partial<FaultSettings> = {}, random: () => number = Math.random) {
    this.s = { delay_ms: initial.delay_ms ?? 0, fail_rate: initial.fail_rate ?? 0 };
    this.random = random;
  }

  get settings(): FaultSettings {
    return { ...this.s };
  }

  set(patch: Partial<FaultSettings>): FaultSettings {
    this.s = { delay_ms: patch.delay_ms ?? this.s.delay_ms, fail_rate: patch.fail_rate ?? this.s.fail_rate };
    return this.settings;
  }

  shouldFail(): boolean {
    return this.s.fail_rate > 0 && this.random() < this.s.fail_rate;
  }

  /** Sleeps for the configured delay (resolves immediately when 0). */
  delay(): Promise<void> {
    const ms = this.s.delay_ms;
    return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
  }
}
