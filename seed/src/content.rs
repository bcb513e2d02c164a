//! Transcript content: cues generated from a seed, rendered as SRT in the styles found in real
//! course exports, and the SJSON a correct conversion must produce from them.

use activities::formats::sjson::Sjson;

use crate::rng::Rng;

/// One cue as the generator intends it; `lines` become the SRT text lines and, joined by a
/// space, the SJSON text.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    pub start_ms: i64,
    pub end_ms: i64,
    pub lines: Vec<String>,
}

/// How an SRT file is laid out, as editors and captioning services write them.
#[derive(Debug, Clone, Copy, Default)]
pub struct SrtStyle {
    pub bom: bool,
    pub crlf: bool,
    /// Some tools leave out the cue numbers.
    pub numbered: bool,
    /// Some leave out the blank line after the last cue.
    pub final_blank_line: bool,
}

impl SrtStyle {
    pub const PLAIN: SrtStyle = SrtStyle { bom: false, crlf: false, numbered: true, final_blank_line: true };
}

pub fn srt_time(ms: i64) -> String {
    format!("{:02}:{:02}:{:02},{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
}

pub fn render_srt(cues: &[Cue], style: SrtStyle) -> Vec<u8> {
    let newline = if style.crlf { "\r\n" } else { "\n" };
    let mut out = String::new();
    if style.bom {
        out.push('\u{feff}');
    }
    for (i, cue) in cues.iter().enumerate() {
        if i > 0 {
            out.push_str(newline);
        }
        if style.numbered {
            out.push_str(&format!("{}{newline}", i + 1));
        }
        out.push_str(&format!("{} --> {}{newline}", srt_time(cue.start_ms), srt_time(cue.end_ms)));
        for line in &cue.lines {
            out.push_str(line);
            out.push_str(newline);
        }
    }
    if style.final_blank_line && !cues.is_empty() {
        out.push_str(newline);
    }
    out.into_bytes()
}

pub fn to_sjson(cues: &[Cue]) -> Sjson {
    Sjson {
        start: cues.iter().map(|c| c.start_ms).collect(),
        end: cues.iter().map(|c| c.end_ms).collect(),
        text: cues.iter().map(|c| c.lines.join(" ")).collect(),
    }
}

/// An SJSON asset as Studio stored them: pretty-printed JSON with UTF-8 text.
pub fn render_sjson_asset(cues: &[Cue]) -> Vec<u8> {
    let sjson = to_sjson(cues);
    let value = serde_json::json!({ "start": sjson.start, "end": sjson.end, "text": sjson.text });
    serde_json::to_vec_pretty(&value).expect("SJSON serializes")
}

const WORDS: &[(&str, &[&str])] = &[
    ("en", &["the", "energy", "of", "a", "system", "is", "conserved", "when", "we", "measure", "it", "carefully"]),
    ("de", &["die", "Energie", "eines", "Systems", "bleibt", "erhalten", "wenn", "wir", "messen", "Größe"]),
    ("fr", &["l'énergie", "d'un", "système", "est", "conservée", "lorsque", "nous", "mesurons", "très", "précisément"]),
    ("es", &["la", "energía", "de", "un", "sistema", "se", "conserva", "cuando", "medimos", "señal"]),
    ("zh", &["系统", "的", "能量", "是", "守恒", "的", "当", "我们", "仔细", "测量"]),
    ("ar", &["طاقة", "النظام", "محفوظة", "عندما", "نقيس", "بعناية"]),
    ("hi", &["ऊर्जा", "प्रणाली", "की", "संरक्षित", "है", "जब", "हम", "मापते", "हैं"]),
    ("ru", &["энергия", "системы", "сохраняется", "когда", "мы", "измеряем", "её"]),
    ("ja", &["システム", "の", "エネルギー", "は", "保存", "される", "測定"]),
    ("pt", &["a", "energia", "de", "um", "sistema", "é", "conservada", "quando", "medimos"]),
];

/// The language codes bulk videos use, English first.
pub fn language_codes() -> impl Iterator<Item = &'static str> {
    WORDS.iter().map(|(code, _)| *code)
}

fn words_for(language: &str) -> &'static [&'static str] {
    WORDS.iter().find(|(code, _)| *code == language).map_or(WORDS[0].1, |(_, words)| words)
}

/// `count` cues of text in `language`, in time order, one or two lines each.
pub fn generate_cues(rng: &mut Rng, language: &str, count: usize) -> Vec<Cue> {
    let words = words_for(language);
    let separator = if matches!(language, "zh" | "ja") { "" } else { " " };
    let mut at = rng.range(0, 2000) as i64;
    (0..count)
        .map(|_| {
            let start_ms = at;
            let end_ms = start_ms + rng.range(800, 6000) as i64;
            at = end_ms + rng.range(0, 400) as i64;
            let line_count = if rng.chance(30) { 2 } else { 1 };
            let lines = (0..line_count)
                .map(|_| {
                    let n = rng.range(2, 9) as usize;
                    (0..n).map(|_| *rng.pick(words)).collect::<Vec<_>>().join(separator)
                })
                .collect();
            Cue { start_ms, end_ms, lines }
        })
        .collect()
}

pub fn random_style(rng: &mut Rng) -> SrtStyle {
    SrtStyle { bom: rng.chance(20), crlf: rng.chance(30), numbered: rng.chance(90), final_blank_line: rng.chance(70) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_srt_converts_back_to_the_intended_cues() {
        let mut rng = Rng::new(7);
        for language in language_codes() {
            let cues = generate_cues(&mut rng, language, 25);
            for _ in 0..4 {
                let style = random_style(&mut rng);
                let converted = activities::formats::srt::to_sjson(&render_srt(&cues, style)).unwrap();
                assert_eq!(converted, to_sjson(&cues), "{language} {style:?}");
            }
        }
    }

    #[test]
    fn same_seed_same_cues() {
        assert_eq!(generate_cues(&mut Rng::new(1), "de", 10), generate_cues(&mut Rng::new(1), "de", 10));
        assert_ne!(generate_cues(&mut Rng::new(1), "de", 10), generate_cues(&mut Rng::new(2), "de", 10));
    }
}
