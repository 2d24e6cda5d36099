import { app } from "./app.ts";

// Worker entry of a regional origin.
export default { fetch: app.fetch };
