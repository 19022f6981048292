//! The pictures behind the simulator's icon URLs: small PNGs generated from the path (the same
//! path, the same picture), served under `/_sim/icons/{image host}/{path}`. JSON answers name
//! them with the address the request came to (see [`local_icon_urls`]), so a bot pointed at the
//! simulator fetches its cards' pictures from it.

/// The image hosts whose URLs the simulator's world uses.
pub const IMAGE_HOSTS: [&str; 2] = [
    "image.api.playstation.com",
    "psnobj.prod.dl.playstation.net",
];
/// The path prefix icons are served under.
pub const ICON_PATH: &str = "/_sim/icons/";
const SIDE: u32 = 64;

/// `body` with every icon URL of the world's image hosts pointing at `host` (the simulator's
/// address as the client used it).
pub fn local_icon_urls(body: &str, host: &str) -> String {
    IMAGE_HOSTS
        .iter()
        .fold(body.to_string(), |body, image_host| {
            body.replace(
                &format!("https://{image_host}/"),
                &format!("http://{host}{ICON_PATH}{image_host}/"),
            )
        })
}

fn hash(text: &str) -> u64 {
    // FNV-1a: stable across runs and platforms.
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A 64×64 PNG for `path`: two colours from its hash, split on a diagonal.
pub fn icon_png(path: &str) -> Vec<u8> {
    let h = hash(path);
    let first = [(h >> 16) as u8, (h >> 8) as u8, h as u8];
    let second = [(h >> 40) as u8, (h >> 32) as u8, (h >> 24) as u8];
    let mut raw = Vec::with_capacity(((SIDE * 3 + 1) * SIDE) as usize);
    for y in 0..SIDE {
        raw.push(0); // filter: none
        for x in 0..SIDE {
            raw.extend_from_slice(if x + y < SIDE { &first } else { &second });
        }
    }
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&SIDE.to_be_bytes());
    ihdr.extend_from_slice(&SIDE.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&png[start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of uncompressed deflate blocks: valid, and all a tiny picture needs.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icon_urls_point_at_the_simulator() {
        let body = r#"{"a":"https://image.api.playstation.com/trophy/np/x.PNG","b":"https://psnobj.prod.dl.playstation.net/psnobj/y.png","c":"https://other.example/z.png"}"#;
        let local = local_icon_urls(body, "127.0.0.1:4000");
        assert!(local.contains(
            r#""a":"http://127.0.0.1:4000/_sim/icons/image.api.playstation.com/trophy/np/x.PNG""#
        ));
        assert!(local.contains(
            r#""b":"http://127.0.0.1:4000/_sim/icons/psnobj.prod.dl.playstation.net/psnobj/y.png""#
        ));
        assert!(local.contains("https://other.example/z.png"));
    }

    #[test]
    fn icons_are_pngs_that_differ_by_path() {
        let png = icon_png("a.png");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(crc32(b"IEND"), 0xae42_6082);
        assert_ne!(icon_png("a.png"), icon_png("b.png"));
        assert_eq!(icon_png("a.png"), png);
    }
}
