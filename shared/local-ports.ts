// Loopback ports of the local stack. `npm start` uses the "dev" profile; `npm test` uses "test" so a
// running dev stack and a test run never collide. Every port can still be overridden by env.
export type Region = "us" | "eu" | "apac";
export const REGIONS: readonly Region[] = ["us", "eu", "apac"] as const;

export interface LocalPorts {
  edge: number;
  origin: Record<Region, number>;
  redis: Record<Region, number>;
  upstash: Record<Region, number>;
  postgres: number;
  neonProxy: number;
  ranking: number;
}

export function localPorts(profile: "dev" | "test" = "dev"): LocalPorts {
  const o = profile === "dev" ? 0 : 1000;
  return {
    edge: 8787 + o,
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
