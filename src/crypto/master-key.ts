// Where the master key comes from: LATCHKEY_MASTER_KEY, or — outside production only — a key
// generated once into DATA_DIR so the embedded default needs no configuration.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { type Config, parseKey } from "../config/config.js";
import { SecretBox } from "./secret-box.js";

export interface LoadedMasterKey {
  secretBox: SecretBox;
  /** Where the key came from, for messages: LATCHKEY_MASTER_KEY or the key file (never the key). */
  source: string;
  /** The key file was written by this start: a key that opens nothing usually means DATA_DIR moved. */
  generated: boolean;
}

export function loadMasterKey(config: Config, logger: Logger): LoadedMasterKey {
  if (config.masterKey)
    return {
      secretBox: new SecretBox(config.masterKey, config.previousMasterKeys),
      source: "LATCHKEY_MASTER_KEY",
      generated: false,
    };
  const { key, file, generated } = readOrGenerateKeyFile(config, logger);
  return { secretBox: new SecretBox(key, config.previousMasterKeys), source: file, generated };
}

function readOrGenerateKeyFile(
  config: Config,
  logger: Logger,
): { key: Buffer; file: string; generated: boolean } {
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
    return { key, file, generated: false };
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
  return { key, file, generated: true };
}
