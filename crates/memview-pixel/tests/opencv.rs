//! Against OpenCV (`cv2.resize`, `cv2.dnn.blobFromImagesWithParams`),
//! Pillow (`BILINEAR`) and a re-implementation
//! of Ultralytics' `LetterBox` in Python: memview's resizes and tensors
//! on random shapes, strided ROIs, every fit, order and layout.
//!
//! The inputs go to Python through files (up to a few tens of MiB), the
//! oracle's outputs come back the same way, and every byte or `f32` bit is
//! compared. `MEMVIEW_PYTHON` names the Python with the oracles (`cargo
//! xtask` makes a venv with pinned versions); without them the test skips
//! loudly, and fails in CI.

use std::fmt::Write as _;

use memview_pixel::convert::{yuv_to_rgb, Matrix, Range};
use memview_pixel::format::{GRAY8, I420, NV12, RGB24};
use memview_pixel::resize::{Interpolation, Resizer};
use memview_pixel::tensor::{
    Affine, ChannelOrder, Fit, Normalize, Preprocessor, TensorLayout, TensorSpec,
};
use memview_pixel::{Frame, FrameLayout, FrameMut, PixelFormat, Rect};
use memview_testkit::{fresh_dir, run_python, Rng};

const ORACLE: &str = r#"
import sys, json
try:
    import numpy as np, cv2
    from PIL import Image
except ImportError as e:
    print("NO-ORACLE", e)
    sys.exit(0)
d = sys.stdin.readline().strip()
data = open(d + "/in.bin", "rb").read()
out = open(d + "/out.bin", "wb")
def img(c):
    a = np.frombuffer(data, np.uint8, c["w"] * c["h"] * c["cn"], c["off"])
    return a.reshape(c["h"], c["w"], c["cn"]) if c["cn"] > 1 else a.reshape(c["h"], c["w"])
answers = []
for line in open(d + "/cases.jsonl"):
    c = json.loads(line)
    k = c["kind"]
    extra = None
    try:
        if k == "resize":
            src = img(c)
            if c["interp"] == "antialias":
                r = np.asarray(Image.fromarray(src).resize((c["dw"], c["dh"]), Image.BILINEAR))
            else:
                flag = {"linear": cv2.INTER_LINEAR, "nearest": cv2.INTER_NEAREST, "area": cv2.INTER_AREA}[c["interp"]]
                r = cv2.resize(src, (c["dw"], c["dh"]), interpolation=flag)
            b = np.ascontiguousarray(r, np.uint8).tobytes()
        elif k == "blob":
            ims = [img(i) for i in c["images"]]
            p = cv2.dnn.Image2BlobParams()
            p.size = tuple(c["size"])
            p.scalefactor = tuple(c["scale"]) + (1.0,)
            p.mean = tuple(c["mean"]) + (0.0,)
            p.swapRB = c["swap"]
            p.ddepth = cv2.CV_32F
            p.datalayout = cv2.DNN_LAYOUT_NHWC if c["nhwc"] else cv2.DNN_LAYOUT_NCHW
            p.paddingmode = {"stretch": cv2.dnn.DNN_PMODE_NULL, "letterbox": cv2.dnn.DNN_PMODE_LETTERBOX,
                             "crop": cv2.dnn.DNN_PMODE_CROP_CENTER}[c["mode"]]
            p.borderValue = tuple(c["border"]) + (0.0,)
            blob = cv2.dnn.blobFromImagesWithParams(ims, p)
            b = np.ascontiguousarray(blob, np.float32).tobytes()
        elif k == "yolo":
            # Ultralytics' LetterBox(new_shape, auto=False, scaleup=True, center=True).
            src = img(c)
            h, w = src.shape[:2]
            H, W = c["H"], c["W"]
            r = min(H / h, W / w)
            new_unpad = int(round(w * r)), int(round(h * r))
            dw, dh = (W - new_unpad[0]) / 2, (H - new_unpad[1]) / 2
            if (w, h) != new_unpad:
                src = cv2.resize(src, new_unpad, interpolation=cv2.INTER_LINEAR)
            top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
            left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
            src = cv2.copyMakeBorder(src, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114))
            t = src.transpose(2, 0, 1).astype(np.float32) / np.float32(255)
            b = np.ascontiguousarray(t).tobytes()
            extra = [left, top, new_unpad[0], new_unpad[1]]
    except cv2.error as e:
        b = b""
        extra = "error"
    answers.append({"len": len(b), "extra": extra})
    out.write(b)
out.close()
print(json.dumps(answers))
"#;

/// A case for the oracle: its JSON line, and what memview made.
struct Case {
    json: String,
    ours: Result<Vec<u8>, String>,
    extra: Option<String>,
    what: String,
}

struct Batch {
    input: Vec<u8>,
    cases: Vec<Case>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            input: Vec::new(),
            cases: Vec::new(),
        }
    }

    /// Appends a tight image to the input file: its offset.
    fn image(&mut self, bytes: &[u8]) -> usize {
        let off = self.input.len();
        self.input.extend_from_slice(bytes);
        off
    }

    /// Sends every case to the oracle and compares the answers; false when
    /// the oracle is missing (the test has said it skips).
    fn check(self, name: &str) -> bool {
        let dir = fresh_dir("pixel-opencv", name);
        std::fs::write(dir.join("in.bin"), &self.input).unwrap();
        let lines: String = self.cases.iter().map(|c| format!("{}\n", c.json)).collect();
        std::fs::write(dir.join("cases.jsonl"), lines).unwrap();
        let Some(out) = run_python(ORACLE, &format!("{}\n", dir.display())) else {
            return false;
        };
        if out.starts_with("NO-ORACLE") {
            memview_testkit::skip(&format!("OpenCV and Pillow ({})", out.trim()));
            return false;
        }
        let answers: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        let answers = answers.as_array().unwrap();
        assert_eq!(answers.len(), self.cases.len());
        let theirs = std::fs::read(dir.join("out.bin")).unwrap();
        let mut at = 0;
        let mut failures = String::new();
        let mut refused_both = 0;
        for (case, a) in self.cases.iter().zip(answers) {
            let len = a["len"].as_u64().unwrap() as usize;
            let t = &theirs[at..at + len];
            at += len;
            let refused = a["extra"] == "error";
            match (&case.ours, refused) {
                (Err(_), true) => refused_both += 1,
                (Err(e), false) => writeln!(
                    failures,
                    "{}: memview refused ({e}), the oracle did not",
                    case.what
                )
                .unwrap(),
                (Ok(_), true) => writeln!(
                    failures,
                    "{}: the oracle refused, memview did not",
                    case.what
                )
                .unwrap(),
                (Ok(ours), false) => {
                    if ours.len() != t.len() {
                        writeln!(
                            failures,
                            "{}: {} bytes, the oracle {}",
                            case.what,
                            ours.len(),
                            t.len()
                        )
                        .unwrap();
                    } else if let Some(i) = ours.iter().zip(t).position(|(a, b)| a != b) {
                        let n = ours.iter().zip(t).filter(|(a, b)| a != b).count();
                        writeln!(
                            failures,
                            "{}: {n} bytes differ, the first at byte {i}",
                            case.what
                        )
                        .unwrap();
                    }
                    if let Some(e) = &case.extra {
                        let theirs = a["extra"].to_string();
                        if *e != theirs {
                            writeln!(
                                failures,
                                "{}: geometry {e}, the oracle's {theirs}",
                                case.what
                            )
                            .unwrap();
                        }
                    }
                }
            }
        }
        assert!(
            failures.is_empty(),
            "mismatches against the oracle:\n{failures}"
        );
        eprintln!(
            "{name}: {} cases equal the oracle's, {refused_both} refused by both",
            self.cases.len() - refused_both
        );
        assert!(
            refused_both * 4 < self.cases.len(),
            "most cases must compare"
        );
        true
    }
}

/// A random frame of `format`, `w x h`.
fn noise(
    format: &'static PixelFormat,
    w: usize,
    h: usize,
    rng: &mut Rng,
) -> (Vec<u8>, FrameLayout) {
    let layout = FrameLayout::tight(format, w, h).unwrap();
    let bytes = (0..layout.len()).map(|_| rng.below(256) as u8).collect();
    (bytes, layout)
}

/// A side of 1..=max, log-uniform (small sizes as likely as large).
fn side(rng: &mut Rng, min: usize, max: usize) -> usize {
    let t = rng.below(10_001) as f64 / 10_000.0;
    ((min as f64) * ((max as f64 / min as f64).powf(t))).round() as usize
}

fn random_rect(rng: &mut Rng, fw: usize, fh: usize, max: usize) -> Rect {
    let w = side(rng, 2, max.min(fw));
    let h = side(rng, 2, max.min(fh));
    Rect::new(rng.below(fw - w + 1), rng.below(fh - h + 1), w, h)
}

#[test]
fn resizes_equal_opencv_and_pillow() {
    let mut rng = Rng::new(0x5e5e);
    let mut batch = Batch::new();
    let mut resizer = Resizer::new();
    let frames = [
        (&RGB24, noise(&RGB24, 480, 440, &mut rng)),
        (&GRAY8, noise(&GRAY8, 480, 440, &mut rng)),
    ];
    for i in 0..400 {
        let (fmt, (bytes, layout)) = &frames[i % 2];
        let frame = Frame::from_bytes(bytes, layout).unwrap();
        let (interp, name) = *rng.pick(&[
            (Interpolation::Linear, "linear"),
            (Interpolation::Linear, "linear"),
            (Interpolation::Nearest, "nearest"),
            (Interpolation::Area, "area"),
            (Interpolation::Antialias, "antialias"),
        ]);
        let (r, dw, dh) = if interp == Interpolation::Area {
            let k = *rng.pick(&[2usize, 4]);
            let (dw, dh) = (side(&mut rng, 1, 100), side(&mut rng, 1, 100));
            let r = Rect::new(
                rng.below(480 - dw * k + 1),
                rng.below(440 - dh * k + 1),
                dw * k,
                dh * k,
            );
            (r, dw, dh)
        } else {
            (
                random_rect(&mut rng, 480, 440, 400),
                side(&mut rng, 1, 640),
                side(&mut rng, 1, 640),
            )
        };
        let roi = frame.roi(r).unwrap();
        let cn = fmt.plane_group_bytes(0);
        let off = batch.image(&roi.frame().to_vec());
        let dl = FrameLayout::tight(fmt, dw, dh).unwrap();
        let mut out = vec![0u8; dl.len()];
        let ours = resizer
            .resize(
                roi.frame(),
                &mut FrameMut::from_bytes(&mut out, &dl).unwrap(),
                interp,
            )
            .map(|()| out)
            .map_err(|e| e.to_string());
        batch.cases.push(Case {
            json: format!(
                r#"{{"kind":"resize","w":{},"h":{},"cn":{cn},"off":{off},"dw":{dw},"dh":{dh},"interp":"{name}"}}"#,
                r.w, r.h
            ),
            ours,
            extra: None,
            what: format!("{name} {}x{}x{cn} -> {dw}x{dh}", r.w, r.h),
        });
    }
    let antialias: Vec<bool> = batch
        .cases
        .iter()
        .map(|c| c.json.contains("antialias"))
        .collect();
    // Pillow is held to "within 1", the rest to every byte: compare the
    // antialiased cases separately.
    let (exact, pil): (Vec<_>, Vec<_>) = batch
        .cases
        .into_iter()
        .zip(antialias)
        .partition(|(_, a)| !a);
    let exact = Batch {
        input: batch.input.clone(),
        cases: exact.into_iter().map(|(c, _)| c).collect(),
    };
    if !exact.check("resize") {
        return;
    }
    within_one(batch.input, pil.into_iter().map(|(c, _)| c).collect());
}

/// Pillow's antialiased cases: every byte within 1.
fn within_one(input: Vec<u8>, cases: Vec<Case>) {
    let dir = fresh_dir("pixel-opencv", "pillow");
    std::fs::write(dir.join("in.bin"), &input).unwrap();
    let lines: String = cases.iter().map(|c| format!("{}\n", c.json)).collect();
    std::fs::write(dir.join("cases.jsonl"), lines).unwrap();
    let Some(out) = run_python(ORACLE, &format!("{}\n", dir.display())) else {
        return;
    };
    let answers: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let theirs = std::fs::read(dir.join("out.bin")).unwrap();
    let (mut at, mut exact, mut worst) = (0, 0, 0);
    for (case, a) in cases.iter().zip(answers.as_array().unwrap()) {
        let len = a["len"].as_u64().unwrap() as usize;
        let t = &theirs[at..at + len];
        at += len;
        let ours = case
            .ours
            .as_ref()
            .unwrap_or_else(|e| panic!("{}: {e}", case.what));
        assert_eq!(ours.len(), t.len(), "{}", case.what);
        let d = ours
            .iter()
            .zip(t)
            .map(|(&a, &b)| a.abs_diff(b))
            .max()
            .unwrap_or(0);
        assert!(d <= 1, "{}: differs from Pillow by {d}", case.what);
        worst = worst.max(d);
        exact += usize::from(d == 0);
    }
    eprintln!(
        "antialias: {} cases, {exact} byte-identical to Pillow, the worst off by {worst}",
        cases.len()
    );
}

fn fit_name(f: Fit) -> &'static str {
    match f {
        Fit::Stretch => "stretch",
        Fit::Letterbox { .. } => "letterbox",
        Fit::Yolo { .. } => "yolo",
        Fit::CenterCrop => "crop",
    }
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_ne_bytes()).collect()
}

/// The RGB of `rect`, as memview converts the whole frame (what OpenCV is
/// given; the conversion itself is held to swscale elsewhere).
fn rgb_of(rgb: &[u8], fw: usize, r: Rect) -> Vec<u8> {
    let mut out = Vec::with_capacity(r.w * r.h * 3);
    for y in r.y..r.y + r.h {
        out.extend_from_slice(&rgb[(y * fw + r.x) * 3..(y * fw + r.x + r.w) * 3]);
    }
    out
}

#[test]
fn tensors_equal_blob_from_images() {
    let mut rng = Rng::new(0xb10b);
    let (fw, fh) = (640, 480);
    let mut batch = Batch::new();
    let mut checked = 0;
    for format in [&I420, &NV12] {
        let (yuv, layout) = noise(format, fw, fh, &mut rng);
        let frame = Frame::from_bytes(&yuv, &layout).unwrap();
        let rl = FrameLayout::tight(&RGB24, fw, fh).unwrap();
        let mut rgb = vec![0u8; rl.len()];
        yuv_to_rgb(
            &frame,
            &mut FrameMut::from_bytes(&mut rgb, &rl).unwrap(),
            Matrix::Bt601,
            Range::Limited,
        )
        .unwrap();
        for _ in 0..180 {
            let fit = *rng.pick(&[
                Fit::Stretch,
                Fit::Letterbox { fill: [0; 3] },
                Fit::CenterCrop,
            ]);
            let mut spec = TensorSpec::new(side(&mut rng, 1, 640), side(&mut rng, 1, 640));
            spec.fit = match fit {
                Fit::Letterbox { .. } => Fit::Letterbox {
                    fill: [
                        rng.below(256) as u8,
                        rng.below(256) as u8,
                        rng.below(256) as u8,
                    ],
                },
                f => f,
            };
            spec.order = *rng.pick(&[ChannelOrder::Rgb, ChannelOrder::Bgr]);
            spec.layout = *rng.pick(&[TensorLayout::Nchw, TensorLayout::Nhwc]);
            let (mean, scale) = if rng.below(4) == 0 {
                ([0.0f32; 3], [1.0f32; 3])
            } else {
                let m = |r: &mut Rng| r.below(256) as f32 + r.below(1000) as f32 / 1000.0;
                let s = |r: &mut Rng| 1.0 / (1.0 + r.below(300) as f32);
                (
                    [m(&mut rng), m(&mut rng), m(&mut rng)],
                    [s(&mut rng), s(&mut rng), s(&mut rng)],
                )
            };
            spec.normalize = Normalize::MeanScale { mean, scale };
            // Also the degenerate cases: a zone already of the tensor's size.
            let n = 1 + rng.below(3);
            let mut rects: Vec<Rect> = (0..n).map(|_| random_rect(&mut rng, fw, fh, 400)).collect();
            if rng.below(10) == 0 {
                let (w, h) = (spec.width.min(fw), spec.height.min(fh));
                rects[0] = Rect::new(0, 0, w.max(1), h.max(1));
            }
            let mut pre = Preprocessor::new(spec).unwrap();
            let mut out = vec![0f32; n * pre.slot_len()];
            let mut maps = vec![Affine::default(); n];
            let ours = pre
                .run(&frame, &rects, &mut out, &mut maps)
                .map(|()| f32_bytes(&out))
                .map_err(|e| e.to_string());
            // OpenCV's swapRB turns our RGB input into BGR output.
            let images: Vec<String> = rects
                .iter()
                .map(|&r| {
                    let off = batch.image(&rgb_of(&rgb, fw, r));
                    format!(r#"{{"w":{},"h":{},"cn":3,"off":{off}}}"#, r.w, r.h)
                })
                .collect();
            let border = match spec.fit {
                Fit::Letterbox { fill } => fill,
                _ => [0; 3],
            };
            let what = format!(
                "{} {:?} zones -> {}x{} {} {:?} {:?}",
                format.name,
                rects.iter().map(|r| (r.w, r.h)).collect::<Vec<_>>(),
                spec.width,
                spec.height,
                fit_name(spec.fit),
                spec.order,
                spec.layout
            );
            batch.cases.push(Case {
                json: format!(
                    r#"{{"kind":"blob","images":[{}],"size":[{},{}],"mean":{:?},"scale":{:?},"swap":{},"nhwc":{},"mode":"{}","border":{:?}}}"#,
                    images.join(","),
                    spec.width,
                    spec.height,
                    mean.map(f64::from),
                    scale.map(f64::from),
                    if spec.order == ChannelOrder::Bgr { "true" } else { "false" },
                    if spec.layout == TensorLayout::Nhwc { "true" } else { "false" },
                    fit_name(spec.fit),
                    border.map(f64::from),
                ),
                ours,
                extra: None,
                what,
            });
            checked += 1;
        }
    }
    assert_eq!(checked, 360);
    // Zones that letterbox to nothing are refused by both; at least 300
    // must compare.
    let refusals = batch.cases.iter().filter(|c| c.ours.is_err()).count();
    assert!(
        checked - refusals >= 300,
        "only {} cases compare",
        checked - refusals
    );
    batch.check("blob");
}

#[test]
fn yolo_letterbox_equals_ultralytics() {
    let mut rng = Rng::new(0x7010);
    let (fw, fh) = (640, 480);
    let (yuv, layout) = noise(&I420, fw, fh, &mut rng);
    let frame = Frame::from_bytes(&yuv, &layout).unwrap();
    let rl = FrameLayout::tight(&RGB24, fw, fh).unwrap();
    let mut rgb = vec![0u8; rl.len()];
    yuv_to_rgb(
        &frame,
        &mut FrameMut::from_bytes(&mut rgb, &rl).unwrap(),
        Matrix::Bt601,
        Range::Limited,
    )
    .unwrap();
    let mut batch = Batch::new();
    // Shapes where `round` meets a half (r * side = k + 0.5), then random.
    let mut shapes = vec![
        (5, 2, 5, 5),
        (3, 1, 5, 5),
        (7, 3, 9, 9),
        (10, 4, 5, 5),
        (640, 480, 640, 640),
        // Integer factors: rows under taps of weight 0 go unconverted.
        (480, 360, 160, 160),
        (600, 450, 120, 120),
        (15, 9, 45, 45),
        (13, 7, 65, 65),
    ];
    for _ in 0..60 {
        let r = random_rect(&mut rng, fw, fh, 400);
        shapes.push((r.w, r.h, side(&mut rng, 1, 640), side(&mut rng, 1, 640)));
    }
    for (w, h, tw, th) in shapes {
        let r = Rect::new(rng.below(fw - w + 1), rng.below(fh - h + 1), w, h);
        let mut spec = TensorSpec::new(tw, th);
        spec.fit = Fit::Yolo { fill: [114; 3] };
        spec.normalize = Normalize::MeanStd {
            mean: [0.0; 3],
            std: [1.0; 3],
        };
        let mut pre = Preprocessor::new(spec).unwrap();
        let mut out = vec![0f32; pre.slot_len()];
        let mut maps = [Affine::default()];
        let ours = pre.run(&frame, &[r], &mut out, &mut maps);
        let extra = spec.place(w, h).ok().map(|p| {
            let (nw, nh) = p.resized.unwrap_or((w, h));
            format!("[{},{},{nw},{nh}]", p.at.0, p.at.1)
        });
        let off = batch.image(&rgb_of(&rgb, fw, r));
        batch.cases.push(Case {
            json: format!(
                r#"{{"kind":"yolo","w":{w},"h":{h},"cn":3,"off":{off},"W":{tw},"H":{th}}}"#
            ),
            ours: ours.map(|()| f32_bytes(&out)).map_err(|e| e.to_string()),
            extra,
            what: format!("yolo {w}x{h} -> {tw}x{th}"),
        });
    }
    batch.check("yolo");
}

#[test]
fn maps_send_tensor_corners_to_zone_corners() {
    let layout = FrameLayout::tight(&I420, 320, 240).unwrap();
    let yuv = vec![100u8; layout.len()];
    let frame = Frame::from_bytes(&yuv, &layout).unwrap();
    let mut rng = Rng::new(0xaff1);
    for _ in 0..500 {
        let r = random_rect(&mut rng, 320, 240, 300);
        let mut spec = TensorSpec::new(side(&mut rng, 1, 640), side(&mut rng, 1, 640));
        spec.fit = *rng.pick(&[
            Fit::Stretch,
            Fit::Letterbox { fill: [0; 3] },
            Fit::Yolo { fill: [114; 3] },
            Fit::CenterCrop,
        ]);
        let Ok(p) = spec.place(r.w, r.h) else {
            continue;
        };
        let mut pre = Preprocessor::new(spec).unwrap();
        let mut out = vec![0f32; pre.slot_len()];
        let m = pre.run_one(&frame, r, &mut out).unwrap();
        assert_eq!(m, p.affine((r.x, r.y)));
        let (rw, rh) = p.resized.unwrap_or((r.w, r.h));
        let close =
            |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).abs() < 1e-6 && (a.1 - b.1).abs() < 1e-6;
        match spec.fit {
            // The resized zone's corners are the zone's corners.
            Fit::Stretch | Fit::Letterbox { .. } | Fit::Yolo { .. } => {
                let (x0, y0) = (p.at.0 as f64, p.at.1 as f64);
                assert!(
                    close(m.apply(x0, y0), (r.x as f64, r.y as f64)),
                    "{spec:?} {r}"
                );
                let far = m.apply(x0 + rw as f64, y0 + rh as f64);
                assert!(
                    close(far, ((r.x + r.w) as f64, (r.y + r.h) as f64)),
                    "{spec:?} {r}: {far:?}"
                );
            }
            // The crop's corners lie inside the zone, centred.
            Fit::CenterCrop => {
                let (a, b) = (
                    m.apply(0.0, 0.0),
                    m.apply(spec.width as f64, spec.height as f64),
                );
                // (The factor is OpenCV's f32: the far side may pass the
                // zone's by its rounding.)
                assert!(
                    a.0 >= r.x as f64 - 1e-3 && a.1 >= r.y as f64 - 1e-3,
                    "{spec:?} {r}"
                );
                assert!(
                    b.0 <= (r.x + r.w) as f64 + 1e-3 && b.1 <= (r.y + r.h) as f64 + 1e-3,
                    "{spec:?} {r}: {b:?}"
                );
                let (cx, cy) = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
                let (zx, zy) = (r.x as f64 + r.w as f64 / 2.0, r.y as f64 + r.h as f64 / 2.0);
                assert!(
                    (cx - zx).abs() <= m.sx && (cy - zy).abs() <= m.sy,
                    "{spec:?} {r}"
                );
            }
        }
    }
}
