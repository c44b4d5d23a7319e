// Draws the field app's icons (public/field/icon-*.png) with no image library: a
// white check mark on the brand blue, antialiased by coverage. Run once after a
// design change: `node scripts/field-icons.mjs`; the PNGs are committed.
import { writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";

const BLUE = [0x1d, 0x4e, 0xd8];

function crc32(bytes) {
  let c;
  const table = [];
  for (let n = 0; n < 256; n++) {
    c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  let crc = 0xffffffff;
  for (const b of bytes) crc = table[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function png(size, pixel) {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const [r, g, b, a] = pixel(x + 0.5, y + 0.5);
      const o = y * (size * 4 + 1) + 1 + x * 4;
      raw[o] = r;
      raw[o + 1] = g;
      raw[o + 2] = b;
      raw[o + 3] = a;
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

function segmentDistance(px, py, ax, ay, bx, by) {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

function roundedRectDistance(px, py, size, radius) {
  const half = size / 2;
  const qx = Math.abs(px - half) - (half - radius);
  const qy = Math.abs(py - half) - (half - radius);
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - radius;
}

/** `maskable`: full-bleed background, the mark inside the 80 % safe zone. */
function icon(size, maskable) {
  const s = size / 100;
  const scale = maskable ? 0.72 : 1;
  const c = 50 * s;
  const at = (x, y) => [c + (x - 50) * s * scale, c + (y - 50) * s * scale];
  const [ax, ay] = at(27, 52);
  const [bx, by] = at(43, 68);
  const [cx, cy] = at(74, 34);
  const stroke = 6.5 * s * scale;
  return png(size, (x, y) => {
    const bg = maskable ? 1 : Math.max(0, Math.min(1, 0.5 - roundedRectDistance(x, y, size, 22 * s)));
    const d = Math.min(segmentDistance(x, y, ax, ay, bx, by), segmentDistance(x, y, bx, by, cx, cy));
    const mark = Math.max(0, Math.min(1, stroke - d + 0.5));
    const r = Math.round(BLUE[0] * (1 - mark) + 255 * mark);
    const g = Math.round(BLUE[1] * (1 - mark) + 255 * mark);
    const b = Math.round(BLUE[2] * (1 - mark) + 255 * mark);
    return [r, g, b, Math.round(255 * bg)];
  });
}

const out = new URL("../public/field/", import.meta.url);
writeFileSync(new URL("icon-192.png", out), icon(192, false));
writeFileSync(new URL("icon-512.png", out), icon(512, false));
writeFileSync(new URL("icon-maskable-512.png", out), icon(512, true));
console.log("wrote public/field/icon-192.png, icon-512.png, icon-maskable-512.png");
