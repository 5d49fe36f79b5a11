// Questions asked on the operator's terminal by `latchkey admins create`. The terminal is put in
// raw mode for every answer, not only the hidden ones: in its default (canonical) mode the terminal
// itself echoes what is typed, so a password could only be hidden by switching modes between
// questions, and anything typed or pasted ahead of a question would already be on the screen.

export class PromptInterrupted extends Error {
  constructor() {
    super("interrupted");
  }
}

export interface TerminalStreams {
  input: NodeJS.ReadStream;
  output: NodeJS.WriteStream;
}

const ENTER = new Set(["\r", "\n"]);
const BACKSPACE = new Set(["\u007f", "\b"]);
const CTRL_C = "\u0003";
const CTRL_D = "\u0004";
const CTRL_U = "\u0015";
const ESCAPE = "\u001b";

/** Whether both ends are a terminal a person types at (not a pipe, a file or a CI runner). */
export function isInteractive(streams: TerminalStreams): boolean {
  return Boolean(streams.input.isTTY && streams.output.isTTY);
}

/**
 * Asks questions one after another on a terminal. Raw mode lasts from the first question to
 * close(), not one question: back in canonical mode for a moment between two, the terminal would
 * echo a password typed ahead. Keys that arrive ahead of a question (a paste of several lines) are
 * kept for the next one instead of being lost.
 */
export class Prompter {
  private pending = "";
  private raw = false;

  constructor(private readonly streams: TerminalStreams) {}

  /** Gives the terminal back as it was. */
  close(): void {
    if (!this.raw) return;
    this.raw = false;
    this.streams.input.setRawMode(false);
    this.streams.input.pause();
  }

  /** A visible answer: what is typed is echoed. */
  ask(question: string): Promise<string> {
    return this.read(question, true);
  }

  /** A hidden answer (a password): nothing is echoed, not even a placeholder per character. */
  askHidden(question: string): Promise<string> {
    return this.read(question, false);
  }

  private read(question: string, echo: boolean): Promise<string> {
    const { input, output } = this.streams;
    output.write(question);
    return new Promise<string>((resolve, reject) => {
      let answer = "";
      const finish = (error?: Error) => {
        input.off("data", onData);
        input.pause();
        output.write("\n");
        if (error) reject(error);
        else resolve(answer);
      };
      const consume = (): boolean => {
        while (this.pending.length > 0) {
          const char = this.pending[0]!;
          // An arrow or function key arrives as an escape sequence: dropped whole, never typed.
          if (char === ESCAPE) {
            const rest = /^(?:\[[0-9;]*[A-Za-z~]|O[A-Za-z]|.)?/.exec(this.pending.slice(1))?.[0] ?? "";
            this.pending = this.pending.slice(1 + rest.length);
            continue;
          }
          this.pending = this.pending.slice(1);
          if (ENTER.has(char)) {
            // A paste ending "\r\n" is one Enter, not an answer and then an empty one.
            if (char === "\r" && this.pending[0] === "\n") this.pending = this.pending.slice(1);
            finish();
            return true;
          }
          if (char === CTRL_C) {
            finish(new PromptInterrupted());
            return true;
          }
          if (char === CTRL_D && answer === "") {
            finish(new PromptInterrupted());
            return true;
          }
          if (BACKSPACE.has(char)) {
            if (answer.length > 0) {
              answer = Array.from(answer).slice(0, -1).join("");
              if (echo) output.write("\b \b");
            }
            continue;
          }
          if (char === CTRL_U) {
            if (echo) output.write("\b \b".repeat(Array.from(answer).length));
            answer = "";
            continue;
          }
          // Other control characters (Tab aside) are keys, not text.
          if (char < " " && char !== "\t") continue;
          answer += char;
          if (echo) output.write(char);
        }
        return false;
      };
      const onData = (chunk: Buffer | string) => {
        this.pending += chunk.toString();
        consume();
      };
      if (!this.raw) {
        input.setRawMode(true);
        this.raw = true;
      }
      if (consume()) return;
      input.setEncoding("utf8");
      input.on("data", onData);
      input.resume();
    });
  }
}
