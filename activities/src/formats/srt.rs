//! SRT → SJSON, as edx-platform converts it: pysrt in strict mode (`ERROR_RAISE`), then
//! `generate_sjson_from_srt`. The rules below follow pysrt's parser line by line, so that a file
//! edx-platform accepts is accepted here with the same cues, and one it rejects is rejected.

use super::FormatError;
use super::sjson::Sjson;

const HOURS: i64 = 3_600_000;
const MINUTES: i64 = 60_000;
const SECONDS: i64 = 1_000;

/// Decodes as UTF-8 with an optional byte order mark (Python's `utf-8-sig`).
pub fn decode_utf8_sig(bytes: &[u8]) -> Result<&str, FormatError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| FormatError::InvalidUtf8 { offset: e.valid_up_to() })
}

pub fn to_sjson(bytes: &[u8]) -> Result<Sjson, FormatError> {
    let text = decode_utf8_sig(bytes)?;
    let mut sjson = Sjson::default();
    // pysrt's SubRipFile.stream: non-blank lines gather into a cue; a blank line (or the end)
    // closes it.
    let mut cue: Vec<&str> = Vec::new();
    let mut cue_line = 0;
    for (number, line) in split_lines(text).chain(std::iter::once("\n")).enumerate() {
        if !py_strip(line).is_empty() {
            if cue.is_empty() {
                cue_line = number + 1;
            }
            cue.push(line);
        } else if !cue.is_empty() {
            let (start, end, text) = parse_cue(&cue).map_err(|reason| FormatError::UnparsableSrt { line: cue_line, reason })?;
            sjson.start.push(start);
            sjson.end.push(end);
            sjson.text.push(text);
            cue.clear();
        }
    }
    Ok(sjson)
}

/// pysrt's SubRipItem.from_lines, then `text.replace('\n', ' ')` from generate_sjson_from_srt.
fn parse_cue(lines: &[&str]) -> Result<(i64, i64, String), String> {
    if lines.len() < 2 {
        return Err(format!("a cue needs a time line and text, found only {:?}", lines[0].trim_end()));
    }
    let mut lines: Vec<&str> = lines.iter().map(|l| py_rstrip(l)).collect();
    if !lines[0].contains("-->") {
        lines.remove(0); // the cue number; pysrt takes whatever stands there
    }
    let timing: Vec<&str> = lines[0].split("-->").collect();
    let [start, end_and_position] = timing[..] else {
        return Err(format!("expected \"START --> END\", found {:?}", lines[0]));
    };
    let end = py_lstrip(end_and_position).split(' ').next().unwrap_or("");
    let text = lines[1..].join(" ");
    Ok((parse_time(py_strip(start))?, parse_time(py_strip(end))?, text))
}

/// pysrt's SubRipTime.from_string: four fields split on `:`, `.` or `,`, each read as an
/// integer with no range check; an empty time is zero (`SubRipTime.coerce(start or 0)`).
fn parse_time(time: &str) -> Result<i64, String> {
    if time.is_empty() {
        return Ok(0);
    }
    let fields: Vec<&str> = time.split([':', '.', ',']).collect();
    let [h, m, s, ms] = fields[..] else {
        return Err(format!("invalid timestamp {time:?}: expected HH:MM:SS,mmm"));
    };
    let out_of_range = || format!("timestamp {time:?} out of range");
    let (h, m, s, ms) = (parse_int(h), parse_int(m), parse_int(s), parse_int(ms));
    let (Some(h), Some(m), Some(s), Some(ms)) = (h, m, s, ms) else {
        return Err(out_of_range());
    };
    h.checked_mul(HOURS)
        .and_then(|t| t.checked_add(m.checked_mul(MINUTES)?))
        .and_then(|t| t.checked_add(s.checked_mul(SECONDS)?))
        .and_then(|t| t.checked_add(ms))
        .ok_or_else(out_of_range)
}

/// pysrt's SubRipTime.parse_int: Python's `int()`, else the leading digits, else 0. `None` only
/// when the number does not fit in 64 bits.
fn parse_int(field: &str) -> Option<i64> {
    let stripped = field.trim();
    let (sign, digits) = match stripped.as_bytes().first() {
        Some(b'-') => (-1, &stripped[1..]),
        Some(b'+') => (1, &stripped[1..]),
        _ => (1, stripped),
    };
    // int() accepts single underscores between digits.
    let valid_int = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__");
    if valid_int {
        return digits.replace('_', "").parse::<i64>().ok().map(|n| sign * n);
    }
    let leading = field.bytes().take_while(u8::is_ascii_digit).count();
    if leading == 0 { Some(0) } else { field[..leading].parse().ok() }
}

/// Python's `str.splitlines(keepends=True)`.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (i, c) = match rest.char_indices().find(|&(_, c)| is_line_break(c)) {
            Some(found) => found,
            None => return Some(std::mem::take(&mut rest)),
        };
        let mut end = i + c.len_utf8();
        if c == '\r' && rest[end..].starts_with('\n') {
            end += 1;
        }
        let (line, tail) = rest.split_at(end);
        rest = tail;
        Some(line)
    })
}

fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{1c}' | '\u{1d}' | '\u{1e}' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Python's `str.isspace()`, which also counts the separators U+001C..U+001F.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(is_py_space)
}

fn py_lstrip(s: &str) -> &str {
    s.trim_start_matches(is_py_space)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(srt: &str) -> Result<Sjson, FormatError> {
        to_sjson(srt.as_bytes())
    }

    fn cues(srt: &str) -> Vec<(i64, i64, String)> {
        let sjson = convert(srt).unwrap();
        (0..sjson.cue_count()).map(|i| (sjson.start[i], sjson.end[i], sjson.text[i].clone())).collect()
    }

    #[test]
    fn plain_cues() {
        let srt = "1\n00:00:00,270 --> 00:00:02,720\nLet's start.\n\n2\n00:00:02,720 --> 00:01:05,000\nSecond line\nwraps here.\n";
        assert_eq!(cues(srt), vec![(270, 2720, "Let's start.".into()), (2720, 65000, "Second line wraps here.".into())]);
    }

    #[test]
    fn bom_crlf_trailing_spaces_and_no_final_newline() {
        let srt = "\u{feff}1\r\n00:00:01,000 --> 00:00:02,500  \r\nBonjour   \r\n  tout le monde\r\n\r\n2\r\n01:00:00,000 --> 01:00:01,000\r\nFin";
        assert_eq!(cues(srt), vec![(1000, 2500, "Bonjour   tout le monde".into()), (3_600_000, 3_601_000, "Fin".into())]);
    }

    #[test]
    fn cjk_text_and_unnumbered_cues() {
        let srt = "00:00:01,000 --> 00:00:02,000\n你好，世界\n\n00:00:02,000 --> 00:00:03,000 X1:10 X2:20\n字幕\n";
        assert_eq!(cues(srt), vec![(1000, 2000, "你好，世界".into()), (2000, 3000, "字幕".into())]);
    }

    /// Cases run through pysrt 1.1.2 and edx-platform's conversion (input → start, end, text).
    #[test]
    fn pysrt_time_quirks() {
        for (srt, start, end, text) in [
            // ",5" is 5 ms, "." separates like ",".
            ("1\n0:0:1,5 --> 0:0:2,50\nx\n", 1005, 2050, "x"),
            ("1\n00:00:01.500 --> 00:00:02.5\nx\n", 1500, 2005, "x"),
            ("1\n00:00:01,5000 --> 00:00:02,0001\nx\n", 6000, 2001, "x"),
            // No range checks, garbage fields read as their leading digits or 0.
            ("1\n123:00:00,000 --> 999:59:59,999\nx\n", 442_800_000, 3_599_999_999, "x"),
            ("1\n00:75:99,000 --> 00:00:02,000\nx\n", 4_599_000, 2000, "x"),
            ("1\naa:bb:cc,dd --> 00:00:02,000\nx\n", 0, 2000, "x"),
            ("1\n00:0x:01,5ab --> 00:00:x1,000\nx\n", 1005, 0, "x"),
            ("1\n00::01,000 --> +00:00:01,1_0\nx\n", 1000, 1010, "x"),
            ("1\n 00 : 00 : 01 , 500 --> 00:00:02,000\nx\n", 1500, 2000, "x"),
            ("1\n00:00:-1,000 --> 00:-01:00,000\nneg\n", -1000, -60000, "neg"),
            // Empty start or end is 0; no spaces are needed around the arrow; coordinates are dropped.
            ("1\n --> 00:00:02,000\nx\n", 0, 2000, "x"),
            ("1\n00:00:01,000 -->\nx\n", 1000, 0, "x"),
            ("00:00:01,000-->00:00:02,000\nx\n", 1000, 2000, "x"),
            ("1\n00:00:01,000 --> 00:00:02,000 X1:40 X2:600\nx\n", 1000, 2000, "x"),
            // The index line is never checked; text keeps leading blanks, tags and arrows.
            ("abc\n00:00:01,000 --> 00:00:02,000\n  lead and trail  \t\n", 1000, 2000, "  lead and trail"),
            ("1\n00:00:01,000 --> 00:00:02,000\na --> b\n", 1000, 2000, "a --> b"),
            // A second BOM is a character of the (ignored) index line.
            ("\u{feff}\u{feff}1\n00:00:01,000 --> 00:00:02,000\nHi\n", 1000, 2000, "Hi"),
            // U+2028, U+0085, form feed and vertical tab are line breaks.
            ("1\n00:00:01,000 --> 00:00:02,000\na\u{2028}b\u{85}c\u{c}d\u{b}e\n", 1000, 2000, "a b c d e"),
        ] {
            assert_eq!(cues(srt), vec![(start, end, text.to_string())], "{srt:?}");
        }
    }

    #[test]
    fn blank_lines_follow_python_whitespace() {
        // NBSP-only and U+001F-only lines separate cues; a zero-width space does not.
        assert_eq!(cues("1\n00:00:01,000 --> 00:00:02,000\nA\n\u{a0}\n2\n00:00:03,000 --> 00:00:04,000\nB\n").len(), 2);
        assert_eq!(cues("1\n00:00:01,000 --> 00:00:02,000\nA\n\u{1f}\n2\n00:00:03,000 --> 00:00:04,000\nB\n").len(), 2);
        assert_eq!(
            cues("1\n00:00:01,000 --> 00:00:02,000\nA\n\u{200b}\n2\n00:00:03,000 --> 00:00:04,000\nB\n"),
            vec![(1000, 2000, "A \u{200b} 2 00:00:03,000 --> 00:00:04,000 B".to_string())]
        );
        // Cues with no blank line between them run together, as in pysrt.
        assert_eq!(cues("1\n00:00:01,000 --> 00:00:02,000\nA\n2\n00:00:03,000 --> 00:00:04,000\nB\n").len(), 1);
        // Blank lines (even whitespace-only) before, between and after cues are skipped.
        assert_eq!(cues("\n \n1\n00:00:01,000 --> 00:00:02,000\na\n\n\n\n2\n00:00:03,000 --> 00:00:04,000\nb\n\n\n").len(), 2);
    }

    #[test]
    fn a_numbered_cue_without_text_is_an_empty_cue() {
        assert_eq!(cues("1\n00:00:01,000 --> 00:00:02,000\n"), vec![(1000, 2000, String::new())]);
    }

    #[test]
    fn empty_transcript_has_no_cues() {
        assert_eq!(convert("").unwrap(), Sjson::default());
        assert_eq!(convert("\n\n").unwrap(), Sjson::default());
    }

    #[test]
    fn malformed_cues_are_errors_naming_the_line() {
        for (srt, line, needle) in [
            ("00:00:01,000 --> 00:00:02,000\n\n2\n00:00:03,000 --> 00:00:04,000\nx\n", 1, "needs a time line and text"),
            ("WEBVTT\n\n1\n00:00:01,000 --> 00:00:02,000\nx\n", 1, "needs a time line and text"),
            ("1\n00:00:01,000 --> 00:00:02,000\nok\n\n\n\nTHE END\n", 7, "needs a time line and text"),
            ("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 - 00:00:04,000\nbad\n", 5, "expected \"START --> END\""),
            ("1\n00:00:01,000 -> 00:00:02,000\nx\n", 1, "expected \"START --> END\""),
            ("1\n00:01,000 --> 00:00:02,000\nx\n", 1, "invalid timestamp \"00:01,000\""),
            ("1\n00:00:01 --> 00:00:02\nx\n", 1, "invalid timestamp \"00:00:01\""),
            ("1\n00:00:00:01,500 --> 00:00:02,000\nx\n", 1, "invalid timestamp"),
            ("1\n00：00：01,000 --> 00:00:02,000\nx\n", 1, "invalid timestamp"),
            ("1\n00:00:01,000 --> 00:00:02,000\tX1:40\nx\n", 1, "invalid timestamp"),
            ("1\n00:00:01,000 --> 00:00:02,000 --> 00:00:03,000\nx\n", 1, "expected \"START --> END\""),
            // A blank line inside a cue's text starts a new cue that has no time line.
            ("1\n00:00:01,000 --> 00:00:02,000\npara one\n\npara two\nmore\n", 5, "expected \"START --> END\""),
            // \r\r\n is two line breaks, so every line stands alone.
            ("1\r\r\n00:00:01,000 --> 00:00:02,000\r\r\nx\r\r\n", 1, "needs a time line and text"),
            ("1\n99999999999999999999:00:00,000 --> 00:00:02,000\nx\n", 1, "out of range"),
        ] {
            match convert(srt) {
                Err(FormatError::UnparsableSrt { line: l, reason }) => {
                    assert_eq!(l, line, "{srt:?}: {reason}");
                    assert!(reason.contains(needle), "{srt:?}: {reason}");
                }
                other => panic!("{srt:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn invalid_utf8_names_the_offset() {
        assert_eq!(to_sjson(b"1\n00:00:01,000 --> 00:00:02,000\ncaf\xe9\n"), Err(FormatError::InvalidUtf8 { offset: 35 }));
    }

    #[test]
    fn python_line_splitting() {
        let lines: Vec<&str> = split_lines("a\r\nb\rc\u{2028}d\n\ne").collect();
        assert_eq!(lines, vec!["a\r\n", "b\r", "c\u{2028}", "d\n", "\n", "e"]);
    }
}
