// What the relying party keeps between requests: discovery documents per issuer and key sets per
// jwks_uri, each reused for a while and fetched once however many sign-ins miss it at the same
// moment (a single flight per entry), bounded in number, with a cooldown on refetching a key set
// for an unknown kid. One cache is shared by the process unless a caller brings its own.
import type { createLocalJWKSet } from "jose";
import { type Clock, systemClock } from "../clock.js";
import type { DiscoveryDocument } from "./oidc-discovery.js";

export interface OidcCacheOptions {
  /** Seconds a discovery document is reused for its issuer. Default 3600. */
  discoveryMaxAgeSeconds?: number;
  /** Seconds a JWKS is reused before it is fetched again. Default 600. */
  jwksMaxAgeSeconds?: number;
  /**
   * An unknown `kid` makes the JWKS be fetched again (the provider rotated its key), but not if the
   * last fetch was less than this many seconds ago: a stream of tokens with made-up kids must not
   * turn Latchkey into a load generator against the provider. Default 30.
   */
  jwksRefetchCooldownSeconds?: number;
  /** Entries kept of each kind; the oldest is dropped beyond. Default 500. */
  maxEntries?: number;
  /** Default the system clock. */
  clock?: Clock;
}

interface CachedDocument {
  document: DiscoveryDocument;
  fetchedAt: number;
}

interface CachedJwks {
  keys: ReturnType<typeof createLocalJWKSet>;
  fetchedAt: number;
}

/**
 * Discovery documents per issuer and JWKS per jwks_uri. Concurrent misses for one entry share one
 * request. Entries are keyed with the SSRF policy too: a document read while private networks were
 * allowed is never served to a caller that forbids them.
 */
export class OidcCache {
  readonly discoveryMaxAgeSeconds: number;
  readonly jwksMaxAgeSeconds: number;
  readonly jwksRefetchCooldownSeconds: number;
  readonly clock: Clock;
  private readonly maxEntries: number;
  private readonly documents = new Map<string, CachedDocument>();
  private readonly documentsInflight = new Map<string, Promise<DiscoveryDocument>>();
  private readonly jwks = new Map<string, CachedJwks>();
  private readonly jwksInflight = new Map<string, Promise<CachedJwks>>();
  /** When each JWKS was last asked for, successfully or not (the refetch cooldown counts from it). */
  private readonly jwksAttempts = new Map<string, number>();

  constructor(options: OidcCacheOptions = {}) {
    this.discoveryMaxAgeSeconds = options.discoveryMaxAgeSeconds ?? 3600;
    this.jwksMaxAgeSeconds = options.jwksMaxAgeSeconds ?? 600;
    this.jwksRefetchCooldownSeconds = options.jwksRefetchCooldownSeconds ?? 30;
    this.maxEntries = options.maxEntries ?? 500;
    this.clock = options.clock ?? systemClock;
  }

  /** Forgets everything (tests; an administrator changed a provider). */
  clear(): void {
    this.documents.clear();
    this.jwks.clear();
    this.jwksAttempts.clear();
  }

  /** @internal */
  async document(key: string, load: () => Promise<DiscoveryDocument>): Promise<DiscoveryDocument> {
    const cached = this.documents.get(key);
    if (cached && this.clock.now() - cached.fetchedAt < this.discoveryMaxAgeSeconds) return cached.document;
    return singleFlight(this.documentsInflight, key, async () => {
      const document = await load();
      remember(this.documents, key, { document, fetchedAt: this.clock.now() }, this.maxEntries);
      return document;
    });
  }

  /**
   * @internal The key set of a jwks_uri. `refetch` asks for a fresh copy (an unknown kid), which
   * happens only once the cooldown since the last attempt has passed; otherwise the cached copy is
   * returned and `refetched` is false.
   */
  async keySet(
    key: string,
    load: () => Promise<ReturnType<typeof createLocalJWKSet>>,
    refetch: boolean,
  ): Promise<{ keys: CachedJwks["keys"]; refetched: boolean }> {
    const now = this.clock.now();
    const cached = this.jwks.get(key);
    if (cached) {
      const stale = now - cached.fetchedAt >= this.jwksMaxAgeSeconds;
      const cooling = now - (this.jwksAttempts.get(key) ?? 0) < this.jwksRefetchCooldownSeconds;
      if (!stale && (!refetch || cooling)) return { keys: cached.keys, refetched: false };
    }
    const fresh = await singleFlight(this.jwksInflight, key, async () => {
      remember(this.jwksAttempts, key, this.clock.now(), this.maxEntries);
      const keys = await load();
      const entry = { keys, fetchedAt: this.clock.now() };
      remember(this.jwks, key, entry, this.maxEntries);
      return entry;
    });
    return { keys: fresh.keys, refetched: true };
  }
}

export const sharedCache = new OidcCache();

function singleFlight<T>(inflight: Map<string, Promise<T>>, key: string, work: () => Promise<T>): Promise<T> {
  const running = inflight.get(key);
  if (running) return running;
  const started = work().finally(() => inflight.delete(key));
  inflight.set(key, started);
  return started;
}

function remember<T>(map: Map<string, T>, key: string, value: T, maxEntries: number): void {
  map.delete(key);
  map.set(key, value);
  // Map iteration is insertion order: the first key is the least recently stored.
  while (map.size > maxEntries) map.delete(map.keys().next().value as string);
}
