// Loopback ports of the local stack. `npm start` uses the "dev" profile; `npm test` uses "test" so a
// running dev stack and a test run never collide. Every port can still be overridden by env.
export type Region = "us" | "eu" | "apac";
export const REGIONS: readonly Region[] = ["us", "eu", "apac"] as const;

export interface LocalPorts {
  /** The edge's API worker. */
  edge: number;
  /** The edge's pages worker (web client, ops page). */
  web: number;
  origin: Record<Region, number>;
  redis: Record<Region, number>;
  upstash: Record<Region, number>;
  postgres: number;
  neonProxy: number;
  ranking: number;
}

/** Port offset of a profile; FYP_PORT_OFFSET moves a test stack elsewhere (two test runs side by side). */
export function portOffset(profile: "dev" | "test"): number {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.FYP_PORT_OFFSET;
  if (profile === "test" && env && /^[0-9]+$/.test(env)) return Number(env);
  return profile === "dev" ? 0 : 1000;
}

/** Data directory name under .local/ for a profile (distinct per port offset). */
export function profileDirName(profile: "dev" | "test"): string {
  const o = portOffset(profile);
  return profile === "test" && o !== 1000 ? `test-${o}` : profile;
}

export function localPorts(profile: "dev" | "test" = "dev"): LocalPorts {
  const o = portOffset(profile);
  return {
    edge: 8787 + o,
    web: 8788 + o,
    origin: { us: 8801 + o, eu: 8802 + o, apac: 8803 + o },
    redis: { us: 6391 + o, eu: 6392 + o, apac: 6393 + o },
    upstash: { us: 8091 + o, eu: 8092 + o, apac: 8093 + o },
    postgres: 54329 + o,
    neonProxy: 8095 + o,
    ranking: 8790 + o,
  };
}

export const LOCAL_UPSTASH_TOKEN = "fyp-local-upstash-token";
export const LOCAL_PG = { user: "postgres", password: "postgres" } as const;
export const regionDatabase = (r: Region) => `fyp_${r}`;
