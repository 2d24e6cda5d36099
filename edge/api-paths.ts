// Which paths of the edge's hostname are the API worker's (edge/index.ts) and which the pages worker's
// (edge/web-worker.ts): the API worker's route patterns on the zone (`npm run deploy`), and, on a local
// stack, the paths the pages worker forwards to the API worker.

/** The API worker's route patterns (after the hostname); every other path is a page. */
export const API_ROUTE_PATTERNS = ["/v1/*", "/emergency", "/openapi.json", "/healthz"] as const;

/** Whether `path` is the API worker's: matches one of API_ROUTE_PATTERNS ("/x/*" = a prefix, else exact). */
export function isApiPath(path: string): boolean {
  return API_ROUTE_PATTERNS.some((p) => (p.endsWith("/*") ? path.startsWith(p.slice(0, -1)) : path === p));
}
