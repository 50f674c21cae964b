//! PNG plots of a run (plotters, bitmap backend). Text is drawn with a font bundled in the
//! crate (`assets/DejaVuSansMono.ttf`, Bitstream Vera license beside it) through plotters'
//! `ab_glyph` feature, so no system font or fontconfig is needed.

use crate::report::{Report, Series};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::path::Path;

type Error = Box<dyn std::error::Error + Send + Sync>;

const FONT: &[u8] = include_bytes!("../assets/DejaVuSansMono.ttf");
const COLORS: [RGBColor; 5] = [
    RGBColor(110, 110, 110),
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
];

/// Draws every plot the report has data for into `dir`; returns `(file, caption)` pairs.
pub fn draw_all(report: &Report, dir: &Path) -> Result<Vec<(&'static str, &'static str)>, Error> {
    register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| "the bundled font does not load")?;
    let mut out = Vec::new();
    let of =
        |plot: &str| -> Vec<&Series> { report.series.iter().filter(|s| s.plot == plot).collect() };
    let bars = of("throughput");
    if !bars.is_empty() {
        let cats = ["native ct", "native mt", "openai ct", "openai mt"];
        bar_plot(
            &dir.join("throughput.png"),
            "Inbound events/s (ct/mt: current/multi-thread runtime)",
            &cats,
            &bars,
        )?;
        out.push((
            "throughput.png",
            "Inbound events/s: server ceiling, raw loop and chatwire, per dialect and runtime",
        ));
    }
    let plots = [
        (
            "growth",
            "growth.png",
            "events/s against conversation length",
            "events (log10)",
            "events/s",
            true,
        ),
        (
            "heap",
            "heap.png",
            "client heap (KiB) against state held",
            "count (log10)",
            "KiB",
            true,
        ),
        (
            "idle",
            "idle.png",
            "memory per idle client (KiB) against clients",
            "clients",
            "KiB per client",
            false,
        ),
        (
            "storm",
            "storm.png",
            "connection attempts per 100 ms after a restart",
            "seconds after the drop",
            "attempts",
            false,
        ),
    ];
    for (plot, file, caption, x_label, y_label, log_x) in plots {
        let series = of(plot);
        if !series.is_empty() {
            line_plot(&dir.join(file), caption, x_label, y_label, log_x, &series)?;
            out.push((file, caption));
        }
    }
    Ok(out)
}

/// Grouped bars: one group per category, one bar per series (x of a point = category index).
fn bar_plot(path: &Path, title: &str, cats: &[&str], series: &[&Series]) -> Result<(), Error> {
    let root = BitMapBackend::new(path, (960, 540)).into_drawing_area();
    root.fill(&WHITE)?;
    let max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5f64..cats.len() as f64 - 0.5, 0f64..max * 1.1)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(cats.len())
        .x_label_formatter(&|x| {
            cats.get(x.round() as usize)
                .map_or(String::new(), |c| (*c).to_owned())
        })
        .y_desc("events/s")
        .y_label_formatter(&|y| format!("{:.0}k", y / 1000.0))
        .draw()?;
    let width = 0.8 / series.len() as f64;
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(s.points.iter().map(|&(x, y)| {
                let left = x - 0.4 + width * i as f64;
                Rectangle::new([(left, 0.0), (left + width * 0.9, y)], color.filled())
            }))?
            .label(s.name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Lines with points; with `log_x`, x is drawn as log10(x).
fn line_plot(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    log_x: bool,
    series: &[&Series],
) -> Result<(), Error> {
    let tx = |x: f64| if log_x { x.max(1e-9).log10() } else { x };
    let pts: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|&(x, y)| (tx(x), y)))
        .collect();
    let (x0, x1) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = pts
        .iter()
        .fold((0f64, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let pad = ((x1 - x0) * 0.05).max(0.1);
    let root = BitMapBackend::new(path, (960, 540)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(80)
        .build_cartesian_2d(x0 - pad..x1 + pad, y0..(y1.max(y0 + 1.0) * 1.1))?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .draw()?;
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[(i + 1) % COLORS.len()];
        let line: Vec<(f64, f64)> = s.points.iter().map(|&(x, y)| (tx(x), y)).collect();
        chart
            .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))?
            .label(s.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
        chart.draw_series(line.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
