//! Files sent with a message: `multipart/form-data` with a `payload_json` part and `files[n]`
//! parts, as Discord takes them, and Discord's rules on them (the default 10 MiB upload limit,
//! every `attachment://name` an embed shows is among the files, Attach Files in the channel).

use serde_json::Value;

/// Discord's default upload limit for one message, all files together.
pub const UPLOAD_LIMIT: usize = 10 * 1024 * 1024;

/// One file a message carried; its bytes are kept so tests can check what they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadedFile {
    /// The form field, e.g. `files[0]`.
    pub field: String,
    pub filename: String,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// The multipart boundary of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|param| {
        let (name, value) = param.trim().split_once('=')?;
        name.eq_ignore_ascii_case("boundary")
            .then(|| value.trim_matches('"').to_string())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|at| at + from)
}

/// `Content-Disposition: form-data; name="files[0]"; filename="card.png"` → (name, filename).
fn disposition(value: &str) -> (Option<String>, Option<String>) {
    let mut name = None;
    let mut filename = None;
    for param in value.split(';').skip(1) {
        if let Some((key, val)) = param.trim().split_once('=') {
            let val = val.trim().trim_matches('"').to_string();
            match key.trim() {
                "name" => name = Some(val),
                "filename" => filename = Some(val),
                _ => {}
            }
        }
    }
    (name, filename)
}

/// The JSON payload and the files of a multipart body; `None` when it is not well formed.
pub fn parse(body: &[u8], boundary: &str) -> Option<(Option<Value>, Vec<UploadedFile>)> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut payload = None;
    let mut files = Vec::new();
    let mut at = find(body, &delimiter, 0)? + delimiter.len();
    loop {
        if body.get(at..at + 2) == Some(b"--") {
            return Some((payload, files));
        }
        // Past the delimiter's line break, the part's headers, a blank line, its content.
        at = find(body, b"\r\n", at)? + 2;
        let headers_end = find(body, b"\r\n\r\n", at)?;
        let headers = std::str::from_utf8(&body[at..headers_end]).ok()?;
        let content_start = headers_end + 4;
        let next = find(body, &delimiter, content_start)?;
        let content = body.get(content_start..next.checked_sub(2)?)?;
        let (mut name, mut filename, mut content_type) = (None, None, None);
        for line in headers.split("\r\n") {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            match key.trim().to_ascii_lowercase().as_str() {
                "content-disposition" => (name, filename) = disposition(value),
                "content-type" => content_type = Some(value.trim().to_string()),
                _ => {}
            }
        }
        match (name?.as_str(), filename) {
            ("payload_json", _) => payload = Some(serde_json::from_slice(content).ok()?),
            (field, Some(filename)) => files.push(UploadedFile {
                field: field.to_string(),
                filename,
                content_type,
                bytes: content.to_vec(),
            }),
            // Other form fields carry nothing the fake uses.
            _ => {}
        }
        at = next + delimiter.len();
    }
}

/// Every `attachment://name` the payload's embeds show (image, thumbnail, author and footer
/// icons).
pub fn referenced(body: &Value) -> Vec<String> {
    let Some(embeds) = body.get("embeds").and_then(Value::as_array) else {
        return Vec::new();
    };
    let urls = embeds.iter().flat_map(|embed| {
        [
            &embed["image"]["url"],
            &embed["thumbnail"]["url"],
            &embed["author"]["icon_url"],
            &embed["footer"]["icon_url"],
        ]
        .into_iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
    });
    urls.filter_map(|url| url.strip_prefix("attachment://"))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_payload_and_files() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"payload_json\"\r\nContent-Type: application/json\r\n\r\n{\"content\":\"hi\"}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"card.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\nabc\r\n--XyZ--\r\n";
        let content_type = "multipart/form-data; boundary=XyZ";
        let (payload, files) =
            parse(body, &boundary(content_type).expect("a boundary")).expect("parses");
        assert_eq!(payload, Some(serde_json::json!({"content": "hi"})));
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].field, "files[0]");
        assert_eq!(files[0].filename, "card.png");
        assert_eq!(files[0].content_type.as_deref(), Some("image/png"));
        assert_eq!(files[0].bytes, b"\x89PNG\r\n\x1a\nabc");
        assert!(parse(b"garbage", "XyZ").is_none());
    }

    #[test]
    fn finds_attachment_references() {
        let body = serde_json::json!({"embeds": [
            {"image": {"url": "attachment://card.png"}, "thumbnail": {"url": "https://x/y.png"}},
            {"footer": {"text": "t", "icon_url": "attachment://icon.png"}}
        ]});
        assert_eq!(referenced(&body), ["card.png", "icon.png"]);
    }
}
