// Points the @neondatabase/serverless driver at the local WebSocket→TCP proxy
// (scripts/local/neon-ws-proxy.ts) instead of Neon's: plain ws:// and no TLS inside the socket, because
// the proxy talks to a local Postgres without SSL. Mirrors origin/db.ts so node tests and the origin
// Workers configure the driver identically.

/** The slice of `neonConfig` (a class with static settings) this touches; structural to stay import-free. */
export interface NeonLocalConfigurable {
  wsProxy: string | ((host: string, port: number | string) => string);
  useSecureWebSocket: boolean;
  pipelineTLS: boolean;
  pipelineConnect: "password" | false;
}

/** `proxyHostPort` is "127.0.0.1:8095" style: no scheme, the driver adds ws:// itself. */
export function configureNeonForLocalProxy(neonConfig: NeonLocalConfigurable, proxyHostPort: string): void {
  neonConfig.wsProxy = (host: string, port: number | string) => `${proxyHostPort}/v1?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  // Pipelining the startup assumes Neon's proxy semantics (password auth up front). The local stack's
  // Postgres does ask for the password in clear text (scripts/local/postgres.ts), but tests also run
  // against SCRAM clusters, so connect step by step: one extra loopback round trip.
  neonConfig.pipelineConnect = false;
}
