//! Discord's payload limits, reported in Discord's "Invalid Form Body" error shape.

use serde_json::{json, Map, Value};

pub const CONTENT_MAX: usize = 2000;
pub const EMBEDS_MAX: usize = 10;
pub const EMBED_TITLE_MAX: usize = 256;
pub const EMBED_DESCRIPTION_MAX: usize = 4096;
pub const EMBED_FIELDS_MAX: usize = 25;
pub const EMBED_FIELD_NAME_MAX: usize = 256;
pub const EMBED_FIELD_VALUE_MAX: usize = 1024;
pub const EMBED_FOOTER_MAX: usize = 2048;
pub const EMBED_AUTHOR_NAME_MAX: usize = 256;
pub const EMBEDS_TOTAL_MAX: usize = 6000;
pub const ACTION_ROWS_MAX: usize = 5;
pub const ROW_COMPONENTS_MAX: usize = 5;
pub const CUSTOM_ID_MAX: usize = 100;
pub const BUTTON_LABEL_MAX: usize = 80;
pub const AUTOCOMPLETE_CHOICES_MAX: usize = 25;
pub const CHOICE_NAME_MAX: usize = 100;
pub const CHOICE_VALUE_MAX: usize = 100;

/// The per-field errors of one request, nested by JSON path as Discord nests them.
#[derive(Debug, Default)]
pub struct FormErrors {
    errors: Vec<(Vec<String>, &'static str, String)>,
}

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn single(path: Vec<String>, code: &'static str, message: &str) -> Self {
        let mut errors = Self::default();
        errors.push(path, code, message.to_owned());
        errors
    }

    fn push(&mut self, path: Vec<String>, code: &'static str, message: String) {
        self.errors.push((path, code, message));
    }

    pub fn push_bad_length(&mut self, path: Vec<String>, min: usize, max: usize) {
        self.push(
            path,
            "BASE_TYPE_BAD_LENGTH",
            format!("Must be between {min} and {max} in length."),
        );
    }

    fn max_length(&mut self, path: Vec<String>, max: usize) {
        self.push(
            path,
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {max} or fewer in length."),
        );
    }

    /// `{"code":50035,"message":"Invalid Form Body","errors":{...}}`
    pub fn to_body(&self) -> Value {
        let mut root = Map::new();
        for (path, code, message) in &self.errors {
            insert_error(&mut root, path, json!({ "code": code, "message": message }));
        }
        json!({ "code": 50035, "message": "Invalid Form Body", "errors": root })
    }
}

/// Puts `error` into the `_errors` list at `path`, creating the nested objects on the way.
fn insert_error(node: &mut Map<String, Value>, path: &[String], error: Value) {
    match path.split_first() {
        None => {
            let list = node
                .entry("_errors")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = list {
                list.push(error);
            }
        }
        Some((segment, rest)) => {
            let child = node
                .entry(segment.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(child) = child {
                insert_error(child, rest, error);
            }
        }
    }
}

fn path(prefix: &[String], rest: &[&str]) -> Vec<String> {
    prefix
        .iter()
        .cloned()
        .chain(rest.iter().map(|s| (*s).to_owned()))
        .collect()
}

fn chars(value: Option<&Value>) -> usize {
    value
        .and_then(Value::as_str)
        .map_or(0, |s| s.chars().count())
}

fn check_len(
    errors: &mut FormErrors,
    object: &Value,
    key: &str,
    max: usize,
    prefix: &[String],
    rest: &[&str],
) -> usize {
    let len = chars(object.get(key));
    if len > max {
        let mut rest = rest.to_vec();
        rest.push(key);
        errors.max_length(path(prefix, &rest), max);
    }
    len
}

/// Checks a message payload (channel message, callback data, follow-up or edit).
pub fn check_message(body: &Value, prefix: &[String], errors: &mut FormErrors) {
    check_len(errors, body, "content", CONTENT_MAX, prefix, &[]);
    if let Some(embeds) = body.get("embeds").and_then(Value::as_array) {
        check_embeds(embeds, prefix, errors);
    }
    if let Some(rows) = body.get("components").and_then(Value::as_array) {
        check_components(rows, prefix, errors);
    }
}

fn check_embeds(embeds: &[Value], prefix: &[String], errors: &mut FormErrors) {
    if embeds.len() > EMBEDS_MAX {
        errors.max_length(path(prefix, &["embeds"]), EMBEDS_MAX);
    }
    let mut total = 0;
    for (i, embed) in embeds.iter().enumerate() {
        let index = i.to_string();
        let at = ["embeds", index.as_str()];
        total += check_len(errors, embed, "title", EMBED_TITLE_MAX, prefix, &at);
        total += check_len(
            errors,
            embed,
            "description",
            EMBED_DESCRIPTION_MAX,
            prefix,
            &at,
        );
        if let Some(footer) = embed.get("footer") {
            let at = ["embeds", index.as_str(), "footer"];
            total += check_len(errors, footer, "text", EMBED_FOOTER_MAX, prefix, &at);
        }
        if let Some(author) = embed.get("author") {
            let at = ["embeds", index.as_str(), "author"];
            total += check_len(errors, author, "name", EMBED_AUTHOR_NAME_MAX, prefix, &at);
        }
        let fields = embed
            .get("fields")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        if fields.len() > EMBED_FIELDS_MAX {
            errors.max_length(
                path(prefix, &["embeds", &index, "fields"]),
                EMBED_FIELDS_MAX,
            );
        }
        for (j, field) in fields.iter().enumerate() {
            let field_index = j.to_string();
            let at = ["embeds", index.as_str(), "fields", field_index.as_str()];
            let name = check_len(errors, field, "name", EMBED_FIELD_NAME_MAX, prefix, &at);
            let value = check_len(errors, field, "value", EMBED_FIELD_VALUE_MAX, prefix, &at);
            for (key, len) in [("name", name), ("value", value)] {
                if len == 0 {
                    errors.push(
                        path(prefix, &[&at[..], &[key]].concat()),
                        "BASE_TYPE_REQUIRED",
                        "This field is required".to_owned(),
                    );
                }
            }
            total += name + value;
        }
    }
    if total > EMBEDS_TOTAL_MAX {
        errors.push(
            path(prefix, &["embeds"]),
            "MAX_EMBED_SIZE_EXCEEDED",
            format!("Embed size exceeds maximum size of {EMBEDS_TOTAL_MAX}"),
        );
    }
}

fn check_components(rows: &[Value], prefix: &[String], errors: &mut FormErrors) {
    if rows.len() > ACTION_ROWS_MAX {
        errors.max_length(path(prefix, &["components"]), ACTION_ROWS_MAX);
    }
    for (i, row) in rows.iter().enumerate() {
        let index = i.to_string();
        let children = row
            .get("components")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        if children.len() > ROW_COMPONENTS_MAX {
            errors.max_length(
                path(prefix, &["components", &index, "components"]),
                ROW_COMPONENTS_MAX,
            );
        }
        for (j, component) in children.iter().enumerate() {
            let child_index = j.to_string();
            let at = [
                "components",
                index.as_str(),
                "components",
                child_index.as_str(),
            ];
            check_len(errors, component, "custom_id", CUSTOM_ID_MAX, prefix, &at);
            check_len(errors, component, "label", BUTTON_LABEL_MAX, prefix, &at);
        }
    }
}

/// Checks the `data` of an autocomplete result (callback type 8).
pub fn check_autocomplete(data: &Value, prefix: &[String], errors: &mut FormErrors) {
    let choices = data
        .get("choices")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    if choices.len() > AUTOCOMPLETE_CHOICES_MAX {
        errors.max_length(path(prefix, &["choices"]), AUTOCOMPLETE_CHOICES_MAX);
    }
    for (i, choice) in choices.iter().enumerate() {
        let index = i.to_string();
        let at = ["choices", index.as_str()];
        let name = check_len(errors, choice, "name", CHOICE_NAME_MAX, prefix, &at);
        if name == 0 {
            errors.push(
                path(prefix, &["choices", &index, "name"]),
                "BASE_TYPE_BAD_LENGTH",
                format!("Must be between 1 and {CHOICE_NAME_MAX} in length."),
            );
        }
        check_len(errors, choice, "value", CHOICE_VALUE_MAX, prefix, &at);
    }
}

/// Whether a message payload would create a message with nothing in it (Discord's 50006).
pub fn is_empty_message(body: &Value) -> bool {
    let non_empty = |key: &str| match body.get(key) {
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        _ => false,
    };
    ![
        "content",
        "embeds",
        "components",
        "sticker_ids",
        "attachments",
        "poll",
    ]
    .iter()
    .any(|key| non_empty(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nests_errors_by_path() {
        let mut errors = FormErrors::default();
        let body = json!({"embeds":[{"title":"x".repeat(257)}]});
        check_message(&body, &[], &mut errors);
        assert_eq!(
            errors.to_body()["errors"]["embeds"]["0"]["title"]["_errors"][0]["code"],
            "BASE_TYPE_MAX_LENGTH"
        );
    }

    #[test]
    fn counts_characters_not_bytes() {
        let mut errors = FormErrors::default();
        check_message(&json!({"content": "é".repeat(2000)}), &[], &mut errors);
        assert!(errors.is_empty());
    }

    #[test]
    fn total_embed_size_is_limited() {
        let embed = json!({"description": "d".repeat(4000)});
        let mut errors = FormErrors::default();
        check_message(&json!({"embeds":[embed.clone(), embed]}), &[], &mut errors);
        assert_eq!(
            errors.to_body()["errors"]["embeds"]["_errors"][0]["code"],
            "MAX_EMBED_SIZE_EXCEEDED"
        );
    }

    #[test]
    fn autocomplete_choices_are_limited() {
        let choices: Vec<Value> = (0..26)
            .map(|i| json!({"name": i.to_string(), "value": "v"}))
            .collect();
        let mut errors = FormErrors::default();
        check_autocomplete(
            &json!({"choices": choices}),
            &["data".to_owned()],
            &mut errors,
        );
        assert!(errors.to_body()["errors"]["data"]["choices"]["_errors"].is_array());
    }
}
