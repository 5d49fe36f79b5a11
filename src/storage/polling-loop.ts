// The loop of an outbox worker (mail, webhooks): run a round, and when it found nothing more to do,
// sleep until the next poll or until woken (a transaction just wrote work). A round that fails
// (the database briefly away) is reported at most once a minute and retried at the next poll.
// Stopping lets the current round finish.

export interface PollingLoopOptions {
  /** One round; true when more work may be due at once (a full batch). */
  round: () => Promise<boolean>;
  /** How often to look for due work when not woken (ms). */
  intervalMs: number;
  /** A round failed; called at most once a minute. */
  onTrouble: (error: unknown) => void;
}

/** "Equal jitter" exponential backoff: base·2^(n-1) after the n-th failure, capped, half of it random. */
export function backoffSeconds(
  failures: number,
  options: { baseSeconds: number; capSeconds: number },
  random: () => number = Math.random,
): number {
  const base = Math.min(options.capSeconds, options.baseSeconds * 2 ** Math.max(0, failures - 1));
  return Math.ceil(base / 2 + (random() * base) / 2);
}

export class PollingLoop {
  private running: Promise<void> | undefined;
  private stopping = false;
  private woken = false;
  private wakeUp: (() => void) | undefined;
  private lastTrouble = 0;

  constructor(private readonly options: PollingLoopOptions) {}

  get isStopping(): boolean {
    return this.stopping;
  }

  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.running;
    this.running = undefined;
  }

  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let more = false;
      this.woken = false;
      try {
        more = await this.options.round();
      } catch (error) {
        if (Date.now() - this.lastTrouble > 60_000) {
          this.lastTrouble = Date.now();
          this.options.onTrouble(error);
        }
      }
      if (this.stopping) break;
      if (more || this.woken) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.intervalMs);
        timer.unref();
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }
}
