/** The database cannot serve us right now: callers answer 503 / temporarily_unavailable, never 500. */
export class DatabaseUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DatabaseUnavailableError";
  }
}
