//! Safe image primitives shared by the server (quality hints at upload) and
//! the console (previews): format sniffing from content, decoding under hard
//! limits, and EXIF orientation.
//!
//! Everything that turns untrusted bytes into pixels goes through
//! [`decode_limited`], so a 200 KB file that declares 30000×30000 pixels is
//! refused before anything is allocated.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// The formats candidates may upload (judged by content, never by name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Jpeg,
    Png,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
        }
    }

    /// The inverse of [`Format::as_str`].
    pub fn from_code(code: &str) -> Option<Format> {
        match code {
            "jpeg" => Some(Format::Jpeg),
            "png" => Some(Format::Png),
            _ => None,
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Format::Jpeg => ImageFormat::Jpeg,
            Format::Png => ImageFormat::Png,
        }
    }
}

/// What the first bytes say the content is. Only JPEG and PNG are accepted;
/// the other names are kept so that an error can say what was sent instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Accepted(Format),
    Gif,
    Pdf,
    Webp,
    Bmp,
    Tiff,
    Unknown,
}

impl Sniffed {
    pub fn describe(self) -> &'static str {
        match self {
            Sniffed::Accepted(f) => f.as_str(),
            Sniffed::Gif => "gif",
            Sniffed::Pdf => "pdf",
            Sniffed::Webp => "webp",
            Sniffed::Bmp => "bmp",
            Sniffed::Tiff => "tiff",
            Sniffed::Unknown => "unknown",
        }
    }
}

/// Judge the format by magic bytes.
pub fn sniff(bytes: &[u8]) -> Sniffed {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Sniffed::Accepted(Format::Jpeg),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Sniffed::Accepted(Format::Png),
        [b'G', b'I', b'F', b'8', ..] => Sniffed::Gif,
        [b'%', b'P', b'D', b'F', ..] => Sniffed::Pdf,
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Sniffed::Webp,
        [b'B', b'M', ..] => Sniffed::Bmp,
        [b'I', b'I', 0x2A, 0x00, ..] | [b'M', b'M', 0x00, 0x2A, ..] => Sniffed::Tiff,
        _ => Sniffed::Unknown,
    }
}

/// Hard limits for decoding untrusted images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    pub max_width: u32,
    pub max_height: u32,
    /// Bytes the decoder may allocate, output buffer included.
    pub max_alloc: u64,
}

impl DecodeLimits {
    /// Generous for a document scan (a 200 KB JPEG is rarely above 4000 px a
    /// side), strict enough that a bomb is refused: 12000 px a side and
    /// 192 MiB of decoder memory.
    pub const DEFAULT: DecodeLimits = DecodeLimits {
        max_width: 12_000,
        max_height: 12_000,
        max_alloc: 192 * 1024 * 1024,
    };

    fn to_image_limits(self) -> Limits {
        let mut limits = Limits::default();
        limits.max_image_width = Some(self.max_width);
        limits.max_image_height = Some(self.max_height);
        limits.max_alloc = Some(self.max_alloc);
        limits
    }
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits::DEFAULT
    }
}

/// EXIF orientation, as its number 1..=8 (1 = upright).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ExifOrientation(pub u8);

impl ExifOrientation {
    pub const UPRIGHT: ExifOrientation = ExifOrientation(1);

    pub fn is_upright(self) -> bool {
        self.0 == 1
    }

    fn from_image(o: image::metadata::Orientation) -> Self {
        use image::metadata::Orientation as O;
        ExifOrientation(match o {
            O::NoTransforms => 1,
            O::FlipHorizontal => 2,
            O::Rotate180 => 3,
            O::FlipVertical => 4,
            O::Rotate90FlipH => 5,
            O::Rotate90 => 6,
            O::Rotate270FlipH => 7,
            O::Rotate270 => 8,
        })
    }

    fn to_image(self) -> image::metadata::Orientation {
        image::metadata::Orientation::from_exif(self.0)
            .unwrap_or(image::metadata::Orientation::NoTransforms)
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    #[error("not a JPEG or PNG image (content looks like {0})")]
    UnsupportedFormat(&'static str),
    #[error("image dimensions {width}×{height} exceed the limit")]
    TooLarge { width: u32, height: u32 },
    #[error("image needs more memory to decode than allowed")]
    MemoryLimit,
    #[error("image is corrupt or truncated: {0}")]
    Corrupt(String),
}

/// Header facts, read without decoding pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    pub orientation: ExifOrientation,
}

/// A decoded image with its EXIF orientation already applied.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub probe: Probe,
    /// Upright pixels (orientation applied).
    pub image: DynamicImage,
}

fn decoder_for(
    bytes: &[u8],
    limits: DecodeLimits,
) -> Result<(Format, impl ImageDecoder + '_), DecodeError> {
    let format = match sniff(bytes) {
        Sniffed::Accepted(f) => f,
        other => return Err(DecodeError::UnsupportedFormat(other.describe())),
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    reader.limits(limits.to_image_limits());
    let decoder = reader.into_decoder().map_err(|e| map_err(e, limits))?;
    Ok((format, decoder))
}

fn map_err(e: image::ImageError, limits: DecodeLimits) -> DecodeError {
    match e {
        image::ImageError::Limits(l) => match l.kind() {
            image::error::LimitErrorKind::DimensionError => DecodeError::TooLarge {
                width: limits.max_width,
                height: limits.max_height,
            },
            _ => DecodeError::MemoryLimit,
        },
        image::ImageError::Unsupported(u) => DecodeError::Corrupt(one_line(&u.to_string())),
        other => DecodeError::Corrupt(one_line(&other.to_string())),
    }
}

/// Decoder messages end up in the console's caption and the server's
/// problem details; they end in newlines and may quote bytes of the file.
fn one_line(msg: &str) -> String {
    super::text::clean(msg.trim())
}

/// Read format, dimensions and orientation from the header only.
pub fn probe(bytes: &[u8], limits: DecodeLimits) -> Result<Probe, DecodeError> {
    let (format, mut decoder) = decoder_for(bytes, limits)?;
    let (width, height) = decoder.dimensions();
    check_dims(width, height, limits)?;
    let orientation = decoder
        .orientation()
        .map(ExifOrientation::from_image)
        .unwrap_or(ExifOrientation::UPRIGHT);
    Ok(Probe {
        format,
        width,
        height,
        orientation,
    })
}

fn check_dims(width: u32, height: u32, limits: DecodeLimits) -> Result<(), DecodeError> {
    if width == 0 || height == 0 {
        return Err(DecodeError::Corrupt("zero-sized image".into()));
    }
    if width > limits.max_width || height > limits.max_height {
        return Err(DecodeError::TooLarge { width, height });
    }
    // The decoder's own allocation limit is advisory for some codecs; check
    // the output buffer ourselves (4 channels × 16 bit worst case).
    let need = u64::from(width) * u64::from(height) * 8;
    if need > limits.max_alloc {
        return Err(DecodeError::MemoryLimit);
    }
    Ok(())
}

/// Decode untrusted bytes under `limits`, then apply the EXIF orientation so
/// the pixels are upright.
pub fn decode_limited(bytes: &[u8], limits: DecodeLimits) -> Result<Decoded, DecodeError> {
    let (format, mut decoder) = decoder_for(bytes, limits)?;
    let (width, height) = decoder.dimensions();
    check_dims(width, height, limits)?;
    // The JPEG decoder pads a truncated scan with gray instead of failing;
    // a file cut off mid-transfer must be an error, not a gray picture.
    if format == Format::Jpeg && !jpeg_is_complete(bytes) {
        return Err(DecodeError::Corrupt(
            "truncated JPEG (no end-of-image marker)".into(),
        ));
    }
    let orientation = decoder
        .orientation()
        .map(ExifOrientation::from_image)
        .unwrap_or(ExifOrientation::UPRIGHT);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| map_err(e, limits))?;
    image.apply_orientation(orientation.to_image());
    Ok(Decoded {
        probe: Probe {
            format,
            width,
            height,
            orientation,
        },
        image,
    })
}

/// Walk the JPEG marker segments and entropy-coded scans to the EOI marker.
/// A plain search for `FF D9` is not enough: an EXIF thumbnail carries its
/// own EOI inside APP1, so a truncated camera photo would still contain one.
pub fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut i = 2; // past SOI
    loop {
        // A marker: one or more 0xFF fill bytes, then the code.
        if bytes.get(i) != Some(&0xFF) {
            return false;
        }
        while bytes.get(i) == Some(&0xFF) {
            i += 1;
        }
        let Some(&code) = bytes.get(i) else {
            return false;
        };
        i += 1;
        match code {
            0xD9 => return true,
            // Stand-alone markers: no length.
            0x01 | 0xD0..=0xD8 => continue,
            _ => {}
        }
        let Some(len) = bytes.get(i..i + 2) else {
            return false;
        };
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        if len < 2 {
            return false;
        }
        i += len;
        if code == 0xDA {
            // Entropy-coded data runs to the next marker other than a
            // stuffed 0xFF00 or a restart marker.
            loop {
                let Some(off) = bytes
                    .get(i..)
                    .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
                else {
                    return false;
                };
                i += off;
                match bytes.get(i + 1) {
                    None => return false,
                    // A run of fill bytes: look again from the last one.
                    Some(0xFF) => i += 1,
                    Some(0x00 | 0xD0..=0xD7) => i += 2,
                    Some(_) => break,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb};

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img: ImageBuffer<Rgb<u8>, Vec<u8>> =
            ImageBuffer::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .expect("encode png");
        out
    }

    #[test]
    fn sniffs_by_content_not_name() {
        assert_eq!(sniff(&png(2, 2)), Sniffed::Accepted(Format::Png));
        assert_eq!(sniff(b"GIF89a...."), Sniffed::Gif);
        assert_eq!(sniff(b"%PDF-1.7"), Sniffed::Pdf);
        assert_eq!(sniff(b""), Sniffed::Unknown);
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Sniffed::Accepted(Format::Jpeg)
        );
    }

    #[test]
    fn decodes_small_png() {
        let d = decode_limited(&png(40, 30), DecodeLimits::DEFAULT).expect("decode");
        assert_eq!((d.probe.width, d.probe.height), (40, 30));
        assert_eq!((d.image.width(), d.image.height()), (40, 30));
        assert!(d.probe.orientation.is_upright());
    }

    #[test]
    fn refuses_dimensions_over_limit_before_decoding() {
        let limits = DecodeLimits {
            max_width: 30,
            max_height: 30,
            max_alloc: 1 << 20,
        };
        let err = decode_limited(&png(40, 10), limits).expect_err("too wide");
        assert!(matches!(err, DecodeError::TooLarge { .. }), "{err:?}");
    }

    #[test]
    fn refuses_gif_and_garbage() {
        assert_eq!(
            decode_limited(b"GIF89a\x01\x00\x01\x00", DecodeLimits::DEFAULT).err(),
            Some(DecodeError::UnsupportedFormat("gif"))
        );
        let mut truncated = png(50, 50);
        truncated.truncate(60);
        assert!(matches!(
            decode_limited(&truncated, DecodeLimits::DEFAULT),
            Err(DecodeError::Corrupt(_))
        ));
    }

    /// Found by the upload fuzz property: the JPEG decoder's message ended
    /// in a raw newline, which the console drew into the preview caption.
    #[test]
    fn decode_errors_are_one_clean_line() {
        for bytes in [&[0xFF, 0xD8, 0xFF][..], b"\xff\xd8\xff\x1b]52;c;eA==\x07"] {
            let err = decode_limited(bytes, DecodeLimits::DEFAULT).expect_err("not an image");
            let msg = err.to_string();
            assert!(!msg.chars().any(char::is_control), "{msg:?}");
        }
    }
}
