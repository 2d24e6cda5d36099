import type { Session } from "../shared/auth.ts";
import type { EdgeBindings } from "./env.ts";

// Hono environment of the edge app: bindings plus per-request variables.
export type EdgeEnv = { Bindings: EdgeBindings; Variables: { requestId: string; t0: number; session?: Promise<Session | null> } };
