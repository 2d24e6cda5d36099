// Minimal declarations of workerd's built-in `cloudflare:workers` module. The full
// @cloudflare/workers-types globals clash with the DOM lib this project compiles against (the same code
// also runs in Node), so only the pieces we use are declared here, typed with workers-types' own types.
declare module "cloudflare:workers" {
  import type { DurableObjectState } from "@cloudflare/workers-types";
  export abstract class DurableObject<Env = unknown> {
    protected ctx: DurableObjectState;
    protected env: Env;
    constructor(ctx: DurableObjectState, env: Env);
    fetch?(request: Request): Response | Promise<Response>;
    alarm?(): void | Promise<void>;
  }
  export const env: Record<string, unknown>;
}
