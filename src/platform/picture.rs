//! Resizing pictures for display (the `image.processing` queue): thumbnails of job
//! photos and square client avatars, always written as baseline JPEG, the one format
//! every browser, phone and email client shows.
//!
//! Input is whatever an upload accepted (JPEG, PNG, GIF, WebP; metadata already
//! removed except the EXIF orientation, see `files::checks::strip_metadata`). The
//! picture is turned upright by that orientation, transparent areas are laid on
//! white, and decoding is bounded: a small file that declares a huge canvas is
//! refused before its pixels are allocated.
//!
//! CPU-bound: call these from `tokio::task::spawn_blocking`.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits, RgbImage};

/// The longest side of a thumbnail, in pixels: sharp in a list on a phone with a
/// 2x screen, small enough to load a job's photos at once.
pub const THUMBNAIL_SIZE: u32 = 480;
/// An avatar's side, in pixels.
pub const AVATAR_SIZE: u32 = 256;
/// Pictures with a longer side are refused (docs/operations.md, "Uploads and images").
pub const MAX_SIDE: u32 = 16_384;
/// Pictures of more pixels are refused: 8192 x 8192, more than any phone's photo
/// (a 50-megapixel mode is 8160 x 6144). A 100-megapixel camera's full frame is not
/// a job photo.
pub const MAX_PIXELS: u64 = 8192 * 8192;
/// The memory a picture's decoded pixels may take, at their own depth: 64 megapixels
/// of 8-bit RGB (a photo), fewer of RGBA or 16-bit colour. Checked on the header's
/// numbers before a pixel is decoded: a 470 KB PNG of zeros may declare a canvas
/// of gigabytes.
pub const MAX_DECODED_BYTES: u64 = 192 * 1024 * 1024;
/// What the decoder itself may allocate (the pixels plus its working buffers); the
/// image crate refuses beyond it even if a header lied.
const MAX_ALLOC: u64 = MAX_DECODED_BYTES + 64 * 1024 * 1024;
const JPEG_QUALITY: u8 = 82;

/// The `image.processing` jobs (the queue's payload, tagged by `task`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum ImageJob {
    /// Make the thumbnail of a picture attached to a job.
    AttachmentThumbnail { id: uuid::Uuid },
    /// Crop a client's uploaded picture to its avatar.
    ClientAvatar {
        client_id: uuid::Uuid,
        avatar_id: uuid::Uuid,
    },
}

/// Where a picture made in the background stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Queued on `image.processing`; usually ready within seconds.
    Pending,
    Ready,
    /// The picture could not be decoded; the original is still there.
    Failed,
}

impl Status {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Status::Pending),
            "ready" => Some(Status::Ready),
            "failed" => Some(Status::Failed),
            _ => None,
        }
    }
}

/// Why a picture could not be made. Never worth retrying: the same bytes fail again.
#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    #[error("the picture cannot be decoded: {0}")]
    Decode(String),
    /// Over [`MAX_SIDE`], [`MAX_PIXELS`] or [`MAX_DECODED_BYTES`]: the message is
    /// for the person who uploaded it.
    #[error("{0}")]
    TooLarge(String),
    #[error("the picture could not be encoded: {0}")]
    Encode(String),
}

/// A JPEG whose longest side is at most [`THUMBNAIL_SIZE`] (smaller pictures are
/// not enlarged), with the proportions of the upright original.
pub fn thumbnail(bytes: &[u8]) -> Result<Picture, PictureError> {
    let picture = decode(bytes)?;
    let picture = if picture.width() > THUMBNAIL_SIZE || picture.height() > THUMBNAIL_SIZE {
        picture.resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, FilterType::Triangle)
    } else {
        picture
    };
    encode(&picture)
}

/// A square JPEG of [`AVATAR_SIZE`], the centre of the upright original scaled to
/// fill it.
pub fn avatar(bytes: &[u8]) -> Result<Picture, PictureError> {
    let picture = decode(bytes)?.resize_to_fill(AVATAR_SIZE, AVATAR_SIZE, FilterType::Lanczos3);
    encode(&picture)
}

/// An encoded JPEG and its size.
#[derive(Debug, Clone)]
pub struct Picture {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// The size a picture declares in its header, or [`PictureError::TooLarge`] when
/// it is over the limits. Reads the header only (cheap enough for a request): an
/// upload of a picture too big to make a thumbnail of is refused at once.
pub fn dimensions(bytes: &[u8]) -> Result<(u32, u32), PictureError> {
    open(bytes).map(|decoder| decoder.dimensions())
}

fn too_large() -> PictureError {
    PictureError::TooLarge(format!(
        "the picture is too large: at most {MAX_SIDE} pixels a side and {} megapixels ({} MiB of pixels) are accepted",
        MAX_PIXELS / (1024 * 1024),
        MAX_DECODED_BYTES / (1024 * 1024)
    ))
}

/// A decoder past the header, once the declared size is known to fit the limits.
fn open(bytes: &[u8]) -> Result<impl ImageDecoder + '_, PictureError> {
    let bad = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => too_large(),
        e => PictureError::Decode(e.to_string()),
    };
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| PictureError::Decode(e.to_string()))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(bad)?;
    let (width, height) = decoder.dimensions();
    if width > MAX_SIDE
        || height > MAX_SIDE
        || u64::from(width) * u64::from(height) > MAX_PIXELS
        || decoder.total_bytes() > MAX_DECODED_BYTES
    {
        return Err(too_large());
    }
    Ok(decoder)
}

fn decode(bytes: &[u8]) -> Result<DynamicImage, PictureError> {
    let bad = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => too_large(),
        e => PictureError::Decode(e.to_string()),
    };
    let mut decoder = open(bytes)?;
    let orientation = decoder.orientation().map_err(bad)?;
    let mut picture = DynamicImage::from_decoder(decoder).map_err(bad)?;
    picture.apply_orientation(orientation);
    Ok(picture)
}

/// Baseline JPEG; alpha is composed onto white (JPEG has none, and a transparent
/// logo on black looks broken).
fn encode(picture: &DynamicImage) -> Result<Picture, PictureError> {
    let rgb = if picture.color().has_alpha() {
        let rgba = picture.to_rgba8();
        RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
            let [r, g, b, a] = rgba.get_pixel(x, y).0;
            let over_white = |c: u8| {
                let (c, a) = (u16::from(c), u16::from(a));
                // c·a + 255·(255 − a), divided by 255 with rounding; at most 255.
                u8::try_from((c * a + 255 * (255 - a) + 127) / 255).unwrap_or(u8::MAX)
            };
            image::Rgb([over_white(r), over_white(g), over_white(b)])
        })
    } else {
        picture.to_rgb8()
    };
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, JPEG_QUALITY)
        .encode_image(&rgb)
        .map_err(|e| PictureError::Encode(e.to_string()))?;
    Ok(Picture {
        jpeg,
        width: rgb.width(),
        height: rgb.height(),
    })
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use image::{ImageFormat, Rgba, RgbaImage};

    fn png(width: u32, height: u32, pixel: [u8; 4]) -> Vec<u8> {
        let picture = DynamicImage::ImageRgba8(RgbaImage::from_pixel(width, height, Rgba(pixel)));
        let mut out = Cursor::new(Vec::new());
        picture.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn decoded(picture: &Picture) -> DynamicImage {
        image::load_from_memory_with_format(&picture.jpeg, ImageFormat::Jpeg).unwrap()
    }

    #[test]
    fn thumbnails_keep_proportions_and_never_enlarge() {
        let wide = thumbnail(&png(1200, 600, [10, 120, 200, 255])).unwrap();
        assert_eq!((wide.width, wide.height), (480, 240));
        assert_eq!(decoded(&wide).width(), 480);
        let small = thumbnail(&png(100, 40, [10, 120, 200, 255])).unwrap();
        assert_eq!((small.width, small.height), (100, 40));
    }

    #[test]
    fn avatars_are_square_and_transparency_turns_white() {
        let avatar = avatar(&png(300, 900, [0, 0, 0, 0])).unwrap();
        assert_eq!((avatar.width, avatar.height), (AVATAR_SIZE, AVATAR_SIZE));
        let pixel = decoded(&avatar).to_rgb8().get_pixel(128, 128).0;
        assert!(pixel.iter().all(|&c| c > 245), "{pixel:?}");
    }

    #[test]
    fn garbage_and_huge_canvases_are_refused() {
        assert!(matches!(
            thumbnail(b"\x89PNG\r\n\x1a\nnot really"),
            Err(PictureError::Decode(_))
        ));
        // A well-formed PNG header (checksum fixed) declaring 20000 x 20000 pixels.
        let mut huge = png(1, 1, [0, 0, 0, 255]);
        huge[16..20].copy_from_slice(&20_000u32.to_be_bytes());
        huge[20..24].copy_from_slice(&20_000u32.to_be_bytes());
        let crc = crc32(&huge[12..29]).to_be_bytes();
        huge[29..33].copy_from_slice(&crc);
        assert!(matches!(thumbnail(&huge), Err(PictureError::TooLarge(_))));
        assert!(matches!(dimensions(&huge), Err(PictureError::TooLarge(_))));
        // Within the side limit, over the pixel count.
        let many = declared_png(8200, 8200);
        assert!(matches!(dimensions(&many), Err(PictureError::TooLarge(_))));
        assert!(matches!(avatar(&many), Err(PictureError::TooLarge(_))));
        assert_eq!(dimensions(&declared_png(8000, 6000)).unwrap(), (8000, 6000));
    }

    /// A 1 x 1 RGBA PNG whose header (checksum fixed) says `width` x `height`.
    pub fn declared_png(width: u32, height: u32) -> Vec<u8> {
        let mut png = png(1, 1, [0, 0, 0, 255]);
        png[16..20].copy_from_slice(&width.to_be_bytes());
        png[20..24].copy_from_slice(&height.to_be_bytes());
        let crc = crc32(&png[12..29]).to_be_bytes();
        png[29..33].copy_from_slice(&crc);
        png
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = flate2::Crc::new();
        crc.update(bytes);
        crc.sum()
    }
}
