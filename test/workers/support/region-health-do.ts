/// <reference types="@cloudflare/vitest-plugin/types" />
import type { DurableObjectNamespace } from "@cloudflare/workers-types";
import { type runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { EdgeBindings } from "../../../edge/env.ts";
import type { RegionHealth, RegionHealthSnapshot } from "../../../edge/region-health.ts";
import type { MachineEvent } from "../../../edge/region-health-machine.ts";

// The test edge's one RegionHealth Durable Object ("global"), for workers tests. Test-only.

const ns = () => (env as unknown as EdgeBindings).REGION_HEALTH as DurableObjectNamespace;

/** Its stub, in the type the vitest-pool helpers take (ours comes from the DOM-lib-compatible declarations). */
export const regionHealthStub = () => ns().get(ns().idFromName("global")) as unknown as Parameters<typeof runDurableObjectAlarm>[0];

/** Its stub as an RPC client of the methods `M` the test calls. */
export const regionHealthRpc = <M extends keyof RegionHealth>() => regionHealthStub() as unknown as Pick<RegionHealth, M>;

/** Feeds machine events straight into the object with their own times (the test origins are unreachable, so
 * no probe would ever succeed); resolves with its snapshot after them. */
export const feedRegionHealth = (events: MachineEvent[]) =>
  runInDurableObject(regionHealthStub(), (i: RegionHealth) => (i as unknown as { apply(e: MachineEvent[]): Promise<RegionHealthSnapshot> }).apply(events));
