//! SVG charts, drawn on the server as plain SVG elements.
//!
//! Why not a charting crate: plotters' SVG backend draws what it is given, but it
//! writes positioned text with inline styles (which the pages' content security policy
//! forbids), gives the image no title, description or role for screen readers, and
//! cannot mark a bar with the figure it stands for. Our three shapes (grouped bars with
//! a target line, horizontal bars, a funnel drawn as horizontal bars) are a few dozen
//! lines each; written here, every chart is an `img` with a title and description,
//! every bar carries its value as text and as `data-value`, colours meet 3:1 against
//! white, and the same markup works inside the self-contained report file.

use maud::{html, Markup};

/// Series colours: each has at least 4.5:1 contrast against white.
const PALETTE: [&str; 6] = [
    "#1f5fbf", "#a64b00", "#2e7d32", "#7b1fa2", "#00727f", "#b71c1c",
];

/// A bar chart of groups (months) with one bar per series (team), values from 0 to
/// `max`, and an optional dashed target line.
pub struct GroupedBars<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub groups: &'a [String],
    /// (series name, one value per group; None: no data).
    pub series: &'a [(String, Vec<Option<f64>>)],
    pub max: f64,
    pub unit: &'a str,
    pub target: Option<(f64, &'a str)>,
}

const W: f64 = 640.0;
const H: f64 = 260.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 12.0;

fn fmt(v: f64) -> String {
    if (v - v.round()).abs() < 0.05 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

pub fn grouped_bars(c: &GroupedBars<'_>) -> Markup {
    let max = if c.max > 0.0 { c.max } else { 1.0 };
    let plot_h = H - TOP - BOTTOM;
    let plot_w = W - LEFT - 8.0;
    let y = |v: f64| TOP + plot_h * (1.0 - (v / max).clamp(0.0, 1.0));
    let group_w = plot_w / c.groups.len().max(1) as f64;
    let n = c.series.len().max(1) as f64;
    let bar_w = (group_w * 0.8 / n).min(48.0);
    let ticks = [0.0, max / 2.0, max];
    let title_id = format!("{}-title", c.id);
    let desc_id = format!("{}-desc", c.id);
    html! {
        figure.chart #(c.id) {
            figcaption { (c.title) }
            svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {W} {H}")) role="img"
                aria-labelledby=(format!("{title_id} {desc_id}")) {
                title #(title_id) { (c.title) }
                desc #(desc_id) { (c.description) }
                @for t in ticks {
                    line x1=(LEFT) x2=(W - 8.0) y1=(y(t)) y2=(y(t)) stroke="#d0d4da" stroke-width="1" {}
                    text x=(LEFT - 6.0) y=(y(t) + 4.0) text-anchor="end" font-size="11" fill="#444" { (fmt(t)) (c.unit) }
                }
                @for (g, group) in c.groups.iter().enumerate() {
                    @let x0 = LEFT + group_w * g as f64 + (group_w - bar_w * n) / 2.0;
                    @for (s, (name, values)) in c.series.iter().enumerate() {
                        @if let Some(Some(v)) = values.get(g) {
                            @let x = x0 + bar_w * s as f64;
                            rect x=(format!("{x:.1}")) y=(format!("{:.1}", y(*v))) width=(format!("{:.1}", (bar_w - 2.0).max(1.0)))
                                height=(format!("{:.1}", (TOP + plot_h - y(*v)).max(0.0))) fill=(PALETTE[s % PALETTE.len()])
                                data-series=(name) data-group=(group) data-value=(v) {
                                title { (name) ", " (group) ": " (fmt(*v)) (c.unit) }
                            }
                        }
                    }
                    text x=(format!("{:.1}", LEFT + group_w * (g as f64 + 0.5))) y=(H - 8.0) text-anchor="middle" font-size="12" fill="#1a1a1a" { (group) }
                }
                @if let Some((target, label)) = c.target {
                    line x1=(LEFT) x2=(W - 8.0) y1=(y(target)) y2=(y(target)) stroke="#b71c1c" stroke-width="2" stroke-dasharray="6 4" data-target=(target) {}
                    text x=(W - 10.0) y=(y(target) - 5.0) text-anchor="end" font-size="11" fill="#b71c1c" { (label) " " (fmt(target)) (c.unit) }
                }
            }
            @if c.series.len() > 1 {
                ul.legend {
                    @for (s, (name, _)) in c.series.iter().enumerate() {
                        li {
                            svg viewBox="0 0 10 10" aria-hidden="true" { rect width="10" height="10" fill=(PALETTE[s % PALETTE.len()]) {} }
                            " " (name)
                        }
                    }
                }
            }
        }
    }
}

/// Horizontal bars: a funnel, or counts by reason. Each bar is labelled with its name
/// and value in text.
pub fn horizontal_bars(
    id: &str,
    title: &str,
    description: &str,
    items: &[(String, f64, String)],
) -> Markup {
    let max = items
        .iter()
        .map(|(_, v, _)| *v)
        .fold(0.0, f64::max)
        .max(1.0);
    let row_h = 28.0;
    let label_w = 170.0;
    let h = row_h * items.len().max(1) as f64 + 8.0;
    let bar_room = W - label_w - 90.0;
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    html! {
        figure.chart #(id) {
            figcaption { (title) }
            svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {W} {h}")) role="img"
                aria-labelledby=(format!("{title_id} {desc_id}")) {
                title #(title_id) { (title) }
                desc #(desc_id) { (description) }
                @for (i, (name, value, shown)) in items.iter().enumerate() {
                    @let y = 4.0 + row_h * i as f64;
                    text x=(label_w - 8.0) y=(y + 18.0) text-anchor="end" font-size="12" fill="#1a1a1a" { (name) }
                    rect x=(label_w) y=(y + 4.0) width=(format!("{:.1}", (bar_room * value / max).max(1.0))) height=(row_h - 8.0)
                        fill=(PALETTE[0]) data-name=(name) data-value=(value) {}
                    text x=(format!("{:.1}", label_w + (bar_room * value / max).max(1.0) + 6.0)) y=(y + 18.0) font-size="12" fill="#1a1a1a" { (shown) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_carry_their_values_and_text_is_escaped() {
        let groups = vec!["2026-11".to_string()];
        let series = vec![("<ae-na>".to_string(), vec![Some(75.0)])];
        let svg = grouped_bars(&GroupedBars {
            id: "sla",
            title: "SLA met",
            description: "per team",
            groups: &groups,
            series: &series,
            max: 100.0,
            unit: " %",
            target: Some((90.0, "target")),
        })
        .into_string();
        assert!(svg.contains(r#"data-value="75""#), "{svg}");
        assert!(svg.contains(r#"data-target="90""#), "{svg}");
        assert!(
            svg.contains("&lt;ae-na&gt;") && !svg.contains("<ae-na>"),
            "{svg}"
        );
        assert!(svg.contains(r#"role="img""#));
        let funnel = horizontal_bars(
            "funnel",
            "Funnel",
            "MQL to SQL",
            &[
                ("MQL".into(), 10.0, "10".into()),
                ("SAL".into(), 5.0, "5 (50 %)".into()),
            ],
        )
        .into_string();
        assert!(
            funnel.contains(r#"data-name="SAL" data-value="5""#),
            "{funnel}"
        );
    }
}
