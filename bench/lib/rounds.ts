// The settings every interleaved bench shares (interleaved.ts, targets.ts, features.ts): each round
// runs every scenario on every server back to back, so a busy spell weighs on both sides of a ratio.

/** Rounds per run (BENCH_ROUNDS); the median of the per-round ratios is reported. */
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** Seconds per scenario, server and round (BENCH_SECONDS). */
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
/** Concurrent connections of the load generator (BENCH_CONNECTIONS). */
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
/** Sign-in runs with few connections: every one of them waits for an argon2id check. */
export const SIGN_IN_CONNECTIONS = 4;
