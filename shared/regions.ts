import { z } from "zod";

export const REGION_VALUES = ["us", "eu", "apac"] as const;
export const RegionSchema = z.enum(REGION_VALUES, { error: `must be one of ${REGION_VALUES.join(", ")}` });
export type Region = z.infer<typeof RegionSchema>;

export function isRegion(s: unknown): s is Region {
  return typeof s === "string" && (REGION_VALUES as readonly string[]).includes(s);
}

// Geo routing: continent codes as Cloudflare reports them in request.cf.continent.
const CONTINENT_REGION: Record<string, Region> = {
  NA: "us", SA: "us", EU: "eu", AF: "eu", AS: "apac", OC: "apac", AN: "us",
};
// Countries whose continent alone routes them badly (latency-wise or by law).
const COUNTRY_REGION: Record<string, Region> = { RU: "eu", TR: "eu", IL: "eu", AE: "eu", SA: "eu" };

export function regionForGeo(country?: string | null, continent?: string | null): Region | null {
  if (country && COUNTRY_REGION[country]) return COUNTRY_REGION[country];
  if (continent && CONTINENT_REGION[continent]) return CONTINENT_REGION[continent];
  return null;
}
