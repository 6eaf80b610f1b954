//! The SVG plots of BENCHMARKS.md, drawn with plotters (no fonts or bitmaps
//! needed).

use std::path::Path;

/// A line plot of memview's and the copying runner's frames/s: `rows` are
/// `[x, memview, copying]` triples.
pub(crate) fn plot(
    path: &Path,
    title: &str,
    x_label: &str,
    rows: &[(f64, f64, f64)],
    log_x: bool,
) -> Result<(), String> {
    use plotters::prelude::*;
    let pts = rows;
    if pts.is_empty() {
        return Err(format!("no scaling points for {title}"));
    }
    let fx = |x: f64| if log_x { x.log2() } else { x };
    let xmax = pts.iter().map(|p| fx(p.0)).fold(0.0, f64::max);
    let xmin = pts.iter().map(|p| fx(p.0)).fold(f64::MAX, f64::min);
    let ymax = pts.iter().map(|p| p.1.max(p.2)).fold(0.0, f64::max) * 1.1;
    let root = SVGBackend::new(path, (720, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| format!("{e:?}"))?;
    let span = if xmax > xmin { xmax - xmin } else { 1.0 };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((xmin - 0.05 * span)..(xmax + 0.05 * span), 0.0..ymax)
        .map_err(|e| format!("{e:?}"))?;
    chart
        .configure_mesh()
        .x_desc(if log_x {
            format!("{x_label} (log2 scale)")
        } else {
            x_label.to_owned()
        })
        .y_desc("frames / s")
        .x_label_formatter(&|x| {
            if log_x {
                format!("{:.0}", 2f64.powf(*x))
            } else {
                format!("{x:.0}")
            }
        })
        .draw()
        .map_err(|e| format!("{e:?}"))?;
    for (label, color, pick) in [
        ("memview (zero-copy)", BLUE, 1usize),
        ("copying runner", RED, 2),
    ] {
        let series: Vec<(f64, f64)> = pts
            .iter()
            .map(|p| (fx(p.0), if pick == 1 { p.1 } else { p.2 }))
            .collect();
        chart
            .draw_series(LineSeries::new(series.clone(), color.stroke_width(2)))
            .map_err(|e| format!("{e:?}"))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(
                series
                    .iter()
                    .map(|&(x, y)| Circle::new((x, y), 3, color.filled())),
            )
            .map_err(|e| format!("{e:?}"))?;
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(|e| format!("{e:?}"))?;
    root.present().map_err(|e| format!("{e:?}"))?;
    Ok(())
}
