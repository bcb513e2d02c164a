//! Hand-written transcripts with the quirks of files found in real course exports, each with
//! the cues a correct conversion yields, written out by hand rather than computed.

use crate::content::{self, Cue, SrtStyle};
use crate::rng::Rng;

#[derive(Debug, Clone, Copy)]
pub struct Fixture {
    pub srt: &'static str,
    /// (start ms, end ms, SJSON text)
    pub cues: &'static [(i64, i64, &'static str)],
}

/// Exported from a Windows captioning tool: BOM, CRLF, two-line cues, CJK punctuation.
pub const ZH_BOM_CRLF_MULTILINE: Fixture = Fixture {
    srt: "\u{feff}1\r\n00:00:00,500 --> 00:00:03,200\r\n大家好，欢迎来到\r\n《物理学导论》。\r\n\r\n\
          2\r\n00:00:03,200 --> 00:00:07,950\r\n今天我们讨论能量守恒。\r\n\r\n\
          3\r\n00:01:02,003 --> 00:01:05,000\r\n“能量”既不会凭空产生，\r\n也不会凭空消失。\r\n",
    cues: &[
        (500, 3200, "大家好，欢迎来到 《物理学导论》。"),
        (3200, 7950, "今天我们讨论能量守恒。"),
        (62003, 65000, "“能量”既不会凭空产生， 也不会凭空消失。"),
    ],
};

/// Italics tags kept as they are, position coordinates after the end time, trailing spaces,
/// dialogue dashes, and no newline at the end of the file.
pub const ES_TAGS_POSITIONS_NO_FINAL_NEWLINE: Fixture = Fixture {
    srt: "1\n00:00:01,000 --> 00:00:04,000 X1:40 X2:600 Y1:20 Y2:50\n<i>Bienvenidos</i> al curso.   \n\n\
          2\n00:00:04,100 --> 00:00:06,000\n- ¿Listos?\n- ¡Sí!\n\n\
          3\n00:00:06,000 --> 00:00:09,999\nAñadimos \"comillas\" y \\barras\\.",
    cues: &[(1000, 4000, "<i>Bienvenidos</i> al curso."), (4100, 6000, "- ¿Listos? - ¡Sí!"), (6000, 9999, "Añadimos \"comillas\" y \\barras\\.")],
};

/// Milliseconds after a dot, blank lines before the first cue and between cues, an unnumbered
/// cue, and hours past the first.
pub const DE_DOT_MILLISECONDS_EXTRA_BLANKS: Fixture = Fixture {
    srt: "\n\n1\n00:00:01.500 --> 00:00:02.750\nGrüß Gott!\n\n\n\n\
          00:00:03.000 --> 00:00:05.000\nÜbergrößenträger äußern sich.\n\n\
          3\n01:02:03,004 --> 01:02:04,000\nEnde\n",
    cues: &[(1500, 2750, "Grüß Gott!"), (3000, 5000, "Übergrößenträger äußern sich."), (3_723_004, 3_724_000, "Ende")],
};

/// SRT content under a `.sjson` name; Cyrillic, index from 0, trailing blank line.
pub const UK_SRT_NAMED_SJSON: Fixture = Fixture {
    srt: "0\n00:00:00,100 --> 00:00:02,000\nПривіт, edX вітає вас.\n\n",
    cues: &[(100, 2000, "Привіт, edX вітає вас.")],
};

/// Compact SJSON with an extra `paragraphs` key and empty first and last cues, as older Studio
/// versions saved them.
pub const COMPACT_SJSON_WITH_PARAGRAPHS: &str = "{\"start\":[0,270,2720,5430],\"end\":[270,2720,5430,7000],\
\"text\":[\"\",\"Hi, welcome to Edx.\",\"Let\\u2019s begin.\",\"\"],\"paragraphs\":[[0,3]]}\n";

/// A file whose second cue has timestamps without milliseconds.
pub const UNPARSABLE_SRT: &str = "1\n00:00:01,000 --> 00:00:02,000\nBom dia.\n\n2\n00:00:03 --> 00:00:04\nTempo sem milissegundos.\n";

/// Saved in Latin-1 by an old editor.
pub const LATIN1_SRT: &[u8] = b"1\n00:00:01,000 --> 00:00:02,000\nCaf\xe9 cr\xe8me br\xfbl\xe9e\n";

/// SJSON whose arrays do not line up.
pub const UNEQUAL_SJSON: &str = r#"{"start": [0, 1000], "end": [900], "text": ["Hello", "world"]}"#;

/// A valid SRT file just over edx-val's 3 MiB limit.
pub fn oversized_srt(rng: &mut Rng) -> Vec<u8> {
    let mut cues: Vec<Cue> = Vec::new();
    let mut bytes = Vec::new();
    while bytes.len() <= activities::formats::MAX_TRANSCRIPT_BYTES as usize {
        let offset = cues.last().map_or(0, |c| c.end_ms);
        cues.extend(content::generate_cues(rng, "de", 2000).into_iter().map(|mut cue| {
            cue.start_ms += offset;
            cue.end_ms += offset;
            cue
        }));
        bytes = content::render_srt(&cues, SrtStyle::PLAIN);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_convert_to_their_hand_written_cues() {
        for fixture in [ZH_BOM_CRLF_MULTILINE, ES_TAGS_POSITIONS_NO_FINAL_NEWLINE, DE_DOT_MILLISECONDS_EXTRA_BLANKS, UK_SRT_NAMED_SJSON] {
            let sjson = activities::formats::srt::to_sjson(fixture.srt.as_bytes()).unwrap();
            let got: Vec<(i64, i64, &str)> = (0..sjson.cue_count()).map(|i| (sjson.start[i], sjson.end[i], sjson.text[i].as_str())).collect();
            assert_eq!(got, fixture.cues);
        }
    }

    #[test]
    fn broken_fixtures_are_broken() {
        assert!(activities::formats::srt::to_sjson(UNPARSABLE_SRT.as_bytes()).is_err());
        assert!(activities::formats::srt::to_sjson(LATIN1_SRT).is_err());
        assert!(activities::formats::sjson::validate(UNEQUAL_SJSON).is_err());
        assert_eq!(activities::formats::sjson::validate(COMPACT_SJSON_WITH_PARAGRAPHS), Ok(4));
        let huge = oversized_srt(&mut Rng::new(3));
        assert!(huge.len() as u64 > activities::formats::MAX_TRANSCRIPT_BYTES);
        assert!((huge.len() as u64) < activities::formats::MAX_TRANSCRIPT_BYTES + 1024 * 1024);
        assert!(activities::formats::srt::to_sjson(&huge).is_ok(), "oversized, yet valid SRT");
    }
}
