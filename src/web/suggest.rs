//! Suggestions for the text fields that name a person or a record. Such a field takes an
//! email or a reference typed in full, so every form works without script; `quorum.js`
//! fills the field's `<datalist>` from a suggestion route as the person types, so no page
//! lists a whole register or staff to choose from.

use axum::Json;
use serde::{Deserialize, Serialize};

/// How many suggestions a route answers with.
pub const SUGGESTIONS: i64 = 10;

/// What the field holds so far: `?q=`.
#[derive(Debug, Default, Deserialize)]
pub struct SuggestQuery {
    #[serde(default)]
    pub q: String,
}

impl SuggestQuery {
    /// The typed text, trimmed; `None` when there is nothing to match (or too much).
    pub fn text(&self) -> Option<&str> {
        let text = self.q.trim();
        (!text.is_empty() && text.chars().count() <= 100 && !text.contains('\0')).then_some(text)
    }
}

/// One suggestion: the value the field takes, and what the person reads beside it.
#[derive(Debug, Serialize)]
pub struct Suggestion {
    pub value: String,
    pub label: String,
}

pub type Suggestions = Json<Vec<Suggestion>>;

/// The answer of a suggestion route: (value, label) pairs, in order.
pub fn answer(found: Vec<(String, String)>) -> Suggestions {
    Json(
        found
            .into_iter()
            .map(|(value, label)| Suggestion { value, label })
            .collect(),
    )
}

/// A `LIKE` pattern matching what starts with `text`, in lower case, its wildcards taken
/// literally.
pub fn like_prefix(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 1);
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A `to_tsquery` text matching documents with every word of `text`, the last as a
/// prefix when it has three characters or more (`"second supp"` → `second & supp:*`); only letters and digits are kept, so the
/// query cannot be malformed; `None` when there is no word.
pub fn prefix_tsquery(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect();
    let (last, rest) = words.split_last()?;
    let mut query = rest.to_vec();
    // A prefix of one or two characters matches nearly every document: whole word only.
    query.push(if last.chars().count() >= 3 {
        format!("{last}:*")
    } else {
        last.clone()
    });
    Some(query.join(" & "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_pattern_takes_wildcards_literally() {
        assert_eq!(like_prefix("Ann"), "ann%");
        assert_eq!(like_prefix("50%_a\\b"), "50\\%\\_a\\\\b%");
    }

    #[test]
    fn a_text_query_keeps_words_only_and_matches_the_last_as_a_prefix() {
        let query = |text| prefix_tsquery(text).unwrap_or_default();
        assert_eq!(query("Second supp"), "second & supp:*");
        assert_eq!(query("a'b | !cde:*"), "a & b & cde:*");
        assert_eq!(query("RSK-12"), "rsk & 12");
        assert_eq!(query("RSK-123"), "rsk & 123:*");
        assert_eq!(prefix_tsquery("-- '!"), None);
    }

    #[test]
    fn empty_long_or_nul_text_matches_nothing() {
        let query = |q: &str| SuggestQuery { q: q.to_owned() };
        assert_eq!(query("  an ").text(), Some("an"));
        assert_eq!(query("   ").text(), None);
        assert_eq!(query("a\0b").text(), None);
        assert_eq!(query(&"x".repeat(101)).text(), None);
    }
}
