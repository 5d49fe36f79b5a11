// Latchkey's mark as a favicon: the SVG the dashboard uses, and the same drawing rasterised into a
// 32×32 ICO for /favicon.ico, which browsers fetch for any page that names no icon (the hosted
// pages' own layouts among them). Drawn here from the shapes rather than kept as a binary file, so
// the two cannot drift apart and the bundle needs no asset beside it.

export const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" role="img" aria-label="Latchkey">' +
  '<title>Latchkey</title><rect width="32" height="32" rx="7" fill="#3b5bdb"/>' +
  '<circle cx="13" cy="16" r="5" fill="none" stroke="#fff" stroke-width="3"/>' +
  '<path d="M18 16h9m-3 0v4" stroke="#fff" stroke-width="3" fill="none" stroke-linecap="round"/></svg>';

const SIZE = 32;
/** Samples per pixel along each axis: edges get 16 levels of coverage, enough at this size. */
const SAMPLES = 4;
const ACCENT = { r: 0x3b, g: 0x5b, b: 0xdb };
const STROKE = 1.5;

function distanceToSegment(x: number, y: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(x - (ax + t * dx), y - (ay + t * dy));
}

function insideRoundedSquare(x: number, y: number): boolean {
  const radius = 7;
  const cx = Math.min(Math.max(x, radius), SIZE - radius);
  const cy = Math.min(Math.max(y, radius), SIZE - radius);
  return Math.hypot(x - cx, y - cy) <= radius;
}

function onKey(x: number, y: number): boolean {
  return (
    Math.abs(Math.hypot(x - 13, y - 16) - 5) <= STROKE ||
    distanceToSegment(x, y, 18, 16, 27, 16) <= STROKE ||
    distanceToSegment(x, y, 24, 16, 24, 20) <= STROKE
  );
}

/** One pixel's colour as [blue, green, red, alpha] (the byte order of a 32-bit DIB). */
function pixel(px: number, py: number): [number, number, number, number] {
  let square = 0;
  let white = 0;
  for (let sy = 0; sy < SAMPLES; sy++) {
    for (let sx = 0; sx < SAMPLES; sx++) {
      const x = px + (sx + 0.5) / SAMPLES;
      const y = py + (sy + 0.5) / SAMPLES;
      if (!insideRoundedSquare(x, y)) continue;
      square++;
      if (onKey(x, y)) white++;
    }
  }
  if (square === 0) return [0, 0, 0, 0];
  // Colour among the covered samples; coverage of the square becomes alpha (straight, not premultiplied).
  const w = white / square;
  const mix = (accent: number) => Math.round(accent + (255 - accent) * w);
  return [mix(ACCENT.b), mix(ACCENT.g), mix(ACCENT.r), Math.round((255 * square) / SAMPLES ** 2)];
}

/**
 * An ICO holding one 32×32 32-bit image: the 6-byte directory header, one 16-byte entry, then a
 * BITMAPINFOHEADER whose height counts the colour rows and the AND mask (all transparent-bits clear:
 * alpha decides), rows bottom-up.
 */
function buildIco(): Buffer {
  const header = 40;
  const colour = SIZE * SIZE * 4;
  const mask = SIZE * 4; // 1 bit per pixel, rows padded to 32 bits
  const image = Buffer.alloc(header + colour + mask);
  image.writeUInt32LE(header, 0);
  image.writeInt32LE(SIZE, 4);
  image.writeInt32LE(SIZE * 2, 8);
  image.writeUInt16LE(1, 12); // planes
  image.writeUInt16LE(32, 14); // bits per pixel
  image.writeUInt32LE(colour + mask, 20);
  for (let row = 0; row < SIZE; row++) {
    const y = SIZE - 1 - row;
    for (let x = 0; x < SIZE; x++) {
      const offset = header + (row * SIZE + x) * 4;
      pixel(x, y).forEach((byte, i) => {
        image[offset + i] = byte;
      });
    }
  }
  const directory = Buffer.alloc(6 + 16);
  directory.writeUInt16LE(1, 2); // type: icon
  directory.writeUInt16LE(1, 4); // one image
  directory[6] = SIZE;
  directory[7] = SIZE;
  directory.writeUInt16LE(1, 10);
  directory.writeUInt16LE(32, 12);
  directory.writeUInt32LE(image.length, 14);
  directory.writeUInt32LE(directory.length, 18);
  return Buffer.concat([directory, image]);
}

let ico: Buffer | undefined;

export function faviconIco(): Buffer {
  ico ??= buildIco();
  return ico;
}
