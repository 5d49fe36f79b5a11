// Where the master key comes from: LATCHKEY_MASTER_KEY, or — outside production only — a key
// generated once into DATA_DIR so the embedded default needs no configuration.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { type Config, parseKey } from "../config/config.js";
import { SecretBox } from "./secret-box.js";

export function loadSecretBox(config: Config, logger: Logger): SecretBox {
  return new SecretBox(config.masterKey ?? readOrGenerateKeyFile(config, logger), config.previousMasterKeys);
}

function readOrGenerateKeyFile(config: Config, logger: Logger): Buffer {
  const file = path.join(config.dataDir, "master.key");
  let existing: string | undefined;
  try {
    existing = readFileSync(file, "utf8").trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  if (existing !== undefined) {
    const key = parseKey(existing);
    if (!key)
      throw new Error(`${file} does not hold a 32-byte base64 key; restore it or set LATCHKEY_MASTER_KEY`);
    logger.warn(
      { file },
      "Using the master key generated into the data directory; set LATCHKEY_MASTER_KEY in production",
    );
    return key;
  }
  const key = randomBytes(32);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  try {
    // "wx": never overwrite a key that another process wrote a moment ago; use that one instead.
    writeFileSync(file, `${key.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return readOrGenerateKeyFile(config, logger);
    throw error;
  }
  logger.warn(
    { file },
    "!!! No LATCHKEY_MASTER_KEY set: generated a new master key into the data directory. Back it up — " +
      "without it, stored secrets cannot be decrypted. Set LATCHKEY_MASTER_KEY in production. !!!",
  );
  return key;
}
