//! Photos and documents on jobs (seed §7): uploaded as multipart, limited in size,
//! typed by their bytes (never by the name or the declared type), stripped of
//! EXIF/XMP metadata (a phone photo carries the GPS position of the client's home),
//! kept in file storage under the job (§7.1) and handed out by short-lived signed
//! URLs. This module owns `job_attachments`; it never trusts a client's filename for
//! anything but display.

use bytes::Bytes;

use crate::http::{ApiError, ErrorCode};

pub mod repo;
pub mod routes;
pub mod service;

/// A file type we accept, recognised from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    Png,
    Gif,
    Webp,
    Pdf,
}

impl Kind {
    pub fn sniff(bytes: &[u8]) -> Option<Kind> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Kind::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Kind::Png)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(Kind::Gif)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Kind::Webp)
        } else if bytes.starts_with(b"%PDF-") {
            Some(Kind::Pdf)
        } else {
            None
        }
    }

    /// An image (everything but a PDF): gets a thumbnail, may be an avatar.
    pub fn is_picture(self) -> bool {
        !matches!(self, Kind::Pdf)
    }

    pub fn ext(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpg",
            Kind::Png => "png",
            Kind::Gif => "gif",
            Kind::Webp => "webp",
            Kind::Pdf => "pdf",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::Gif => "image/gif",
            Kind::Webp => "image/webp",
            Kind::Pdf => "application/pdf",
        }
    }

    /// The kind a stored `content_type` (from [`Kind::content_type`]) names.
    pub fn from_content_type(content_type: &str) -> Option<Kind> {
        [Kind::Jpeg, Kind::Png, Kind::Gif, Kind::Webp, Kind::Pdf]
            .into_iter()
            .find(|kind| kind.content_type() == content_type)
    }
}

/// A file as it is kept: typed by its bytes, without metadata, with a display name.
pub struct Accepted {
    pub kind: Kind,
    pub bytes: Bytes,
    pub filename: String,
}

/// Take an uploaded file the way job attachments do: a JPEG, PNG, GIF, WebP or PDF by
/// its bytes (415 otherwise), with its metadata removed (422 on `file` when it is
/// damaged) and a display name made safe from the client's.
pub fn accept(filename: Option<&str>, bytes: &[u8]) -> Result<Accepted, ApiError> {
    let kind = Kind::sniff(bytes).ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "only JPEG, PNG, GIF and WebP images and PDF documents can be attached",
        )
    })?;
    let clean = strip_metadata(kind, bytes)
        .ok_or_else(|| ApiError::field("file", "the file is damaged or truncated"))?;
    Ok(Accepted {
        kind,
        bytes: Bytes::from(clean),
        filename: clean_filename(filename, kind),
    })
}

/// A display name: the last path segment, control characters removed, at most
/// 200 characters; `upload.{ext}` when nothing is left.
fn clean_filename(name: Option<&str>, kind: Kind) -> String {
    let base = name
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        format!("upload.{}", kind.ext())
    } else {
        cleaned.to_string()
    }
}

/// The file without its EXIF and XMP metadata (location, device, time), or None
/// when it is malformed. Images keep their pixels and colour profile untouched, and
/// a JPEG keeps its EXIF orientation (alone in a new, minimal EXIF block): a phone
/// stores a portrait photo sideways with "rotate 90°" in EXIF, and without it the
/// photo would show sideways everywhere.
pub fn strip_metadata(kind: Kind, bytes: &[u8]) -> Option<Vec<u8>> {
    match kind {
        Kind::Jpeg => strip_jpeg(bytes),
        Kind::Png => strip_png(bytes),
        Kind::Webp => strip_webp(bytes),
        // GIF has no EXIF; a PDF is a document, kept as the business gave it.
        Kind::Gif | Kind::Pdf => Some(bytes.to_vec()),
    }
}

/// JPEG: drop every APP1 segment (EXIF, XMP) before the image data; an EXIF
/// orientation other than "upright" is written back on its own.
fn strip_jpeg(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(bytes.get(..2)?);
    let mut at = 2;
    loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        // Fill bytes before a marker.
        if marker == 0xFF {
            at += 1;
            continue;
        }
        // Start of scan: the rest is image data (and the end marker).
        if marker == 0xDA {
            out.extend_from_slice(bytes.get(at..)?);
            return Some(out);
        }
        if matches!(marker, 0xD8 | 0x01 | 0xD0..=0xD7) {
            out.extend_from_slice(bytes.get(at..at + 2)?);
            at += 2;
            continue;
        }
        let length = usize::from(u16::from_be_bytes([
            *bytes.get(at + 2)?,
            *bytes.get(at + 3)?,
        ]));
        let end = at.checked_add(2)?.checked_add(length)?;
        let segment = bytes.get(at..end)?;
        if marker != 0xE1 {
            out.extend_from_slice(segment);
        } else if let Some(orientation) = exif_orientation(&segment[4..])
            && orientation != 1
        {
            out.extend_from_slice(&orientation_segment(orientation));
        }
        at = end;
    }
}

/// The Orientation tag (0x0112, 1 to 8) of IFD0 in an APP1 EXIF payload
/// (`Exif\0\0` and a TIFF structure, either byte order).
pub fn exif_orientation(payload: &[u8]) -> Option<u16> {
    let tiff = payload.strip_prefix(b"Exif\0\0")?;
    let big_endian = match tiff.get(..4)? {
        b"MM\0*" => true,
        b"II*\0" => false,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b: [u8; 2] = tiff.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |at: usize| -> Option<usize> {
        let b: [u8; 4] = tiff.get(at..at.checked_add(4)?)?.try_into().ok()?;
        let n = if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        };
        usize::try_from(n).ok()
    };
    let ifd = u32_at(4)?;
    let entries = usize::from(u16_at(ifd)?);
    (0..entries).find_map(|i| {
        let entry = ifd.checked_add(2)?.checked_add(i.checked_mul(12)?)?;
        // Tag 0x0112, type SHORT (3), count 1: the value is in the entry itself.
        (u16_at(entry)? == 0x0112 && u16_at(entry + 2)? == 3)
            .then(|| u16_at(entry + 8))
            .flatten()
            .filter(|o| (1..=8).contains(o))
    })
}

/// An APP1 segment holding an EXIF block with the orientation and nothing else.
fn orientation_segment(orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\0*\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes());
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]); // padding of the value field
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let length = u16::try_from(2 + 6 + tiff.len()).unwrap_or(u16::MAX);
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&length.to_be_bytes());
    segment.extend_from_slice(b"Exif\0\0");
    segment.extend_from_slice(&tiff);
    segment
}

/// PNG: drop the eXIf chunk and XMP text chunks (iTXt with the XMP keyword).
fn strip_png(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = bytes.get(..8)?.to_vec();
    let mut at = 8;
    while at < bytes.len() {
        let length =
            usize::try_from(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?)).ok()?;
        let end = at.checked_add(12)?.checked_add(length)?;
        let chunk = bytes.get(at..end)?;
        let name = &chunk[4..8];
        let xmp = name == b"iTXt" && chunk[8..].starts_with(b"XML:com.adobe.xmp");
        if name != b"eXIf" && !xmp {
            out.extend_from_slice(chunk);
        }
        at = end;
        if name == b"IEND" {
            break;
        }
    }
    Some(out)
}

/// WebP: drop the EXIF and XMP chunks and clear their flags in VP8X.
fn strip_webp(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::with_capacity(bytes.len());
    let mut at = 12;
    while at < bytes.len() {
        let name = bytes.get(at..at + 4)?;
        let size = usize::try_from(u32::from_le_bytes(
            bytes.get(at + 4..at + 8)?.try_into().ok()?,
        ))
        .ok()?;
        let end = at
            .checked_add(8)?
            .checked_add(size)?
            .checked_add(size % 2)?;
        let chunk = bytes.get(at..end.min(bytes.len()))?;
        match name {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                let mut chunk = chunk.to_vec();
                // Flags: bit 3 EXIF, bit 2 XMP.
                *chunk.get_mut(8)? &= !0b0000_1100;
                body.extend_from_slice(&chunk);
            }
            _ => body.extend_from_slice(chunk),
        }
        at = end;
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&u32::try_from(body.len() + 4).ok()?.to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JPEG skeleton: SOI, APP0, APP1 (EXIF with a fake GPS tag), DQT, SOS, data, EOI.
    pub fn jpeg_with_exif() -> Vec<u8> {
        let mut jpeg = vec![0xFF, 0xD8];
        jpeg.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x07, b'J', b'F', b'I', b'F', 0x00]);
        let exif = b"Exif\0\0GPSLatitude=40.7128N";
        let length = u16::try_from(exif.len() + 2).unwrap().to_be_bytes();
        jpeg.extend_from_slice(&[0xFF, 0xE1, length[0], length[1]]);
        jpeg.extend_from_slice(exif);
        jpeg.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x04, 0x00, 0x01]);
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0xFF, 0xD9]);
        jpeg
    }

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(Kind::sniff(&jpeg_with_exif()), Some(Kind::Jpeg));
        assert_eq!(Kind::sniff(b"%PDF-1.7\n"), Some(Kind::Pdf));
        assert_eq!(Kind::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Kind::Webp));
        assert_eq!(Kind::sniff(b"<html><script>"), None);
        assert_eq!(
            Kind::sniff(b"MZ\x90\0"),
            None,
            "an executable named photo.jpg"
        );
    }

    #[test]
    fn stored_content_types_name_their_kind() {
        for kind in [Kind::Jpeg, Kind::Png, Kind::Gif, Kind::Webp, Kind::Pdf] {
            assert_eq!(Kind::from_content_type(kind.content_type()), Some(kind));
        }
        assert_eq!(Kind::from_content_type("text/html"), None);
        assert!(Kind::Webp.is_picture() && !Kind::Pdf.is_picture());
    }

    #[test]
    fn jpeg_exif_is_removed_and_the_image_kept() {
        let original = jpeg_with_exif();
        let clean = strip_metadata(Kind::Jpeg, &original).unwrap();
        let text = String::from_utf8_lossy(&clean);
        assert!(!text.contains("GPS"), "{clean:?}");
        assert!(clean.ends_with(&[0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0xFF, 0xD9]));
        assert!(text.contains("JFIF"));
        assert_eq!(Kind::sniff(&clean), Some(Kind::Jpeg));
        assert_eq!(
            strip_metadata(Kind::Jpeg, &original[..10]),
            None,
            "truncated"
        );
    }

    /// A JPEG of `width` x `height` pixels whose EXIF says GPS and `orientation`.
    pub fn photo_with_orientation(width: u32, height: u32, orientation: u16) -> Vec<u8> {
        let mut plain = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut plain)
            .encode_image(&image::RgbImage::from_pixel(
                width,
                height,
                image::Rgb([90, 160, 60]),
            ))
            .unwrap();
        // Little-endian TIFF: a GPS-looking ASCII tag, then the orientation.
        let mut tiff = b"II*\0\x08\0\0\0".to_vec();
        tiff.extend_from_slice(&2u16.to_le_bytes());
        tiff.extend_from_slice(&0x010Eu16.to_le_bytes()); // ImageDescription
        tiff.extend_from_slice(&2u16.to_le_bytes());
        tiff.extend_from_slice(&4u32.to_le_bytes());
        tiff.extend_from_slice(b"GPS\0");
        tiff.extend_from_slice(&0x0112u16.to_le_bytes());
        tiff.extend_from_slice(&3u16.to_le_bytes());
        tiff.extend_from_slice(&1u32.to_le_bytes());
        tiff.extend_from_slice(&orientation.to_le_bytes());
        tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let length = u16::try_from(app1.len() + 2).unwrap().to_be_bytes();
        let mut jpeg = plain[..2].to_vec();
        jpeg.extend_from_slice(&[0xFF, 0xE1, length[0], length[1]]);
        jpeg.extend_from_slice(&app1);
        jpeg.extend_from_slice(&plain[2..]);
        jpeg
    }

    #[test]
    fn jpeg_orientation_survives_the_stripping() {
        let photo = photo_with_orientation(64, 32, 6);
        let clean = strip_metadata(Kind::Jpeg, &photo).unwrap();
        assert!(!String::from_utf8_lossy(&clean).contains("GPS"));
        let app1 = clean.windows(6).position(|w| w == b"Exif\0\0").unwrap();
        assert_eq!(exif_orientation(&clean[app1..]), Some(6));
        // Upright photos need no EXIF at all.
        let upright = strip_metadata(Kind::Jpeg, &photo_with_orientation(8, 8, 1)).unwrap();
        assert!(!upright.windows(4).any(|w| w == b"Exif"));
        // The image crate reads it back and turns the thumbnail upright.
        let thumb = crate::platform::picture::thumbnail(&clean).unwrap();
        assert_eq!((thumb.width, thumb.height), (32, 64));
    }

    #[test]
    fn png_exif_chunk_is_removed() {
        let chunk = |name: &[u8], data: &[u8]| {
            let mut c = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
            c.extend_from_slice(name);
            c.extend_from_slice(data);
            c.extend_from_slice(&[0, 0, 0, 0]);
            c
        };
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(chunk(b"IHDR", &[0; 13]));
        png.extend(chunk(b"eXIf", b"GPS 40.7N"));
        png.extend(chunk(b"IDAT", &[1, 2, 3]));
        png.extend(chunk(b"IEND", &[]));
        let clean = strip_metadata(Kind::Png, &png).unwrap();
        assert!(!String::from_utf8_lossy(&clean).contains("GPS"));
        assert_eq!(clean.len(), png.len() - (12 + 9));
    }
}
