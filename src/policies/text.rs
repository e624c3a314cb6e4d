//! A policy's text as people read it: Markdown rendered to HTML that cannot carry script,
//! and the line-by-line difference between two versions.

use std::fmt;
use std::sync::LazyLock;

use pulldown_cmark::{Options, Parser, html};
use similar::{ChangeTag, TextDiff};

/// HTML that went through the sanitiser; the only kind a template may print unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeHtml(String);

impl fmt::Display for SafeHtml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Ammonia's defaults keep the tags and attributes Markdown produces and drop scripts,
/// event handlers, `style` and URLs with schemes like `javascript:`; links get
/// `rel="noopener noreferrer"`.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(ammonia::Builder::default);

/// Renders Markdown (CommonMark with tables, strikethrough and task lists). Raw HTML in
/// the source is passed through the sanitiser like everything else, never trusted.
pub fn render_markdown(source: &str) -> SafeHtml {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut unsafe_html = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(source, options));
    SafeHtml(SANITIZER.clean(&unsafe_html).to_string())
}

/// One line of a difference: kept, removed or added, with its numbers in each version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub change: &'static str,
    pub old_number: Option<usize>,
    pub new_number: Option<usize>,
    pub text: String,
}

/// A run of changed lines with a few unchanged lines around them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffHunk {
    pub lines: Vec<DiffLine>,
}

/// The line difference from `old` to `new`, in hunks with three lines of context; empty
/// when the texts are the same.
pub fn diff_lines(old: &str, new: &str) -> Vec<DiffHunk> {
    let diff = TextDiff::from_lines(old, new);
    diff.grouped_ops(3)
        .iter()
        .map(|group| DiffHunk {
            lines: group
                .iter()
                .flat_map(|op| diff.iter_changes(op))
                .map(|change| DiffLine {
                    change: match change.tag() {
                        ChangeTag::Equal => "same",
                        ChangeTag::Delete => "removed",
                        ChangeTag::Insert => "added",
                    },
                    old_number: change.old_index().map(|i| i + 1),
                    new_number: change.new_index().map(|i| i + 1),
                    text: change
                        .to_string_lossy()
                        .trim_end_matches(['\n', '\r'])
                        .to_owned(),
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_keeps_structure_and_drops_script() {
        let html = render_markdown(
            "# Title\n\n**bold** [ok](https://example.com) [bad](javascript:alert(1))\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>",
        )
        .to_string();
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(html.contains("href=\"https://example.com\""), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
    }

    #[test]
    fn diff_marks_removed_and_added_lines_with_their_numbers() {
        let hunks = diff_lines("a\nb\nc\n", "a\nB\nc\nd\n");
        let lines: Vec<_> = hunks
            .iter()
            .flat_map(|h| &h.lines)
            .map(|l| (l.change, l.old_number, l.new_number, l.text.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                ("same", Some(1), Some(1), "a"),
                ("removed", Some(2), None, "b"),
                ("added", None, Some(2), "B"),
                ("same", Some(3), Some(3), "c"),
                ("added", None, Some(4), "d"),
            ]
        );
        assert!(diff_lines("same\n", "same\n").is_empty());
    }

    proptest::proptest! {
        /// Whatever Markdown and HTML a policy's author mixes, what comes out runs no
        /// script and loads nothing on its own.
        #[test]
        fn no_markdown_renders_script(
            pieces in proptest::collection::vec(
                proptest::prop_oneof![
                    "(?s).{0,20}",
                    proptest::strategy::Just("<script>alert(1)</script>".to_owned()),
                    proptest::strategy::Just("<img src=x onerror=alert(1)>".to_owned()),
                    proptest::strategy::Just("[a](javascript:alert(1))".to_owned()),
                    proptest::strategy::Just("<a href=\"JaVaScRiPt:alert(1)\">x</a>".to_owned()),
                    proptest::strategy::Just("<iframe src=//evil></iframe>".to_owned()),
                    proptest::strategy::Just("<svg onload=alert(1)>".to_owned()),
                    proptest::strategy::Just("<style>body{}</style>".to_owned()),
                    proptest::strategy::Just("\n\n| a | b |\n|---|---|\n| <b>x</b> | y |\n".to_owned()),
                    proptest::strategy::Just("```\n<script>\n```".to_owned()),
                    proptest::strategy::Just("<".to_owned()),
                    proptest::strategy::Just("\"".to_owned()),
                ],
                0..12,
            )
        ) {
            let html = render_markdown(&pieces.concat()).to_string().to_ascii_lowercase();
            // Text is escaped, so every raw `<` opens a tag: check each tag.
            for tag in html.split('<').skip(1).map(|rest| rest.split('>').next().unwrap_or(rest)) {
                let name = tag.trim_start_matches('/').split([' ', '/']).next().unwrap_or_default();
                proptest::prop_assert!(
                    !["script", "iframe", "style", "svg", "object", "embed"].contains(&name),
                    "<{}> in {}", tag, html
                );
                proptest::prop_assert!(
                    !tag.contains("javascript:") && !tag.split_whitespace().skip(1).any(|attribute| attribute.starts_with("on")),
                    "<{}> in {}", tag, html
                );
            }
        }
    }
}
