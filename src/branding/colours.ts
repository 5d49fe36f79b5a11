// Colours of the hosted pages: only hex colours are ever stored or written into CSS (no CSS
// injection through a colour value), and text on a brand colour stays readable: WCAG 2.2 SC 1.4.3
// asks 4.5:1 for body text, so where the chosen pair falls short, black or white is used instead.

export const HEX_COLOUR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

/** #abc or #aabbcc as lower-case #aabbcc; undefined for anything else. */
export function normalHex(value: string | undefined | null): string | undefined {
  if (typeof value !== "string" || !HEX_COLOUR.test(value)) return undefined;
  let hex = value.slice(1).toLowerCase();
  if (hex.length === 3) hex = [...hex].map((c) => c + c).join("");
  return `#${hex}`;
}

function channels(hex: string): [number, number, number] {
  const h = normalHex(hex) ?? "#000000";
  return [1, 3, 5].map((i) => Number.parseInt(h.slice(i, i + 2), 16) / 255) as [number, number, number];
}

/** Relative luminance (WCAG 2.2, definition "relative luminance"). */
function luminance(hex: string): number {
  const [r, g, b] = channels(hex).map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)) as [
    number,
    number,
    number,
  ];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** Contrast ratio (WCAG 2.2, definition "contrast ratio"): 1 to 21. */
export function contrast(a: string, b: string): number {
  const [high, low] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (high + 0.05) / (low + 0.05);
}

/** AA for normal text (SC 1.4.3). */
export const AA_CONTRAST = 4.5;

/** `preferred` on `background` when it reaches AA, else whichever of black and white reads better. */
export function readableOn(background: string, preferred?: string): string {
  if (preferred && contrast(preferred, background) >= AA_CONTRAST) return preferred;
  return contrast("#000000", background) >= contrast("#ffffff", background) ? "#000000" : "#ffffff";
}

/** A hex colour as Kinde reports it: raw, hex and hsl. */
export function colourValue(raw: string | undefined): { raw: string; hex: string; hsl: string } | null {
  const hex = normalHex(raw);
  if (!raw || !hex) return null;
  const [r, g, b] = channels(hex);
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const l = (max + min) / 2;
  const d = max - min;
  const s = d === 0 ? 0 : d / (1 - Math.abs(2 * l - 1));
  let h = 0;
  if (d !== 0) {
    if (max === r) h = ((g - b) / d) % 6;
    else if (max === g) h = (b - r) / d + 2;
    else h = (r - g) / d + 4;
  }
  const hue = Math.round((h * 60 + 360) % 360);
  return { raw, hex, hsl: `hsl(${hue}, ${Math.round(s * 100)}%, ${Math.round(l * 100)}%)` };
}
