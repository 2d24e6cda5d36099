import type { Redis } from "@upstash/redis/cloudflare";

// Replica spreading for hot keys: one Redis key (and so one shard of a clustered Redis) cannot take a
// viral video's whole read load, so a key the edge reports as hot is written to REPLICAS copies and each
// read picks one at random. Cold keys keep their single copy.
export const REPLICAS = 8;
const HOT_TTL_S = 300;
export const replicaKey = (key: string, i: number) => `${key}#r${i}`;

export async function readHot(redis: Redis, key: string, rand = Math.random()): Promise<string | null> {
  const i = Math.floor(rand * REPLICAS) % REPLICAS;
  return redis.get<string>(replicaKey(key, i));
}

export async function writeHot(redis: Redis, key: string, value: string): Promise<void> {
  const p = redis.pipeline();
  for (let i = 0; i < REPLICAS; i++) p.set(replicaKey(key, i), value, { ex: HOT_TTL_S });
  await p.exec();
}
