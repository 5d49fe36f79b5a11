// A route that answers only when the test releases it. With a provider's answer held, a test sees
// Latchkey give up on its own (its deadline fired: nothing else could end the wait) and close the
// connection — the behaviour of a deadline, shown without measuring how long anything took.
import type { IncomingMessage, ServerResponse } from "node:http";

export interface HeldAnswers {
  /** The route handler: sends nothing (no status line, no headers) until release(). */
  handle(request: IncomingMessage, response: ServerResponse): void;
  /** Requests this route has received. */
  readonly received: number;
  /** Requests whose client closed the connection while their answer was held. */
  readonly abandoned: number;
  /**
   * Resolves once `count` held requests have been closed by their client. A client that never lets
   * go keeps it pending until the test's own timeout: a hang guard, not a time bound.
   */
  abandonedBy(count: number): Promise<void>;
  /** Answers every request still held with `answer` (by default 503); later ones are held too. */
  release(answer?: (response: ServerResponse) => void): void;
}

export function holdAnswers(): HeldAnswers {
  const held = new Set<ServerResponse>();
  let received = 0;
  let abandoned = 0;
  const waiting: { count: number; resolve: () => void }[] = [];
  const notify = () => {
    for (const waiter of [...waiting])
      if (abandoned >= waiter.count) {
        waiting.splice(waiting.indexOf(waiter), 1);
        waiter.resolve();
      }
  };
  return {
    handle(_request, response) {
      received += 1;
      held.add(response);
      response.once("close", () => {
        if (!held.delete(response)) return; // released and answered: not abandoned
        abandoned += 1;
        notify();
      });
    },
    get received() {
      return received;
    },
    get abandoned() {
      return abandoned;
    },
    abandonedBy(count) {
      return new Promise((resolve) => {
        waiting.push({ count, resolve });
        notify();
      });
    },
    release(answer = (response) => response.writeHead(503).end()) {
      for (const response of [...held]) {
        held.delete(response);
        if (!response.destroyed) answer(response);
      }
    },
  };
}
