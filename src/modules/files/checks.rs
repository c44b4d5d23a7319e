//! What an uploaded file may be, for every module that takes one in (job attachments,
//! uploads, client pictures, the account's logo): typed by its bytes (never by the
//! name or the declared type), limited in size, and stripped of EXIF/XMP metadata (a
//! phone photo carries the GPS position of the client's home). A client's filename
//! is trusted for nothing but display.

use bytes::Bytes;

use crate::error::{Error, ErrorCode};
use crate::platform::picture::PictureError;

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
pub fn accept(filename: Option<&str>, bytes: &[u8]) -> Result<Accepted, Error> {
    let kind = Kind::sniff(bytes).ok_or_else(|| {
        Error::new(
            ErrorCode::UnsupportedMediaType,
            "only JPEG, PNG, GIF and WebP images and PDF documents can be attached",
        )
    })?;
    let clean = strip_metadata(kind, bytes)
        .ok_or_else(|| Error::field("file", "the file is damaged or truncated"))?;
    check_picture(kind, &clean)?;
    Ok(Accepted {
        kind,
        bytes: Bytes::from(clean),
        filename: clean_filename(filename, kind),
    })
}

/// How far into a picture markup is looked for: browsers that sniff (and old ones
/// that did) decide from the first 512 bytes to 1 KiB.
const MARKUP_WINDOW: usize = 1024;

/// Tags that make a browser or a script engine read a file as a web page or an SVG,
/// compared lower-case. A picture has no business holding them near its start.
const MARKUP: [&[u8]; 12] = [
    b"<!doctype",
    b"<html",
    b"<head",
    b"<body",
    b"<script",
    b"<iframe",
    b"<svg",
    b"<?xml",
    b"<object",
    b"<embed",
    b"<meta",
    b"<style",
];

/// A picture's last checks before it is kept, the same for every upload (job
/// attachments, `POST /uploads`, avatars, the logo), on its bytes after
/// [`strip_metadata`]; 422 on `file` when it fails them:
/// - it is no polyglot: a GIF (or JPEG, PNG, WebP) whose first KiB also reads as
///   HTML or SVG would run as a page wherever a browser second-guesses its type;
/// - the size its header declares is within `platform::picture`'s limits, so the
///   thumbnail worker is never handed a canvas of gigabytes.
///
/// A PDF is a document and is not looked at here (it is served as one, with
/// `nosniff`).
pub fn check_picture(kind: Kind, bytes: &[u8]) -> Result<(), Error> {
    if !kind.is_picture() {
        return Ok(());
    }
    let head = bytes[..bytes.len().min(MARKUP_WINDOW)].to_ascii_lowercase();
    if MARKUP
        .iter()
        .any(|tag| memchr::memmem::find(&head, tag).is_some())
    {
        return Err(Error::field(
            "file",
            "this picture also reads as a web page (it holds HTML or script); it is refused",
        ));
    }
    match crate::platform::picture::dimensions(bytes) {
        Err(error @ PictureError::TooLarge(_)) => Err(Error::field("file", error.to_string())),
        // A header the decoders cannot read is the thumbnail worker's to report
        // (the picture is kept, its thumbnail marked failed), as before.
        Err(PictureError::Decode(_) | PictureError::Encode(_)) | Ok(_) => Ok(()),
    }
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
        // The length counts its own two bytes: less is a damaged file (and a
        // length of 0 would make the payload below start past the segment's end).
        if length < 2 {
            return None;
        }
        let end = at.checked_add(2)?.checked_add(length)?;
        let segment = bytes.get(at..end)?;
        if marker != 0xE1 {
            out.extend_from_slice(segment);
        } else if let Some(orientation) = exif_orientation(segment.get(4..)?)
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
    fn a_truncated_jpeg_is_damaged_not_a_panic() {
        // An APP1 segment whose length (0) is shorter than its own length field.
        assert_eq!(
            strip_metadata(Kind::Jpeg, &[0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x00]),
            None
        );
        assert_eq!(
            strip_metadata(Kind::Jpeg, &[0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x02]),
            None
        );
        let error = accept(Some("x.jpg"), &[0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x00])
            .err()
            .unwrap();
        assert_eq!(error.fields[0].field, "file");
    }

    #[test]
    fn pictures_that_also_read_as_html_are_refused() {
        let mut gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00".to_vec();
        gif.extend_from_slice(b"<SCRIPT>alert(document.cookie)</script>");
        let error = accept(Some("cat.gif"), &gif).err().unwrap();
        assert_eq!(error.status(), 422);
        assert!(error.detail.contains("web page"), "{}", error.detail);
        // In a text chunk right after the header (bytes after IEND are dropped anyway).
        let mut png = png_with_exif();
        let text = b"tEXtComment\0<html><body>";
        let mut chunk = u32::try_from(text.len() - 4)
            .unwrap()
            .to_be_bytes()
            .to_vec();
        chunk.extend_from_slice(text);
        chunk.extend_from_slice(&[0, 0, 0, 0]);
        png.splice(33..33, chunk);
        assert!(accept(None, &png).is_err());
        // Markup far past the start is no concern of a browser's sniffing.
        let mut photo = photo_with_orientation(8, 8, 1);
        photo.extend(std::iter::repeat_n(0u8, 2048));
        photo.extend_from_slice(b"<script>");
        assert!(accept(None, &photo).is_ok());
        // A PDF is a document, served as one.
        assert!(accept(None, b"%PDF-1.7\n<html>").is_ok());
    }

    #[test]
    fn pictures_declaring_a_huge_canvas_are_refused_before_decoding() {
        let huge = crate::platform::picture::tests::declared_png(20_000, 20_000);
        let error = accept(Some("huge.png"), &huge).err().unwrap();
        assert_eq!(error.status(), 422);
        assert_eq!(error.fields[0].field, "file");
        assert!(error.detail.contains("too large"), "{}", error.detail);
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

    /// A PNG skeleton (IHDR, eXIf with a GPS text, IDAT, IEND; checksums zero).
    pub fn png_with_exif() -> Vec<u8> {
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
        png
    }

    #[test]
    fn png_exif_chunk_is_removed() {
        let png = png_with_exif();
        let clean = strip_metadata(Kind::Png, &png).unwrap();
        assert!(!String::from_utf8_lossy(&clean).contains("GPS"));
        assert_eq!(clean.len(), png.len() - (12 + 9));
    }
}

/// Whatever bytes arrive, typing, stripping and checking an upload answer; they never
/// panic (a panic drops the connection and strands its `Idempotency-Key`).
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::tests::{jpeg_with_exif, photo_with_orientation};
    use super::*;
    use crate::platform::picture;

    /// The magic numbers of every kind, so the parsers behind them are reached.
    fn magic() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(vec![0xFF, 0xD8, 0xFF]),
            Just(b"\x89PNG\r\n\x1a\n".to_vec()),
            Just(b"GIF89a".to_vec()),
            Just(b"RIFF\x10\0\0\0WEBPVP8X".to_vec()),
            Just(b"%PDF-1.7\n".to_vec()),
        ]
    }

    /// Real files, each damaged: cut short, then a few bytes overwritten.
    fn damaged() -> impl Strategy<Value = Vec<u8>> {
        let originals = prop_oneof![
            Just(jpeg_with_exif()),
            Just(photo_with_orientation(16, 8, 6)),
            Just(super::tests::png_with_exif()),
        ];
        (
            originals,
            any::<prop::sample::Index>(),
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        )
            .prop_map(|(mut bytes, cut, flips)| {
                let keep = cut.index(bytes.len() + 1);
                bytes.truncate(keep.max(1));
                for (at, value) in flips {
                    let at = at.index(bytes.len());
                    bytes[at] = value;
                }
                bytes
            })
    }

    /// A length field: small (shorter than what it counts, or zero) or anything.
    fn length() -> impl Strategy<Value = u32> {
        prop_oneof![0u32..12, any::<u32>(), 0u32..64]
    }

    /// Files made of well-framed segments or chunks with arbitrary lengths and
    /// contents: what the metadata strippers walk.
    fn framed() -> impl Strategy<Value = Vec<u8>> {
        let payload = || prop::collection::vec(any::<u8>(), 0..40);
        let jpeg = prop::collection::vec(
            (
                prop_oneof![
                    Just(0xE1u8),
                    Just(0xE0),
                    Just(0xDA),
                    Just(0xD8),
                    Just(0xFF),
                    any::<u8>()
                ],
                length(),
                payload(),
            ),
            0..6,
        )
        .prop_map(|segments| {
            let mut bytes = vec![0xFF, 0xD8];
            for (marker, length, payload) in segments {
                bytes.extend([0xFF, marker]);
                bytes.extend(u16::try_from(length % 65_536).unwrap_or(0).to_be_bytes());
                bytes.extend(payload);
            }
            bytes
        });
        let name = || {
            prop_oneof![
                Just(*b"IHDR"),
                Just(*b"eXIf"),
                Just(*b"iTXt"),
                Just(*b"IEND"),
                Just(*b"EXIF"),
                Just(*b"XMP "),
                Just(*b"VP8X"),
                any::<[u8; 4]>()
            ]
        };
        let png = prop::collection::vec((length(), name(), payload()), 0..6).prop_map(|chunks| {
            let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
            for (length, name, payload) in chunks {
                bytes.extend(length.to_be_bytes());
                bytes.extend(name);
                bytes.extend(payload);
            }
            bytes
        });
        let webp = prop::collection::vec((name(), length(), payload()), 0..6).prop_map(|chunks| {
            let mut bytes = b"RIFF\0\0\0\0WEBP".to_vec();
            for (name, length, payload) in chunks {
                bytes.extend(name);
                bytes.extend(length.to_le_bytes());
                bytes.extend(payload);
            }
            bytes
        });
        prop_oneof![jpeg, png, webp]
    }

    fn exercise(bytes: &[u8]) {
        let _ = accept(Some("photo.jpg"), bytes);
        for kind in [Kind::Jpeg, Kind::Png, Kind::Gif, Kind::Webp, Kind::Pdf] {
            if let Some(clean) = strip_metadata(kind, bytes) {
                let _ = check_picture(kind, &clean);
            }
        }
        let _ = exif_orientation(bytes);
        // Decoding only what declares a small canvas keeps the suite fast; the
        // limits on large ones are tested in `platform::picture`.
        if picture::dimensions(bytes).is_ok_and(|(w, h)| u64::from(w) * u64::from(h) <= 1 << 20) {
            let _ = picture::thumbnail(bytes);
            let _ = picture::avatar(bytes);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
            exercise(&bytes);
        }

        #[test]
        fn arbitrary_bytes_behind_a_magic_number_never_panic(
            head in magic(),
            rest in prop::collection::vec(any::<u8>(), 0..1024),
        ) {
            let mut bytes = head;
            bytes.extend(rest);
            exercise(&bytes);
        }

        #[test]
        fn framed_files_with_any_lengths_never_panic(bytes in framed()) {
            exercise(&bytes);
        }

        #[test]
        fn damaged_pictures_never_panic(bytes in damaged()) {
            exercise(&bytes);
        }
    }
}
