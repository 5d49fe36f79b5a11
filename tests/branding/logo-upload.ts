// Uploads a logo as Kinde's clients do (multipart/form-data, a file part named "logo"), or a
// hostile variant of it, and reads the answer.
import { managementToken } from "../helpers/management.js";
import type { TestServer } from "../helpers/server.js";

type Json = Record<string, unknown>;

export const PNG_1PX = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);
export async function uploadLogo(
  server: TestServer,
  method: "PUT" | "POST",
  path: string,
  file: { data: Buffer | string; type?: string; name?: string; field?: string } | FormData | string,
  token?: string,
): Promise<{ status: number; body: Json }> {
  let body: FormData | string;
  const headers: Record<string, string> = {
    authorization: `Bearer ${token ?? (await managementToken(server))}`,
  };
  if (typeof file === "string") {
    body = file;
    headers["content-type"] = "application/json";
  } else if (file instanceof FormData) body = file;
  else {
    body = new FormData();
    body.append(
      file.field ?? "logo",
      new Blob([file.data], { type: file.type ?? "image/png" }),
      file.name ?? "logo.png",
    );
  }
  const response = await fetch(`${server.url}${path}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Json) : {} };
}
