// Local-only secrets. Production reads them from `wrangler secret put` / Kubernetes secrets; these
// defaults exist so `npm start` works on a fresh clone. Each can be overridden by the same-named env var.
export const devSecrets = {
  SESSION_SECRET: process.env.SESSION_SECRET ?? "dev-session-secret-0123456789abcdef",
  ADMIN_TOKEN: process.env.ADMIN_TOKEN ?? "dev-admin-token-0123456789abcdef",
  INTERNAL_SECRET: process.env.INTERNAL_SECRET ?? "dev-internal-secret",
  CURSOR_SECRET: process.env.CURSOR_SECRET ?? "dev-cursor-secret-0123456789",
};
