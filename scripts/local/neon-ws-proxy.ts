import { createServer, type IncomingMessage } from "node:http";
import { connect, isIP, type AddressInfo, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";

// Local stand-in for Neon's WebSocket proxy: the @neondatabase/serverless driver opens
// ws://<proxy>/v1?address=<host>:<port> (see shared/db/neon-local.ts) and speaks the plain Postgres wire
// protocol inside binary frames, so all we do is pipe bytes between the WebSocket and a TCP socket.
// Only loopback targets are allowed: this must never become an open relay into the network.

// Above this much unsent data towards the browser/worker side we stop reading from Postgres (backpressure).
const HIGH_WATER_BYTES = 1024 * 1024;

function isLoopback(host: string): boolean {
  if (host === "localhost" || host === "::1") return true;
  return isIP(host) === 4 && host.startsWith("127.");
}

/** "host:port", "[::1]:port" or "::1:port" → parts; null when malformed. */
function parseAddress(address: string | null): { host: string; port: number } | null {
  if (!address) return null;
  const idx = address.lastIndexOf(":");
  if (idx <= 0) return null;
  const host = address.slice(0, idx).replace(/^\[(.*)\]$/, "$1");
  const port = Number(address.slice(idx + 1));
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { host, port };
}

function refuse(socket: Duplex, status: number, reason: string): void {
  const body = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function pipe(ws: WebSocket, tcp: Socket): void {
  let closed = false;
  const closeBoth = () => {
    if (closed) return;
    closed = true;
    tcp.destroy();
    // Normal close when Postgres hung up; terminate() if the handshake side is already gone.
    if (ws.readyState === ws.OPEN) ws.close(1000);
    else ws.terminate();
  };

  // WebSocket → Postgres. Frames that arrive before the TCP connect completes are queued by net.Socket.
  ws.on("message", (data: RawData) => {
    const chunks = Array.isArray(data) ? data : [Buffer.isBuffer(data) ? data : Buffer.from(data)];
    let ok = true;
    for (const c of chunks) ok = tcp.write(c) && ok;
    if (!ok) ws.pause();
  });
  tcp.on("drain", () => ws.resume());

  // Postgres → WebSocket, pausing the TCP reader while the client side is slow.
  let pending = 0;
  tcp.on("data", (chunk: Buffer) => {
    pending += chunk.length;
    if (pending > HIGH_WATER_BYTES) tcp.pause();
    ws.send(chunk, { binary: true }, () => {
      pending -= chunk.length;
      if (pending <= HIGH_WATER_BYTES && tcp.isPaused()) tcp.resume();
    });
  });

  tcp.on("close", closeBoth);
  tcp.on("error", closeBoth);
  ws.on("close", closeBoth);
  ws.on("error", closeBoth);
}

export async function startNeonProxy(opts: {
  port: number;
  host?: string;
}): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const host = opts.host ?? "127.0.0.1";
  const sockets = new Set<Socket>();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const server = createServer((_req, res) => {
    res.writeHead(426, { "content-type": "text/plain" });
    res.end("WebSocket upgrade required\n");
  });

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    const target = parseAddress(url.searchParams.get("address"));
    if (!target) return refuse(socket, 400, "Bad Request");
    if (!isLoopback(target.host)) return refuse(socket, 403, "Forbidden");
    wss.handleUpgrade(req, socket, head, (ws) => {
      const tcp = connect({ host: target.host, port: target.port });
      tcp.setNoDelay(true);
      sockets.add(tcp);
      tcp.on("close", () => sockets.delete(tcp));
      pipe(ws, tcp);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `ws://${host}:${port}`,
    port,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
