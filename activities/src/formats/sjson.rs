//! SJSON, the transcript format edx-val serves: `{"start": [ms…], "end": [ms…], "text": […]}`.

use serde_json::Value;

use super::FormatError;

/// A transcript as three parallel arrays: cue start and end in milliseconds, and cue text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sjson {
    pub start: Vec<i64>,
    pub end: Vec<i64>,
    pub text: Vec<String>,
}

impl Sjson {
    pub fn cue_count(&self) -> usize {
        self.text.len()
    }

    /// Serialized exactly as edx-platform's `json.dumps(generate_sjson_from_srt(...))`:
    /// keys in the order start, end, text, separators `", "` and `": "`, non-ASCII escaped.
    /// Files converted here are therefore byte-identical to the ones edx-platform writes.
    pub fn to_python_json(&self) -> String {
        let mut out = String::with_capacity(32 + self.text.iter().map(|t| t.len() + 4).sum::<usize>() * 2);
        out.push_str("{\"start\": ");
        push_numbers(&mut out, &self.start);
        out.push_str(", \"end\": ");
        push_numbers(&mut out, &self.end);
        out.push_str(", \"text\": [");
        for (i, text) in self.text.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            push_ascii_string(&mut out, text);
        }
        out.push_str("]}");
        out
    }
}

fn push_numbers(out: &mut String, numbers: &[i64]) {
    out.push('[');
    for (i, n) in numbers.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&n.to_string());
    }
    out.push(']');
}

/// Python's `json.dumps` string encoding with `ensure_ascii=True`.
fn push_ascii_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// Checks that an SJSON asset is what edx-val can serve. The asset itself is migrated byte for
/// byte, as edx-platform takes it; this only refuses what would break the player.
pub fn validate(text: &str) -> Result<usize, FormatError> {
    let bad = |detail: String| Err(FormatError::UnparsableSjson { detail });
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(error) => return bad(error.to_string()),
    };
    let Some(object) = value.as_object() else {
        return bad("not a JSON object".into());
    };
    let array = |key: &str| object.get(key).and_then(Value::as_array);
    let (Some(start), Some(end), Some(text)) = (array("start"), array("end"), array("text")) else {
        return bad("missing one of the arrays \"start\", \"end\", \"text\"".into());
    };
    if start.len() != end.len() || start.len() != text.len() {
        return bad(format!("arrays of different lengths: start {}, end {}, text {}", start.len(), end.len(), text.len()));
    }
    if let Some(i) = start.iter().chain(end).position(|v| !v.is_number()) {
        return bad(format!("time #{} is not a number", i % start.len().max(1)));
    }
    if let Some(i) = text.iter().position(|v| !v.is_string()) {
        return bad(format!("text #{i} is not a string"));
    }
    Ok(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_like_python_json_dumps() {
        let sjson = Sjson {
            start: vec![0, 1500],
            end: vec![1200, 3000],
            text: vec!["Hello \"world\"\\".into(), "caf\u{e9} \u{4f60}\u{597d} \u{1f600}\t".into()],
        };
        // json.dumps({"start": [0, 1500], "end": [1200, 3000], "text": [...]}) in CPython 3.11
        assert_eq!(
            sjson.to_python_json(),
            r#"{"start": [0, 1500], "end": [1200, 3000], "text": ["Hello \"world\"\\", "caf\u00e9 \u4f60\u597d \ud83d\ude00\t"]}"#
        );
        assert_eq!(Sjson::default().to_python_json(), r#"{"start": [], "end": [], "text": []}"#);
    }

    #[test]
    fn python_output_is_valid_json_with_the_same_content() {
        let sjson = Sjson { start: vec![5], end: vec![6], text: vec!["\u{7f}\u{1}ü".into()] };
        let value: Value = serde_json::from_str(&sjson.to_python_json()).unwrap();
        assert_eq!(value["text"][0], "\u{7f}\u{1}ü");
    }

    #[test]
    fn validation_accepts_real_sjson_and_names_what_is_wrong() {
        assert_eq!(validate(r#"{"start": [1], "end": [2], "text": ["a"]}"#), Ok(1));
        assert_eq!(validate("{\n  \"start\": [],\n  \"end\": [],\n  \"text\": []\n}"), Ok(0));
        for (input, needle) in [
            ("[1, 2]", "not a JSON object"),
            (r#"{"start": [1], "end": [2]}"#, "missing one of"),
            (r#"{"start": [1], "end": [2, 3], "text": ["a"]}"#, "different lengths"),
            (r#"{"start": ["x"], "end": [2], "text": ["a"]}"#, "not a number"),
            (r#"{"start": [1], "end": [2], "text": [3]}"#, "not a string"),
            ("{\"start\": [1", "EOF"),
        ] {
            match validate(input) {
                Err(FormatError::UnparsableSjson { detail }) => {
                    assert!(detail.contains(needle), "{input}: {detail}")
                }
                other => panic!("{input}: {other:?}"),
            }
        }
    }
}
