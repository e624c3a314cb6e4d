//! Server-rendered SVG charts: readable without JavaScript and when printed. Colours come
//! from classes in the stylesheet (the Content-Security-Policy allows no inline style);
//! every chart has its numbers in a table beside it as well.

use std::fmt::Write;

/// One bar: a label, a value, and the class that colours it.
pub struct Bar {
    pub label: String,
    pub value: i64,
    pub class: &'static str,
    /// What is printed at the end of the bar (e.g. a formatted amount).
    pub value_text: String,
}

impl Bar {
    /// A bar for a count of things.
    pub fn count(label: &str, count: i64, class: &'static str) -> Self {
        Self {
            label: label.to_owned(),
            value: count,
            class,
            value_text: count.to_string(),
        }
    }

    /// A bar for an amount of money in minor units.
    pub fn money(label: &str, cents: i64, class: &'static str) -> Self {
        Self {
            label: label.to_owned(),
            value: cents,
            class,
            value_text: crate::common::format::format_minor(cents),
        }
    }
}

const WIDTH: i64 = 360;
const LABEL_WIDTH: i64 = 100;
const VALUE_WIDTH: i64 = 90;
const ROW_HEIGHT: i64 = 30;
const BAR_HEIGHT: i64 = 20;

/// A horizontal bar chart; `title` names it for assistive technology.
pub fn bar_chart(title: &str, bars: &[Bar]) -> String {
    let max = bars.iter().map(|bar| bar.value).max().unwrap_or(0).max(1);
    let height = ROW_HEIGHT * bars.len().max(1) as i64;
    let plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{title}" xmlns="http://www.w3.org/2000/svg"><title>{title}</title>"#,
        title = escape(title)
    );
    for (i, bar) in bars.iter().enumerate() {
        let y = i as i64 * ROW_HEIGHT;
        let length = if bar.value > 0 {
            (bar.value.saturating_mul(plot) / max).max(2)
        } else {
            0
        };
        let _ = write!(
            svg,
            r#"<text class="chart-label" x="0" y="{ty}">{label}</text><rect class="bar {class}" x="{LABEL_WIDTH}" y="{ry}" width="{length}" height="{BAR_HEIGHT}" rx="3"></rect><text class="chart-value" x="{vx}" y="{ty}">{value}</text>"#,
            ty = y + 19,
            ry = y + 5,
            label = escape(&bar.label),
            class = bar.class,
            vx = LABEL_WIDTH + length + 6,
            value = escape(&bar.value_text),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A row of dots, oldest to newest: a project's RAG over its last reports.
pub fn rag_dots(title: &str, classes: &[&'static str]) -> String {
    let width = (classes.len().max(1) * 16) as i64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="trend" viewBox="0 0 {width} 14" width="{width}" height="14" role="img" aria-label="{title}" xmlns="http://www.w3.org/2000/svg"><title>{title}</title>"#,
        title = escape(title)
    );
    for (i, class) in classes.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<circle class="{class}" cx="{}" cy="7" r="6"></circle>"#,
            i * 16 + 7
        );
    }
    svg.push_str("</svg>");
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_value_and_labels_are_escaped() {
        let svg = bar_chart(
            "Projects <by> RAG",
            &[
                Bar {
                    label: "Red".into(),
                    value: 2,
                    class: "bar-red",
                    value_text: "2".into(),
                },
                Bar {
                    label: "<b>".into(),
                    value: 4,
                    class: "bar-green",
                    value_text: "4".into(),
                },
            ],
        );
        assert!(svg.contains(r#"width="85""#), "{svg}");
        assert!(svg.contains(r#"width="170""#), "{svg}");
        assert!(svg.contains("&lt;b&gt;"));
        assert!(!svg.contains("<b>"));
        assert!(!svg.contains("style="));
    }
}
