// `latchkey admins create`: the first administrator of a fresh installation (or another one). On a
// terminal it asks for whatever the command line left out — the password always hidden and typed
// twice — so the password never has to sit in the shell's history or in `ps`; without a terminal
// (a script, a container's entrypoint) the password comes from standard input.
import type { Services } from "../services.js";
import { emailProblem } from "../users/email.js";
import { passwordProblem } from "../users/passwords.js";
import type { User } from "../users/users.store.js";
import { isInteractive, Prompter, PromptInterrupted, type TerminalStreams } from "./admin-prompt.js";

export class AdminCreateUsageError extends Error {}

export interface AdminCreateOptions {
  email?: string;
  /** The password read from standard input (--password-stdin), already without its line break. */
  password?: string;
  givenName?: string;
  familyName?: string;
}

/** Tries a person gets at each question before the command gives up. */
const ATTEMPTS = 3;

/**
 * Creates an administrator: verified (the operator vouches for the address), with a password.
 * The address is checked against existing accounts before the password is asked for.
 */
export async function createAdministrator(
  services: Services,
  options: AdminCreateOptions,
  streams: TerminalStreams,
): Promise<User> {
  const interactive = isInteractive(streams);
  if (!interactive && (options.email === undefined || options.password === undefined)) {
    throw new AdminCreateUsageError(
      "admins create needs --email and --password-stdin when not run on a terminal (on a terminal it asks for them)",
    );
  }
  const prompter = interactive ? new Prompter(streams) : undefined;
  try {
    const email = options.email ?? (await askEmail(prompter!, streams));
    const emailIssue = emailProblem(email);
    if (emailIssue) throw new AdminCreateUsageError(`--email: this address ${emailIssue}`);
    const existing = await services.users.store.findByEmail(email);
    // Never a second account for one address, and never a silent promotion: whoever made that
    // account chose its password (bootstrap.ts follows the same rule).
    if (existing) {
      throw new AdminCreateUsageError(
        existing.is_admin === 1
          ? "that account is already an administrator"
          : "an account with that address exists; if it is yours, run `latchkey admins grant --email <address>`",
      );
    }
    const password = options.password ?? (await askPassword(prompter!, streams));
    const problem = passwordProblem(password);
    if (problem) throw new AdminCreateUsageError(`password: ${problem}`);
    return await services.users.create({
      email,
      password,
      givenName: options.givenName,
      familyName: options.familyName,
      isAdmin: true,
      emailVerified: true,
    });
  } catch (error) {
    if (error instanceof PromptInterrupted) throw new AdminCreateUsageError("cancelled; nothing was created");
    throw error;
  } finally {
    prompter?.close();
  }
}

async function askEmail(prompter: Prompter, streams: TerminalStreams): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const email = (await prompter.ask("Administrator's e-mail address: ")).trim();
    const problem = email === "" ? "is empty" : emailProblem(email);
    if (!problem) return email;
    if (attempt === ATTEMPTS) throw new AdminCreateUsageError(`the address ${problem}; nothing was created`);
    streams.output.write(`That address ${problem}. Try again.\n`);
  }
}

async function askPassword(prompter: Prompter, streams: TerminalStreams): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const password = await prompter.askHidden("Password (not shown): ");
    // Judged before the repeat, so a refused password is not typed twice for nothing.
    let problem = passwordProblem(password);
    if (!problem) {
      const again = await prompter.askHidden("The same password again: ");
      if (again === password) return password;
      problem = "The two passwords differ.";
    }
    if (attempt === ATTEMPTS) throw new AdminCreateUsageError(`${problem} Nothing was created.`);
    streams.output.write(`${problem} Try again.\n`);
  }
}
