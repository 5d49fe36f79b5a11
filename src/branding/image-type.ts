// What an uploaded logo is, decided from its bytes alone (WHATWG MIME Sniffing §6.1, "image type
// pattern matching"): the type the uploader declared and the file name's extension are never
// trusted, so HTML or script named logo.png is refused rather than stored and served. Only the
// formats every browser shows as an image are taken. SVG is a document that can carry script, so
// one with script, event handlers, foreign objects, external references or a DTD is refused, and
// the ones accepted are served sandboxed (logo-files.routes.ts) — defence in depth.

export type LogoContentType =
  | "image/png"
  | "image/jpeg"
  | "image/gif"
  | "image/webp"
  | "image/x-icon"
  | "image/svg+xml";

export const EXTENSIONS: Readonly<Record<LogoContentType, string>> = {
  "image/png": "png",
  "image/jpeg": "jpeg",
  "image/gif": "gif",
  "image/webp": "webp",
  "image/x-icon": "ico",
  "image/svg+xml": "svg",
};

const startsWith = (data: Uint8Array, bytes: readonly number[], at = 0) =>
  data.length >= at + bytes.length && bytes.every((b, i) => data[at + i] === b);
const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));

/** The raster type the magic bytes name, or undefined. */
function rasterType(data: Uint8Array): LogoContentType | undefined {
  if (startsWith(data, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (startsWith(data, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (startsWith(data, ascii("GIF87a")) || startsWith(data, ascii("GIF89a"))) return "image/gif";
  if (startsWith(data, ascii("RIFF")) && startsWith(data, ascii("WEBPVP"), 8)) return "image/webp";
  // ICO: reserved 0, type 1, at least one image (the sniffing spec's "00 00 01 00").
  if (startsWith(data, [0, 0, 1, 0]) && data.length > 6 && (data[4]! | (data[5]! << 8)) > 0)
    return "image/x-icon";
  return undefined;
}

/** What makes an SVG more than a picture (SVG 2 §15 scripting; XML external entities). */
const SVG_HOSTILE = [
  /<\s*script\b/i,
  /<\s*foreignObject\b/i,
  /<!DOCTYPE|<!ENTITY/i,
  /\son[a-z]+\s*=/i,
  /(?:href|src)\s*=\s*["']?\s*(?!#)[a-z][a-z0-9+.-]*:/i,
  /javascript:/i,
  /<\s*(?:iframe|embed|object|link|meta|style)\b/i,
  /@import|url\(\s*(?!["']?\s*#)/i,
];

export type SniffResult = { type: LogoContentType } | { problem: string };

export function sniffLogo(data: Uint8Array): SniffResult {
  if (data.length === 0) return { problem: "The logo file is empty" };
  const raster = rasterType(data);
  if (raster) return { type: raster };
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch {
    return { problem: "The logo must be a PNG, JPEG, GIF, WebP, ICO or SVG image" };
  }
  // Past a byte-order mark, an XML declaration, comments and white space, the root is <svg>.
  const body = text
    .replace(/^\uFEFF/, "")
    .replace(/^\s*<\?xml[^>]*\?>/, "")
    .replace(/^(?:\s*<!--[\s\S]*?-->)*\s*/, "");
  if (!/^<svg[\s>]/.test(body))
    return { problem: "The logo must be a PNG, JPEG, GIF, WebP, ICO or SVG image" };
  if (SVG_HOSTILE.some((pattern) => pattern.test(text)))
    return {
      problem:
        "The SVG logo contains script, event handlers, external references or a DTD; upload a plain drawing",
    };
  return { type: "image/svg+xml" };
}
