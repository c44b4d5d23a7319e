//! Logos for PDFs: JPEG (embedded as is, DCTDecode) and 8-bit PNG (grey, RGB, and
//! their alpha variants as a soft mask), per PDF 32000-1 §8.9. Anything else
//! (palette or 16-bit PNG, interlaced PNG, other formats, oversized images) is
//! refused with None, and the document prints without a logo. The PDF writer
//! (`documents::pdf`) embeds them, and an account's logo is checked with them on upload.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;

/// Larger images are refused: a logo needs no more, and this bounds memory.
const MAX_PIXELS: u64 = 4096 * 4096;

#[derive(Clone, PartialEq, Eq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    /// `/DeviceGray`, `/DeviceRGB` or `/DeviceCMYK`.
    pub color_space: &'static str,
    /// The image XObject's `/Filter` and `/DecodeParms` entries.
    pub filter: String,
    pub data: Vec<u8>,
    /// Alpha as an 8-bit zlib-compressed grey image (PNG with transparency).
    pub alpha: Option<Vec<u8>>,
}

impl std::fmt::Debug for Image {
    /// Size and a digest, not the bytes (this goes into the PDF fingerprint).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        hasher.update(&self.data);
        if let Some(alpha) = &self.alpha {
            hasher.update(alpha);
        }
        write!(
            f,
            "Image({}x{} {} {:x})",
            self.width,
            self.height,
            self.color_space,
            hasher.finalize()
        )
    }
}

impl Image {
    pub fn parse(bytes: &[u8]) -> Option<Image> {
        if bytes.starts_with(&[0xFF, 0xD8]) {
            jpeg(bytes)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            png(bytes)
        } else {
            None
        }
    }
}

fn too_big(width: u32, height: u32) -> bool {
    width == 0 || height == 0 || u64::from(width) * u64::from(height) > MAX_PIXELS
}

/// Dimensions and components from the first start-of-frame marker.
fn jpeg(bytes: &[u8]) -> Option<Image> {
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let length = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let frame = bytes.get(i + 4..i + 10)?;
            let height = u32::from(u16::from_be_bytes([frame[1], frame[2]]));
            let width = u32::from(u16::from_be_bytes([frame[3], frame[4]]));
            let color_space = match frame[5] {
                1 => "/DeviceGray",
                3 => "/DeviceRGB",
                4 => "/DeviceCMYK",
                _ => return None,
            };
            if too_big(width, height) || frame[0] != 8 {
                return None;
            }
            return Some(Image {
                width,
                height,
                color_space,
                filter: "/Filter /DCTDecode".into(),
                data: bytes.to_vec(),
                alpha: None,
            });
        }
        i += 2 + length;
    }
    None
}

fn png(bytes: &[u8]) -> Option<Image> {
    let mut i = 8;
    let mut header = None;
    let mut idat = Vec::new();
    while i + 8 <= bytes.len() {
        let length = usize::try_from(u32::from_be_bytes(bytes[i..i + 4].try_into().ok()?)).ok()?;
        let kind = &bytes[i + 4..i + 8];
        let body = bytes.get(i + 8..(i + 8).checked_add(length)?)?;
        match kind {
            b"IHDR" if body.len() == 13 => header = Some(body.to_vec()),
            b"IDAT" => idat.extend_from_slice(body),
            b"IEND" => break,
            _ => {}
        }
        i += 12 + length;
    }
    let header = header?;
    let width = u32::from_be_bytes(header[0..4].try_into().ok()?);
    let height = u32::from_be_bytes(header[4..8].try_into().ok()?);
    let (depth, color_type, interlace) = (header[8], header[9], header[12]);
    if too_big(width, height) || depth != 8 || interlace != 0 || idat.is_empty() {
        return None;
    }
    let (channels, color_space, has_alpha) = match color_type {
        0 => (1, "/DeviceGray", false),
        2 => (3, "/DeviceRGB", false),
        4 => (2, "/DeviceGray", true),
        6 => (4, "/DeviceRGB", true),
        _ => return None,
    };
    if !has_alpha {
        // PDF reads PNG-predicted zlib data as is.
        return Some(Image {
            width,
            height,
            color_space,
            filter: format!(
                "/Filter /FlateDecode /DecodeParms << /Predictor 15 /Colors {channels} /BitsPerComponent 8 /Columns {width} >>"
            ),
            data: idat,
            alpha: None,
        });
    }
    // With alpha: undo the PNG filters, then split colour and alpha.
    let w = usize::try_from(width).ok()?;
    let h = usize::try_from(height).ok()?;
    let stride = w * channels;
    let expected = (stride + 1) * h;
    let mut raw = Vec::with_capacity(expected);
    ZlibDecoder::new(&idat[..])
        .take(u64::try_from(expected).ok()? + 1)
        .read_to_end(&mut raw)
        .ok()?;
    if raw.len() != expected {
        return None;
    }
    let pixels = unfilter(&raw, stride, h, channels)?;
    let color_channels = channels - 1;
    let mut color = Vec::with_capacity(w * h * color_channels);
    let mut alpha = Vec::with_capacity(w * h);
    for pixel in pixels.chunks_exact(channels) {
        color.extend_from_slice(&pixel[..color_channels]);
        alpha.push(pixel[color_channels]);
    }
    Some(Image {
        width,
        height,
        color_space,
        filter: "/Filter /FlateDecode".into(),
        data: deflate(&color)?,
        alpha: Some(deflate(&alpha)?),
    })
}

/// Reverse PNG's per-row filters (PNG spec §9): None, Sub, Up, Average, Paeth.
fn unfilter(raw: &[u8], stride: usize, rows: usize, bpp: usize) -> Option<Vec<u8>> {
    let mut out = vec![0u8; stride * rows];
    for row in 0..rows {
        let line = raw.get(row * (stride + 1)..(row + 1) * (stride + 1))?;
        let (filter, data) = (line[0], &line[1..]);
        let (done, rest) = out.split_at_mut(row * stride);
        let prev = if row == 0 {
            None
        } else {
            done.get((row - 1) * stride..)
        };
        let current = &mut rest[..stride];
        for x in 0..stride {
            let a = if x >= bpp { current[x - bpp] } else { 0 };
            let b = prev.map_or(0, |p| p[x]);
            let c = if x >= bpp {
                prev.map_or(0, |p| p[x - bpp])
            } else {
                0
            };
            let predictor = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => paeth(a, b, c),
                _ => return None,
            };
            current[x] = data[x].wrapping_add(predictor);
        }
    }
    Some(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

fn deflate(data: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).ok()?;
    encoder.finish().ok()
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A `width` × `height` RGBA PNG; odd rows use the Up filter.
    pub fn rgba_png(width: u32, height: u32) -> Vec<u8> {
        let mut raw = Vec::new();
        for y in 0..height {
            if y % 2 == 1 {
                // Up, with no difference: the row above again.
                raw.push(2);
                raw.extend(std::iter::repeat_n(0u8, width as usize * 4));
                continue;
            }
            raw.push(0);
            for x in 0..width {
                raw.extend_from_slice(&[(x * 40) as u8, 90, 140, if x < 2 { 0 } else { 255 }]);
            }
        }
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut chunk = |kind: &[u8], body: &[u8]| {
            png.extend_from_slice(&(body.len() as u32).to_be_bytes());
            png.extend_from_slice(kind);
            png.extend_from_slice(body);
            png.extend_from_slice(&[0, 0, 0, 0]);
        };
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        chunk(b"IHDR", &ihdr);
        chunk(b"IDAT", &deflate(&raw).unwrap());
        chunk(b"IEND", &[]);
        png
    }

    #[test]
    fn reads_png_with_alpha() {
        let image = Image::parse(&rgba_png(4, 3)).unwrap();
        assert_eq!((image.width, image.height), (4, 3));
        assert_eq!(image.color_space, "/DeviceRGB");
        let mut alpha = Vec::new();
        ZlibDecoder::new(&image.alpha.unwrap()[..])
            .read_to_end(&mut alpha)
            .unwrap();
        assert_eq!(alpha, [0, 0, 255, 255].repeat(3));
        let mut color = Vec::new();
        ZlibDecoder::new(&image.data[..])
            .read_to_end(&mut color)
            .unwrap();
        assert_eq!(&color[..6], &[0, 90, 140, 40, 90, 140]);
        // Row 1 used the Up filter: same pixels.
        assert_eq!(&color[12..18], &[0, 90, 140, 40, 90, 140]);
    }

    #[test]
    fn refuses_what_it_cannot_embed() {
        assert!(Image::parse(b"GIF89a").is_none());
        assert!(Image::parse(b"\x89PNG\r\n\x1a\n").is_none());
        assert!(Image::parse(&[0xFF, 0xD8, 0xFF]).is_none());
        let mut huge = rgba_png(1, 1);
        huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        assert!(Image::parse(&huge).is_none());
    }

    #[test]
    fn reads_jpeg_dimensions() {
        // SOI, APP0 (length 4), SOF0: 8 bits, 20 high, 30 wide, 3 components.
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x11, 8, 0, 20, 0,
            30, 3,
        ];
        let image = Image::parse(&jpeg).unwrap();
        assert_eq!(
            (image.width, image.height, image.color_space),
            (30, 20, "/DeviceRGB")
        );
    }
}

/// A logo is parsed from whatever an account uploaded or what storage holds: any
/// bytes give an image or None, never a panic.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::Image;
    use super::tests::rgba_png;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_panic(
            head in prop_oneof![Just(vec![0xFF, 0xD8]), Just(b"\x89PNG\r\n\x1a\n".to_vec()), Just(Vec::new())],
            rest in prop::collection::vec(any::<u8>(), 0..1024),
        ) {
            let mut bytes = head;
            bytes.extend(rest);
            let _ = Image::parse(&bytes);
        }

        #[test]
        fn damaged_pngs_never_panic(
            cut in any::<prop::sample::Index>(),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        ) {
            let mut png = rgba_png(6, 5);
            png.truncate(cut.index(png.len() + 1));
            for (at, value) in flips {
                if !png.is_empty() {
                    let at = at.index(png.len());
                    png[at] = value;
                }
            }
            let _ = Image::parse(&png);
        }
    }
}
