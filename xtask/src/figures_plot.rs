//! Drawing of the figures of [`crate::figures`] as SVG with `plotters` (SVG backend only: text is
//! written as `<text>` elements in a generic `sans-serif` family, so neither the build nor the
//! drawing needs a font library).

use crate::figures::{
    Curve, FIG1_BOX, FIG1_KAPPA, Geometry, Learning, PosteriorOnFiber, ReductionErrors,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

const FONT: &str = "sans-serif";

/// A colour-blind-safe palette (Okabe–Ito).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
    RGBColor(0, 0, 0),
];

fn e<E: std::fmt::Display>(x: E) -> String {
    format!("drawing: {x}")
}

/// Values at or below `floor` (and non-finite ones) drawn at `floor` on a log axis.
fn floored(points: &[(f64, f64)], floor: f64) -> Vec<(f64, f64)> {
    points
        .iter()
        .map(|&(x, y)| (x, if y.is_finite() && y > floor { y } else { floor }))
        .collect()
}

/// The range $[\min, \max]$ of the positive `y` values, widened to whole decades.
fn decades(curves: &[&[(f64, f64)]], floor: f64) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = 0.0_f64;
    for c in curves {
        for &(_, y) in *c {
            if y.is_finite() && y > floor {
                lo = lo.min(y);
                hi = hi.max(y);
            }
        }
    }
    if !(lo.is_finite() && hi > 0.0) {
        return (floor, 1.0);
    }
    (
        10f64.powf(lo.log10().floor()).max(floor),
        10f64.powf(hi.log10().ceil()),
    )
}

fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, impl CoordTranslate>,
    pos: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(pos)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 13))
        .draw()
        .map_err(e)
}

/// A legend mark: a solid (`false`) or dashed (`true`) line segment of colour `$c`.
macro_rules! line_legend {
    ($c:expr, true) => {{
        let c = $c;
        move |(x, y): (i32, i32)| {
            EmptyElement::at((x, y))
                + PathElement::new(vec![(0, 0), (7, 0)], c.stroke_width(2))
                + PathElement::new(vec![(12, 0), (19, 0)], c.stroke_width(2))
        }
    }};
    ($c:expr, false) => {{
        let c = $c;
        move |(x, y): (i32, i32)| PathElement::new(vec![(x, y), (x + 19, y)], c.stroke_width(2))
    }};
}

/// Figure 1: the plane $(w_1, w_2)$ of the $d=1$, $N=2$ network.
pub fn fig1(g: &Geometry, path: &Path) -> Result<(), String> {
    // Equal scales on both axes; the band below w₂ = -R holds the legend.
    let root = SVGBackend::new(path, (860, 1090)).into_drawing_area();
    root.fill(&WHITE).map_err(e)?;
    let r = FIG1_BOX;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "d = 1, N = 2: fibers w₂w₁ = x, moment levels w₁² − w₂² = G, and flows",
            (FONT, 19),
        )
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(52)
        .build_cartesian_2d(-r..r, -(r + 1.45)..r)
        .map_err(e)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .y_label_formatter(&|v| {
            if *v < -r - 1e-9 {
                String::new()
            } else {
                format!("{v:.1}")
            }
        })
        .x_desc("w₁ (input layer, dimensionless)")
        .y_desc("w₂ (output layer, dimensionless)")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()
        .map_err(e)?;
    let fiber_c = PALETTE[0];
    let level_c = RGBColor(170, 170, 170);
    let mut first = true;
    for (x, branches) in &g.fibers {
        for b in branches {
            let s = chart
                .draw_series(LineSeries::new(b.iter().copied(), fiber_c.stroke_width(1)))
                .map_err(e)?;
            if first {
                s.label("fibers w₂w₁ = x (x = 0, ±¼, ±1, ±2; x = 0: the axes)")
                    .legend(line_legend!(fiber_c, false));
                first = false;
            }
        }
        // Label each fiber with its x at the first point of its first branch (at the box edge).
        if let Some(p) = branches.first().and_then(|b| b.first())
            && x.abs() > 0.0
        {
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("x={x}"),
                    *p,
                    (FONT, 12).into_font().color(&fiber_c),
                )))
                .map_err(e)?;
        }
    }
    first = true;
    for (gv, branches) in &g.levels {
        for b in branches {
            let style = if gv.abs() > 0.0 {
                level_c.stroke_width(1)
            } else {
                BLACK.stroke_width(2)
            };
            let s = chart
                .draw_series(DashedLineSeries::new(b.iter().copied(), 6, 4, style))
                .map_err(e)?;
            if first && gv.abs() > 0.0 {
                s.label("moment levels w₁² − w₂² = G (G = ±1, ±2)")
                    .legend(line_legend!(level_c, true));
                first = false;
            }
        }
    }
    // The balanced set G = 0 gets its own legend entry.
    chart
        .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
        .map_err(e)?
        .label("balanced set G = 0 (w₂ = ±w₁)")
        .legend(line_legend!(BLACK, true));

    let l2_c = PALETTE[1];
    let kn_c = PALETTE[2];
    for (i, (l2, kn)) in g.l2.iter().zip(&g.kirwan_ness).enumerate() {
        chart
            .draw_series(LineSeries::new(l2.iter().copied(), l2_c.stroke_width(2)))
            .map_err(e)?;
        chart
            .draw_series(kn.iter().map(|&p| Cross::new(p, 4, kn_c.stroke_width(2))))
            .map_err(e)?;
        let s = chart
            .draw_series(l2.iter().map(|&p| Circle::new(p, 4, l2_c.stroke_width(1))))
            .map_err(e)?;
        if i == 0 {
            s.label(format!(
                "L² flow, marks every Δt = {:.1}",
                g.times[1] - g.times[0]
            ))
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, l2_c.stroke_width(1)));
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
                .map_err(e)?
                .label("Kirwan–Ness flow, same times (same fiber, other speed)")
                .legend(move |(x, y)| Cross::new((x + 10, y), 4, kn_c.stroke_width(2)));
        }
        chart
            .draw_series(std::iter::once(Circle::new(l2[0], 5, BLACK.filled())))
            .map_err(e)?;
    }
    let nc_c = PALETTE[3];
    chart
        .draw_series(
            g.kirwan_ness_non_closed
                .iter()
                .map(|&p| TriangleMarker::new(p, 5, nc_c.filled())),
        )
        .map_err(e)?
        .label("Kirwan–Ness flow on the non-closed orbit {(0, w₁)}: w₁ ~ t^(−1/2)")
        .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 5, nc_c.filled()));
    let tr_c = PALETTE[4];
    chart
        .draw_series(LineSeries::new(
            g.training.iter().copied(),
            tr_c.stroke_width(3),
        ))
        .map_err(e)?
        .label(format!(
            "training, E = ½(x − 1)², weight decay κ = {FIG1_KAPPA}: crosses fibers"
        ))
        .legend(line_legend!(tr_c, false));
    chart
        .draw_series(std::iter::once(Circle::new(
            g.training[0],
            5,
            BLACK.filled(),
        )))
        .map_err(e)?
        .label("starting points")
        .legend(|(x, y)| Circle::new((x + 10, y), 5, BLACK.filled()));
    legend(&mut chart, SeriesLabelPosition::LowerLeft)?;
    root.present().map_err(e)
}

/// Figure 2: $\|\mathbf G(t)\|/\|\mathbf G(0)\|$ on a log scale.
pub fn fig2(curves: &[Curve], path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, (900, 620)).into_drawing_area();
    root.fill(&WHITE).map_err(e)?;
    let floor = 1e-16;
    let all: Vec<&[(f64, f64)]> = curves.iter().map(|c| c.points.as_slice()).collect();
    let (lo, hi) = decades(&all, floor);
    let t_end = curves
        .iter()
        .flat_map(|c| c.points.last())
        .map(|p| p.0)
        .fold(0.0, f64::max);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Moment decay: ‖G(t)‖ / ‖G(0)‖ (N = 3, widths 4, real)",
            (FONT, 19),
        )
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..t_end, (lo..hi).log_scale())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("time t (flow time, dimensionless)")
        .y_desc("relative moment norm ‖G(t)‖ / ‖G(0)‖")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(e)?;
    let n = curves.len();
    // Reference lines first (thin, dark), then the runs (line + a mark every 10 samples) on top.
    let mut order: Vec<usize> = (n.saturating_sub(2)..n).collect();
    order.extend(0..n.saturating_sub(2));
    for i in order {
        let c = &curves[i];
        // The last two curves are the reference exponentials.
        let reference = i + 2 >= n;
        let color = if reference {
            [RGBColor(0, 0, 0), RGBColor(110, 110, 110)][i + 2 - n]
        } else {
            PALETTE[i]
        };
        let pts = floored(&c.points, floor);
        if reference {
            chart
                .draw_series(DashedLineSeries::new(pts, 8, 5, color.stroke_width(2)))
                .map_err(e)?
                .label(format!("reference {}", c.label))
                .legend(line_legend!(color, true));
        } else {
            chart
                .draw_series(
                    pts.iter()
                        .step_by(10)
                        .map(|&p| Circle::new(p, 4, color.stroke_width(2))),
                )
                .map_err(e)?;
            chart
                .draw_series(LineSeries::new(pts, color.stroke_width(1)))
                .map_err(e)?
                .label(c.label.clone())
                .legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (19, 0)], color.stroke_width(1))
                        + Circle::new((10, 0), 4, color.stroke_width(2))
                });
        }
    }
    legend(&mut chart, SeriesLabelPosition::LowerLeft)?;
    root.present().map_err(e)
}

/// Figure 3: learning, two panels.
pub fn fig3(runs: &[Learning], path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, (1300, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(e)?;
    let root = root
        .titled(
            "Learning: N = 3, widths 3, E(X) = ½‖X − Y‖², unbalanced start",
            (FONT, 19),
        )
        .map_err(e)?;
    let (left, right) = root.split_horizontally(650);
    fig3_distance(runs, &left)?;
    fig3_deviation(runs, &right)?;
    root.present().map_err(e)
}

fn fig3_distance(runs: &[Learning], area: &Area<'_>) -> Result<(), String> {
    let all: Vec<&[(f64, f64)]> = runs
        .iter()
        .flat_map(|r| [r.full.as_slice(), r.learning_flow.as_slice()])
        .collect();
    let hi = all
        .iter()
        .flat_map(|c| c.iter())
        .map(|p| p.1)
        .fold(0.0, f64::max);
    let t_end = runs[0].full.last().map_or(1.0, |p| p.0);
    let mut chart = ChartBuilder::on(area)
        .caption("distance to the target", (FONT, 16))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..t_end, 0.0..hi * 1.05)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("time t (flow time, dimensionless)")
        .y_desc("‖X(t) − Y‖ / ‖Y‖ (Frobenius)")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(e)?;
    for (i, r) in runs.iter().enumerate() {
        let c = PALETTE[i];
        chart
            .draw_series(LineSeries::new(r.full.iter().copied(), c.stroke_width(2)))
            .map_err(e)?
            .label(format!("κ = {}: full training", r.kappa))
            .legend(line_legend!(c, false));
        chart
            .draw_series(DashedLineSeries::new(
                r.learning_flow.iter().copied(),
                7,
                5,
                c.stroke_width(2),
            ))
            .map_err(e)?
            .label(format!(
                "κ = {}: learning flow on the balanced manifold (two-stage)",
                r.kappa
            ))
            .legend(line_legend!(c, true));
        chart
            .draw_series(
                r.balanced_start
                    .iter()
                    .step_by(4)
                    .map(|&p| Circle::new(p, 3, c.stroke_width(1))),
            )
            .map_err(e)?
            .label(format!(
                "κ = {}: full training from the balanced point",
                r.kappa
            ))
            .legend(move |(x, y)| Circle::new((x + 10, y), 3, c.stroke_width(1)));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

fn fig3_deviation(runs: &[Learning], area: &Area<'_>) -> Result<(), String> {
    let floor = 1e-14;
    let all: Vec<&[(f64, f64)]> = runs
        .iter()
        .flat_map(|r| [r.deviation.as_slice(), r.balanced_deviation.as_slice()])
        .collect();
    let (lo, hi) = decades(&all, floor);
    let t_end = runs[0].full.last().map_or(1.0, |p| p.0);
    let mut chart = ChartBuilder::on(area)
        .caption("deviation from the learning flow", (FONT, 16))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..t_end, (lo..hi).log_scale())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("time t (flow time, dimensionless)")
        .y_desc("‖X(t) − X_learning(t)‖ / ‖X(t)‖")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(e)?;
    for (i, r) in runs.iter().enumerate() {
        let c = PALETTE[i];
        chart
            .draw_series(LineSeries::new(
                floored(&r.deviation, floor),
                c.stroke_width(2),
            ))
            .map_err(e)?
            .label(format!("κ = {}: full training (unbalanced start)", r.kappa))
            .legend(line_legend!(c, false));
        chart
            .draw_series(DashedLineSeries::new(
                floored(&r.balanced_deviation, floor),
                7,
                5,
                c.stroke_width(1),
            ))
            .map_err(e)?
            .label(format!(
                "κ = {}: training from the balanced point (integration error)",
                r.kappa
            ))
            .legend(line_legend!(c, true));
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight)
}

/// Figure 4: relative Kempf–Ness gap per Newton iteration.
pub fn fig4(curves: &[Curve], path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, (900, 620)).into_drawing_area();
    root.fill(&WHITE).map_err(e)?;
    let floor = 1e-16;
    let all: Vec<&[(f64, f64)]> = curves.iter().map(|c| c.points.as_slice()).collect();
    let (_, hi) = decades(&all, floor);
    let k_max = curves
        .iter()
        .flat_map(|c| c.points.last())
        .map(|p| p.0)
        .fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Kempf–Ness: Newton on the orbit (N = 3, widths 4; values ≤ 1e-16 drawn at 1e-16)",
            (FONT, 18),
        )
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..k_max, (floor..hi).log_scale())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("Newton iteration k")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_desc("relative gap (‖W_k‖² − NΣσᵢ^(2/N)) / NΣσᵢ^(2/N)")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(e)?;
    for (i, c) in curves.iter().enumerate() {
        let color = PALETTE[i];
        let pts = floored(&c.points, floor);
        let closed = c.label.starts_with("closed");
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(e)?
            .label(c.label.clone())
            .legend(line_legend!(color, false));
        if closed {
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(e)?;
        } else {
            chart
                .draw_series(
                    pts.iter()
                        .map(|&p| TriangleMarker::new(p, 4, color.filled())),
                )
                .map_err(e)?;
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    root.present().map_err(e)
}

/// Figure 5: Hankel singular values and balanced-truncation errors, two panels.
pub fn fig5(hsv: &[Curve], red: &[ReductionErrors], path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, (1300, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(e)?;
    let root = root
        .titled(
            "Linear systems (testdata/lti): Hankel singular values and balanced truncation",
            (FONT, 19),
        )
        .map_err(e)?;
    let (left, right) = root.split_horizontally(620);

    let floor = 1e-16;
    let all: Vec<&[(f64, f64)]> = hsv.iter().map(|c| c.points.as_slice()).collect();
    let (lo, _) = decades(&all, floor);
    let k_max = hsv
        .iter()
        .flat_map(|c| c.points.last())
        .map(|p| p.0)
        .fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(&left)
        .caption("Hankel singular values", (FONT, 16))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d((1.0..k_max).log_scale(), (lo..2.0).log_scale())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("index k")
        .y_desc("σₖ / σ₁")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(e)?;
    for (i, c) in hsv.iter().enumerate() {
        let color = PALETTE[i];
        chart
            .draw_series(LineSeries::new(
                floored(&c.points, floor),
                color.stroke_width(2),
            ))
            .map_err(e)?
            .label(c.label.clone())
            .legend(line_legend!(color, false));
    }
    legend(&mut chart, SeriesLabelPosition::LowerLeft)?;

    let mut lo = f64::INFINITY;
    let mut hi = 0.0_f64;
    let mut r_max = 1.0_f64;
    for r in red {
        for v in r.lower.iter().chain(&r.upper).chain(&r.error) {
            if *v > 0.0 {
                lo = lo.min(*v);
                hi = hi.max(*v);
            }
        }
        r_max = r_max.max(r.orders.iter().copied().max().unwrap_or(1) as f64);
    }
    let lo = 10f64.powf(lo.log10().floor());
    let hi = 10f64.powf(hi.log10().ceil());
    let mut chart = ChartBuilder::on(&right)
        .caption("‖G − G_r‖∞ between its bounds", (FONT, 16))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..r_max + 1.0, (lo..hi).log_scale())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("reduced order r")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_desc("H∞ norm (units of the output / input)")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(e)?;
    for (i, r) in red.iter().enumerate() {
        let color = PALETTE[i];
        let pts = |v: &[f64]| -> Vec<(f64, f64)> {
            r.orders
                .iter()
                .zip(v)
                .map(|(&o, &y)| (o as f64, y))
                .collect()
        };
        chart
            .draw_series(LineSeries::new(pts(&r.error), color.stroke_width(2)))
            .map_err(e)?
            .label(format!("{}: measured ‖G − G_r‖∞", r.name))
            .legend(line_legend!(color, false));
        chart
            .draw_series(
                pts(&r.error)
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )
            .map_err(e)?;
        chart
            .draw_series(DashedLineSeries::new(
                pts(&r.upper),
                7,
                5,
                color.stroke_width(1),
            ))
            .map_err(e)?
            .label(format!("{}: 2Σ_(k>r) σₖ (upper bound)", r.name))
            .legend(line_legend!(color, true));
        chart
            .draw_series(
                pts(&r.lower)
                    .into_iter()
                    .map(|p| Cross::new(p, 4, color.stroke_width(1))),
            )
            .map_err(e)?
            .label(format!("{}: σ_(r+1) (lower bound)", r.name))
            .legend(move |(x, y)| Cross::new((x + 10, y), 4, color.stroke_width(1)));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    root.present().map_err(e)
}

/// Half-width of the square $[-R,R]^2$ of the scatter panels of figure 6.
const FIG6_BOX: f64 = 3.0;

/// Figure 6: posterior samples on the fiber $w_2w_1 = x$, one scatter panel per $\beta$ (the fiber
/// and its balanced points drawn under the samples), and the histograms of $G = w_1^2-w_2^2$
/// against the exact density.
pub fn fig6(p: &PosteriorOnFiber, path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, (1300, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(e)?;
    let root = root
        .titled(
            &format!(
                "Posterior ∝ exp(−βκ‖W‖²/2) on the fiber w₂w₁ = {} (d = 1, N = 2, κ = {}, {} base measure)",
                p.x, p.kappa, p.measure
            ),
            (FONT, 19),
        )
        .map_err(e)?;
    let (left, right) = root.split_horizontally(660);
    let panels = left.split_evenly((2, 2));
    let r = FIG6_BOX;
    let x = p.x;
    // The two branches of the hyperbola w₂ = x/w₁ inside the box.
    let branch = |sign: f64| -> Vec<(f64, f64)> {
        let lo = (x.abs() / r).ln();
        (0..=300)
            .map(|k| {
                let w1 = sign * (lo + (r.ln() - lo) * f64::from(k) / 300.0).exp();
                (w1, x / w1)
            })
            .collect()
    };
    let balanced = [(x.abs().sqrt(), x / x.abs().sqrt()); 2];
    let balanced = [balanced[0], (-balanced[1].0, -balanced[1].1)];
    for (i, (run, area)) in p.runs.iter().zip(&panels).enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        let on_plus = run.samples.iter().filter(|q| q.0 > 0.0).count();
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!(
                    "βκ = {}: {} samples, {:.0} % on the branch w₁ > 0",
                    run.beta * p.kappa,
                    run.samples.len(),
                    100.0 * on_plus as f64 / run.samples.len().max(1) as f64
                ),
                (FONT, 13),
            )
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(40)
            .build_cartesian_2d(-r..r, -r..r)
            .map_err(e)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("w₁ (dimensionless)")
            .y_desc("w₂ (dimensionless)")
            .x_labels(7)
            .y_labels(7)
            .label_style((FONT, 11))
            .axis_desc_style((FONT, 12))
            .draw()
            .map_err(e)?;
        let fiber_c = RGBColor(150, 150, 150);
        for sign in [1.0, -1.0] {
            chart
                .draw_series(LineSeries::new(branch(sign), fiber_c.stroke_width(1)))
                .map_err(e)?;
        }
        chart
            .draw_series(
                run.samples
                    .iter()
                    .filter(|q| q.0.abs() <= r && q.1.abs() <= r)
                    .map(|&q| Circle::new(q, 2, c.mix(0.35).filled())),
            )
            .map_err(e)?;
        chart
            .draw_series(
                balanced
                    .iter()
                    .map(|&q| Cross::new(q, 6, BLACK.stroke_width(2))),
            )
            .map_err(e)?;
    }

    let peak = p
        .runs
        .iter()
        .flat_map(|run| run.histogram.iter().chain(&run.exact))
        .map(|q| q.1)
        .fold(0.0_f64, f64::max);
    let g_max = p
        .runs
        .iter()
        .flat_map(|run| run.exact.last())
        .map(|q| q.0)
        .fold(1.0_f64, f64::max);
    let mut chart = ChartBuilder::on(&right)
        .caption(
            "Moment G = w₁² − w₂² of the samples (balanced: G = 0)",
            (FONT, 15),
        )
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d(-g_max..g_max, 0.0..peak * 1.75)
        .map_err(e)?;
    // The band above the tallest histogram holds the legend.
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("moment G = w₁² − w₂² (dimensionless)")
        .y_desc("probability density of G")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()
        .map_err(e)?;
    for (i, run) in p.runs.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        let half = run
            .histogram
            .get(1)
            .zip(run.histogram.first())
            .map_or(0.0, |(b, a)| 0.5 * (b.0 - a.0));
        // Step outline of the histogram.
        let steps: Vec<(f64, f64)> = run
            .histogram
            .iter()
            .flat_map(|&(g, d)| [(g - half, d), (g + half, d)])
            .collect();
        let d = run.diagnostics;
        chart
            .draw_series(LineSeries::new(steps, c.stroke_width(2)))
            .map_err(e)?
            .label(format!(
                "βκ = {}: samples (acceptance {:.2}, ESS of ‖W‖² {:.0} of {} steps)",
                run.beta * p.kappa,
                d.acceptance_rate,
                d.ess,
                d.steps
            ))
            .legend(line_legend!(c, false));
        chart
            .draw_series(DashedLineSeries::new(
                run.exact.iter().copied(),
                5,
                3,
                BLACK.stroke_width(1),
            ))
            .map_err(e)?;
    }
    chart
        .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
        .map_err(e)?
        .label("exact density ∝ e^(−βκ√(G²+4x²)/2) (G²+4x²)^(−1/4)")
        .legend(line_legend!(BLACK, true));
    chart
        .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
        .map_err(e)?
        .label(format!(
            "left: fiber w₂w₁ = {x} (grey), balanced points ±(√x, √x) (×)"
        ))
        .legend(|(x, y)| Cross::new((x + 10, y), 5, BLACK.stroke_width(2)));
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present().map_err(e)
}
