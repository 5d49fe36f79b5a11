import type { Kysely } from "kysely";

// Imported firebase-scrypt hashes kept the customer's Firebase signer key beside each hash
// (`key=` in `$latchkey-import$firebase-scrypt$r=…,m=…,salt=…,sep=…,key=…$<hash>`). Firebase's hash
// is that key under AES-256-CTR, keyed by the password's scrypt key, so hash ⊕ signer key is the
// key stream: stored instead, it verifies the same passwords (src/users/imported-hashes.ts) and
// the signer key, a secret of the customer's whole Firebase project, leaves the database. Pages of
// rows by id keep memory flat; the transformation is frozen here, apart from the evolving code.
const PAGE = 1000;
const PREFIX = "$latchkey-import$firebase-scrypt$";

/** The stored hash without its signer key, or undefined when there is none (or it is malformed). */
export function withoutSignerKey(stored: string): string | undefined {
  if (!stored.startsWith(PREFIX)) return undefined;
  const [list, hash, ...rest] = stored.slice(PREFIX.length).split("$");
  if (list === undefined || hash === undefined || rest.length > 0) return undefined;
  const pairs = list.split(",");
  const keyPair = pairs.find((pair) => pair.startsWith("key="));
  if (!keyPair) return undefined;
  const key = Buffer.from(keyPair.slice(4), "base64url");
  const encrypted = Buffer.from(hash, "base64url");
  if (key.length === 0 || key.length !== encrypted.length) return undefined;
  const stream = Buffer.from(encrypted.map((byte, i) => byte ^ key[i]!));
  const kept = pairs.filter((pair) => pair !== keyPair).join(",");
  return `${PREFIX}${kept}$${stream.toString("base64url")}`;
}

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  let after = "";
  for (;;) {
    const rows: { id: string; password_hash: string }[] = await db
      .selectFrom("users")
      .select(["id", "password_hash"])
      .where("password_hash", "like", `${PREFIX}%`)
      .where("id", ">", after)
      .orderBy("id")
      .limit(PAGE)
      .execute();
    for (const { id, password_hash } of rows) {
      const rewritten = withoutSignerKey(password_hash);
      if (rewritten)
        await db
          .updateTable("users")
          .set({ password_hash: rewritten })
          .where("id", "=", id)
          .where("password_hash", "=", password_hash)
          .execute();
    }
    if (rows.length < PAGE) return;
    after = rows.at(-1)!.id;
  }
}
