// Runs the real `latchkey` command (TypeScript source through tsx, or as built) as a child process.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(ROOT, "src/cli.ts");
const TSX = import.meta.resolve("tsx");

export interface CliProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once the output matches `pattern`; rejects if the process exits first or on timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
}

export function runCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): CliProcess {
  return runScript(CLI, options, args);
}

/**
 * Runs a file of the repository in its own Node process: TypeScript through tsx, or, with
 * `tsx: false`, as plain Node runs it (built output).
 */
export function runScript(
  file: string,
  options: { env?: Record<string, string>; cwd?: string; tsx?: boolean } = {},
  args: string[] = [],
): CliProcess {
  const loader = options.tsx === false ? [] : ["--import", TSX];
  // Only what the test passes, plus PATH: the developer's own configuration must not leak in.
  const child = spawn(process.execPath, [...loader, path.resolve(ROOT, file), ...args], {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? "", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString("utf8");
    for (const listener of listeners) listener();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      resolve({ code, signal });
      for (const listener of listeners) listener();
    });
  });
  return {
    child,
    exited,
    output: () => out,
    kill: (signal = "SIGKILL") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${pattern}; output:\n${out}`));
        }, timeoutMs);
        const check = () => {
          if (pattern.test(out)) {
            clearTimeout(timer);
            listeners.delete(check);
            resolve();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            listeners.delete(check);
            reject(new Error(`process exited before ${pattern}; output:\n${out}`));
          }
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/**
 * How a `latchkey start` ended up: listening (and still running), or exited before it listened —
 * for tests of starts that must stop, which would otherwise wait forever on a process that serves.
 */
export async function startOutcome(
  cli: CliProcess,
  timeoutMs = 60_000,
): Promise<{ listening: boolean; code: number | null }> {
  return Promise.race([
    cli.exited.then(({ code }) => ({ listening: false, code })),
    cli.waitFor(/Latchkey is listening/, timeoutMs).then(
      () => ({ listening: true, code: null }),
      // Exited first (the branch above answers) or timed out: neither is listening.
      () => ({ listening: false, code: null }),
    ),
  ]);
}
