// The application's server-side session, as the Kinde TypeScript SDK's README asks an app to provide.
import type { SessionManager } from "@kinde-oss/kinde-typescript-sdk";

export class MapSessionManager implements SessionManager {
  readonly items = new Map<string, unknown>();
  persistent?: boolean;

  async getSessionItem(key: string): Promise<unknown> {
    return this.items.get(key) ?? null;
  }
  async setSessionItem(key: string, value: unknown): Promise<void> {
    this.items.set(key, value);
  }
  async removeSessionItem(key: string): Promise<void> {
    this.items.delete(key);
  }
  async destroySession(): Promise<void> {
    this.items.clear();
  }
}
