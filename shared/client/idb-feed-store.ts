import type { FeedItem } from "../contract.ts";
import { type CachedFeed, type FeedItemStore, mergeRecent } from "./feed-store.ts";

// IndexedDB adapter of the tier-1 cache. One record per scope (user id or "anon") in one object store;
// the read-modify-write of append happens inside a single readwrite transaction, so two tabs appending
// at once cannot lose each other's items. Failures degrade to "no cache" — T1 is an optimisation, and a
// broken IndexedDB (quota, private mode) must never break the feed.

const DB_NAME = "fyp-t1";
const STORE = "feeds";
const VERSION = 1;

interface Row extends CachedFeed {
  scope: string;
}

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
  });
}

export class IndexedDbFeedItemStore implements FeedItemStore {
  #db: Promise<IDBDatabase> | null = null;
  #factory: IDBFactory;

  constructor(factory: IDBFactory) {
    this.#factory = factory;
  }

  #open(): Promise<IDBDatabase> {
    this.#db ??= new Promise<IDBDatabase>((resolve, reject) => {
      const r = this.#factory.open(DB_NAME, VERSION);
      r.onupgradeneeded = () => {
        if (!r.result.objectStoreNames.contains(STORE)) r.result.createObjectStore(STORE, { keyPath: "scope" });
      };
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
      r.onblocked = () => reject(new Error("IndexedDB open blocked by another tab"));
    });
    this.#db.catch(() => (this.#db = null)); // let a later call try again
    return this.#db;
  }

  async load(scope: string): Promise<CachedFeed | null> {
    try {
      const db = await this.#open();
      const row = (await req(db.transaction(STORE, "readonly").objectStore(STORE).get(scope))) as Row | undefined;
      if (!row || !Array.isArray(row.items)) return null;
      return { items: row.items, savedAt: row.savedAt, region: row.region ?? null, level: row.level ?? null };
    } catch {
      return null;
    }
  }

  async append(scope: string, items: readonly FeedItem[], meta: { region: string | null; level: number | null }, now = Date.now()): Promise<void> {
    const db = await this.#open();
    const tx = db.transaction(STORE, "readwrite");
    const os = tx.objectStore(STORE);
    const finished = done(tx);
    finished.catch(() => {}); // observed below; this only keeps an early abort from being "unhandled"
    const prev = (await req(os.get(scope))) as Row | undefined;
    const row: Row = { scope, items: mergeRecent(prev?.items ?? [], items), savedAt: now, ...meta };
    os.put(row);
    await finished;
  }

  async clear(scope?: string): Promise<void> {
    const db = await this.#open();
    const tx = db.transaction(STORE, "readwrite");
    const finished = done(tx);
    if (scope === undefined) tx.objectStore(STORE).clear();
    else tx.objectStore(STORE).delete(scope);
    await finished;
  }
}
