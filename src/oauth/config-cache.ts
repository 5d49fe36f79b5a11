// Every token request needs the same few facts: who the client is (and its secret), which APIs it
// may ask for, which scopes it holds there. They change a few times a day and are read thousands
// of times a second, so each instance keeps what it read in memory — but never on a timer: the
// database keeps a generation counter that triggers bump on every change to those tables
// (migration 0009), each request reads it (one primary-key row, shared by every request arriving
// in the same event-loop turn; a code exchange or refresh reads it with its code or token instead),
// and a cache entry is used only under the generation it was read at. A secret rotated, an
// application deleted or a scope withdrawn by any instance, the CLI or plain SQL is honoured by the
// very next request on every instance; there is no stale window.
//
// Client secrets needed no faster hash: slow hashing exists to slow offline guessing of
// low-entropy passwords (NIST SP 800-63B §5.1.1.2), while client secrets are 40+ random characters
// (unguessable, RFC 6749 §10.10), sealed with AES-256-GCM and compared in constant time. What cost
// time per request were the database reads around that comparison, which this cache removes. The
// plaintext it keeps lives in the process that holds the master key, which can open every stored
// secret anyway.
import { AsyncLocalStorage } from "node:async_hooks";
import { sql } from "kysely";
import { type Db, dedicatedReader, isConnectionLost, isDatabaseUnavailable } from "../storage/database.js";
import { prepared } from "../storage/prepared.js";
import type { ClientRecord, OAuthStore } from "./ports.js";

/** Read by every token request: a prepared statement, parsed once per connection on PostgreSQL. */
const GENERATION = prepared(
  "config_generation",
  () => sql<{ generation: number | string }>`select generation from config_generation where id = 1`,
);

/** Entries per instance before the cache starts over (a bound on memory, not a policy). */
const MAX_ENTRIES = 10_000;

export class ConfigCache {
  private generation = -1;
  private readonly entries = new Map<string, Promise<unknown>>();
  /** The read callers wait for: not yet sent, so it starts after each of them arrived. */
  private pendingRead: Promise<number> | undefined;
  /** The read sent last, until it answers. */
  private inFlight: Promise<unknown> | undefined;

  constructor(private readonly db: Db) {}

  /**
   * The configuration generation, read after the caller arrived. Callers arriving before the read
   * starts share it (one query per event-loop turn under load, never an answer older than the
   * caller). On PostgreSQL it runs on a connection of its own (storage/database.ts), so a pool
   * busy with other work (a sign-in flood) never delays it; one read at a time there, so callers
   * arriving while one is in flight share the next, which starts when it answers.
   */
  currentGeneration(): Promise<number> {
    this.pendingRead ??= this.nextRead();
    return this.pendingRead;
  }

  private async nextRead(): Promise<number> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const failure = await this.inFlight?.then(
      () => undefined,
      (error: unknown) => error,
    );
    this.pendingRead = undefined;
    // The read before failed for want of a database, after these callers arrived: they are
    // answered the same (503) rather than made to wait for a connection once more.
    if (failure !== undefined && isDatabaseUnavailable(failure)) throw failure;
    // Its connection found lost (an operator ended it, PostgreSQL restarted while it sat idle):
    // once more on a new one — still a read that starts after every caller sharing it arrived.
    const read = this.readGeneration().catch((error: unknown) => {
      if (isConnectionLost(error)) return this.readGeneration();
      throw error;
    });
    this.inFlight = read;
    const settled = () => {
      if (this.inFlight === read) this.inFlight = undefined;
    };
    read.then(settled, settled);
    return read;
  }

  private async readGeneration(): Promise<number> {
    const row = await GENERATION.first(dedicatedReader(this.db), {});
    return Number(row?.generation ?? 0);
  }

  /**
   * `load()`'s result, reused while the generation it was read under is current. `generation`: a
   * reading the caller already holds (one read after its request arrived: `requestGeneration`).
   */
  async memo<T>(key: string, load: () => Promise<T>, generation?: Promise<number>): Promise<T> {
    return this.memoAt(await (generation ?? this.scopedGeneration()), key, load);
  }

  /** The reading of the request under way when it shares one (sharingGenerationReading), else a new one. */
  private scopedGeneration(): Promise<number> {
    const readings = requestReadings.getStore();
    if (!readings) return this.currentGeneration();
    let reading = readings.get(this);
    if (!reading) {
      reading = this.requestGeneration();
      readings.set(this, reading);
    }
    return reading();
  }

  /**
   * One generation reading for every lookup of one request, taken at its first lookup: a request
   * needs the configuration as of after it arrived, which the first reading already is — later
   * lookups need not ask again (a client-credentials grant made four reads, one per lookup).
   */
  requestGeneration(taken?: Promise<number>): () => Promise<number> {
    let reading: Promise<number> | undefined;
    return () => {
      // A reading the request took with a read of its own (the token endpoint's code or refresh
      // token read, also after it arrived), else one of the shared freshness reads.
      reading ??= taken ?? this.currentGeneration();
      // A failed reading is not kept: the next lookup of the request reads again.
      reading.catch(() => {
        reading = undefined;
        taken = undefined;
      });
      return reading;
    };
  }

  private memoAt<T>(generation: number, key: string, load: () => Promise<T>): Promise<T> {
    // An older reading than one already seen (a slow read overtaken): serve it uncached.
    if (generation < this.generation) return load();
    if (generation > this.generation) {
      this.entries.clear();
      this.generation = generation;
    }
    let entry = this.entries.get(key) as Promise<T> | undefined;
    if (!entry) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      // Read strictly after the generation: the entry holds at least every change it counts.
      entry = load();
      this.entries.set(key, entry);
      // A failed read (database briefly away) is not remembered.
      entry.catch(() => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      });
    }
    return entry;
  }
}

/** Per request that shares its readings: one generation reader per cache (one per database). */
const requestReadings = new AsyncLocalStorage<Map<ConfigCache, () => Promise<number>>>();

/**
 * Runs `next` (the rest of a request's handling) with every cache lookup in it sharing one
 * generation reading, taken at its first lookup (ConfigCache.requestGeneration says why that is
 * fresh enough). For requests that read configuration and do not change it — the hosted sign-in
 * pages, where a password sign-in made five readings — never for the Management API, which must
 * read back what it just wrote.
 */
export function sharingGenerationReading(next: () => void): void {
  requestReadings.run(new Map(), next);
}

const caches = new WeakMap<Db, ConfigCache>();

/** The one cache of a database handle, shared by every service built over it. */
export function configCacheFor(db: Db): ConfigCache {
  let cache = caches.get(db);
  if (!cache) {
    cache = new ConfigCache(db);
    caches.set(db, cache);
  }
  return cache;
}

/**
 * `store` with its configuration reads served from the cache. Inside a transaction nothing is
 * cached: the transaction must see its own writes and the rows it locks.
 */
export function withConfigCache(store: OAuthStore, db: Db): OAuthStore {
  if (db.isTransaction) return store;
  const cache = configCacheFor(db);
  const cached = cachedStore(store, cache, undefined);
  // A request's view: its lookups share one generation reading (ConfigCache.requestGeneration).
  cached.forRequest = (generation) => cachedStore(store, cache, cache.requestGeneration(generation));
  return cached;
}

function cachedStore(
  store: OAuthStore,
  cache: ConfigCache,
  requestGeneration: (() => Promise<number>) | undefined,
): OAuthStore {
  const key = (...parts: readonly unknown[]) => JSON.stringify(parts);
  const memo = <T>(name: string, load: () => Promise<T>) => cache.memo(name, load, requestGeneration?.());
  // Everything else (transactions, codes, tokens, keys) goes to `store` through the prototype.
  const cached = Object.create(store) as OAuthStore;
  cached.findClient = (clientId) =>
    memo(key("client", clientId), async () => freezeClient(await store.findClient(clientId)));
  // Sets and maps are shared, read-only, with every caller until the configuration changes (the
  // client-credentials grant memoizes its scope policy on the map's identity); arrays are copied.
  cached.authorizedAudiences = async (clientId, audiences) => [
    ...(await memo(key("audiences", clientId, audiences), () =>
      store.authorizedAudiences(clientId, audiences),
    )),
  ];
  cached.apiScopes = (audiences) => memo(key("apiScopes", audiences), () => store.apiScopes(audiences));
  cached.grantedScopes = (clientId, audiences) =>
    memo(key("granted", clientId, audiences), () => store.grantedScopes(clientId, audiences));
  cached.scopeGrantsByAudience = (clientId, audiences) =>
    memo(key("grants", clientId, audiences), () => store.scopeGrantsByAudience(clientId, audiences));
  // Shared and frozen: every user's tokens carry these properties until the definitions change.
  cached.publicProperties = () =>
    memo(key("publicProperties"), async () => Object.freeze(await store.publicProperties()));
  // Shared and frozen like the client: signed into every token of the machine until it changes.
  cached.applicationProperties = (clientId) =>
    memo(key("properties", clientId), async () => {
      const claim = await store.applicationProperties(clientId);
      return claim && Object.freeze(claim);
    });
  return cached;
}

function freezeClient(client: ClientRecord | undefined): ClientRecord | undefined {
  if (!client) return undefined;
  Object.freeze(client.callbackUrls);
  Object.freeze(client.logoutUrls);
  return Object.freeze(client);
}
