// Float32Array <-> base64 (little-endian), in plain JS so it runs in workerd, Node and browsers alike.
// Used for compact embeddings in Redis and the columnar ranking request.

export function f32ToBase64(a: Float32Array): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = "";
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.length; i += CHUNK) s += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(s);
}

export function base64ToF32(b64: string): Float32Array {
  const s = atob(b64);
  if (s.length % 4 !== 0) throw new Error("base64 float32 payload length is not a multiple of 4");
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}
