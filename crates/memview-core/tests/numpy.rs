//! N-d slicing against NumPy: random shapes, random per-axis slices and
//! integer indices, transposes and flips; the gathered bytes must equal
//! NumPy's `tobytes()`.

use memview_core::{MemOrder, Slice, View};
use serde_json::{json, Value as Json};

use memview_testkit::{run_python, Rng};

const SCRIPT: &str = r#"
import json, sys
try:
    import numpy as np
except ImportError:
    print("NO-NUMPY"); sys.exit(0)
def run(c):
    a = np.arange(int(np.prod(c["shape"])), dtype=np.uint16).reshape(c["shape"])
    for op in c["ops"]:
        if op[0] == "s":
            a = a[tuple(slice(*s) for s in op[1])]
        elif op[0] == "i":
            a = a[tuple(op[1])]
        elif op[0] == "t":
            a = a.T
        elif op[0] == "f":
            a = np.flip(a, op[1])
    return {"shape": list(a.shape), "data": a.tobytes().hex()}
for line in sys.stdin:
    try:
        print(json.dumps(run(json.loads(line))))
    except IndexError as e:
        print(json.dumps({"error": str(e)}))
"#;

#[test]
fn nd_slicing_matches_numpy() {
    let mut rng = Rng::new(4242);
    let mut cases = Vec::new();
    for _ in 0..3000 {
        let nd = 1 + rng.below(4);
        let shape: Vec<usize> = (0..nd).map(|_| rng.below(6)).collect();
        let mut cur = shape.clone();
        let mut ops = Vec::new();
        for _ in 0..1 + rng.below(3) {
            if cur.is_empty() {
                break;
            }
            match rng.below(4) {
                0 => {
                    let k = 1 + rng.below(cur.len());
                    let sl: Vec<Json> = (0..k)
                        .map(|_| {
                            let o = |r: &mut Rng| {
                                if r.below(4) == 0 {
                                    Json::Null
                                } else {
                                    json!(r.below(15) as i64 - 7)
                                }
                            };
                            let step = if rng.below(3) == 0 {
                                Json::Null
                            } else {
                                json!([-3, -2, -1, 1, 2, 3][rng.below(6)])
                            };
                            json!([o(&mut rng), o(&mut rng), step])
                        })
                        .collect();
                    ops.push(json!(["s", sl]));
                    // Shapes are re-derived from NumPy's answer; only ndim matters here.
                }
                1 if cur.iter().all(|&d| d > 0) => {
                    let k = 1 + rng.below(cur.len());
                    let idx: Vec<i64> = cur[..k]
                        .iter()
                        .map(|&d| rng.below(2 * d) as i64 - d as i64)
                        .collect();
                    ops.push(json!(["i", idx]));
                    cur.drain(..k);
                }
                2 => {
                    ops.push(json!(["t"]));
                    cur.reverse();
                }
                _ => {
                    let ax = rng.below(cur.len());
                    ops.push(json!(["f", ax]));
                }
            }
        }
        cases.push(json!({"shape": shape, "ops": ops}));
    }
    let input: String = cases.iter().map(|c| c.to_string() + "\n").collect();
    let Some(out) = run_python(SCRIPT, &input) else {
        return;
    };
    if out.trim() == "NO-NUMPY" {
        memview_testkit::skip("NumPy");
        return;
    }
    let mut checked = 0;
    for (case, line) in cases.iter().zip(out.lines()) {
        let want: Json = serde_json::from_str(line).unwrap();
        let shape: Vec<usize> = case["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        let n: usize = shape.iter().product();
        let data: Vec<u8> = (0..n as u16).flat_map(|x| x.to_ne_bytes()).collect();
        let mut v = View::from_bytes(&data).cast("H", None).unwrap();
        if shape.len() != 1 {
            v = if n == 0 {
                View::from_parts(&data, "H", 0, &shape, &memview_strides(&shape)).unwrap()
            } else {
                v.cast("B", None).unwrap().cast("H", Some(&shape)).unwrap()
            };
        }
        let result = apply(v, case);
        if want.get("error").is_some() {
            assert!(
                result.is_err(),
                "{case}: numpy says {want}, ours {result:?}"
            );
            checked += 1;
            continue;
        }
        let v = result.unwrap();
        let got_shape: Vec<usize> = want["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(v.shape(), got_shape.as_slice(), "{case}");
        let hex = memview_testkit::hex(&v.to_bytes(MemOrder::C));
        assert_eq!(hex, want["data"].as_str().unwrap(), "{case}");
        checked += 1;
    }
    eprintln!("numpy N-d differential: {checked} cases");
    assert_eq!(checked, cases.len());
}

fn apply<'a>(mut v: View<'a>, case: &Json) -> Result<View<'a>, memview_core::ViewError> {
    for op in case["ops"].as_array().unwrap() {
        v = match op[0].as_str().unwrap() {
            "s" => {
                let sl: Vec<Slice> = op[1]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| {
                        let g = |i: usize| s[i].as_i64().map(|x| x as isize);
                        Slice::new(g(0), g(1), g(2))
                    })
                    .collect();
                v.slice(&sl)?
            }
            "i" => {
                let idx: Vec<isize> = op[1]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_i64().unwrap() as isize)
                    .collect();
                v.index(&idx)?
            }
            "t" => v.transpose(),
            _ => v.flip(op[1].as_u64().unwrap() as usize)?,
        };
    }
    Ok(v)
}

fn memview_strides(shape: &[usize]) -> Vec<isize> {
    let mut s = vec![0isize; shape.len()];
    let mut acc = 2isize;
    for i in (0..shape.len()).rev() {
        s[i] = acc;
        acc *= shape[i].max(1) as isize;
    }
    s
}
