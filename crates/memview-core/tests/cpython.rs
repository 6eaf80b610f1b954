//! Differential tests against python3's memoryview: generated chains of
//! slices, casts and item accesses, all answered by one python3 process.

use memview_core::{MemOrder, Slice, View, ViewError};
use serde_json::{json, Value as Json};

use memview_testkit::{run_python, Rng};

const SCRIPT: &str = r#"
import json, struct, sys
def enc(v):
    if isinstance(v, bytes): return {"b": v.hex()}
    if isinstance(v, float):
        return {"f": struct.pack("<d", v).hex()}
    if isinstance(v, list): return [enc(x) for x in v]
    return v
def err(e):
    return {"error": str(e)}
for line in sys.stdin:
    c = json.loads(line)
    m = memoryview(bytearray(bytes(i * 37 % 256 for i in range(c["n"]))))
    try:
        if c["fmt"] != "B" or c["shape"] is not None:
            m = m.cast(c["fmt"], c["shape"]) if c["shape"] is not None else m.cast(c["fmt"])
        for op in c["ops"]:
            if op[0] == "slice":
                m = m[slice(op[1], op[2], op[3])]
            elif op[0] == "cast":
                m = m.cast(op[1], op[2]) if op[2] is not None else m.cast(op[1])
        out = {"shape": list(m.shape), "strides": list(m.strides), "format": m.format,
               "itemsize": m.itemsize, "c": m.c_contiguous, "f": m.f_contiguous,
               "contig": m.contiguous, "C": m.tobytes("C").hex(), "F": m.tobytes("F").hex(),
               "A": m.tobytes("A").hex(), "hex": m.hex()}
        if "item" in c:
            try:
                out["item"] = enc(m[tuple(c["item"])])
            except (IndexError, TypeError, NotImplementedError) as e:
                out["item"] = err(e)
        try:
            out["list"] = enc(m.tolist())
        except NotImplementedError as e:
            out["list"] = err(e)
        print(json.dumps(out))
    except (TypeError, ValueError, NotImplementedError) as e:
        print(json.dumps(err(e)))
"#;

fn opt(rng: &mut Rng, lo: isize, hi: isize) -> Json {
    if rng.below(5) == 0 {
        Json::Null
    } else {
        json!(lo + rng.below((hi - lo + 1) as usize) as isize)
    }
}

const CAST_FORMATS: &[&str] = &[
    "B", "b", "c", "h", "H", "i", "I", "l", "q", "Q", "f", "d", "?", "@B", "@i", "P", "n", "N",
    "<i", "=B", "2i", "ii", "e", "x", "s", "", "i ",
];

fn generate() -> Vec<Json> {
    let mut cases = Vec::new();
    // The 1-D slicing grid: every start/stop/step over small lengths.
    let vals: Vec<Json> = std::iter::once(Json::Null)
        .chain((-7..=7).map(|v| json!(v)))
        .collect();
    let steps: Vec<Json> = [
        Json::Null,
        json!(-3),
        json!(-2),
        json!(-1),
        json!(1),
        json!(2),
        json!(3),
        json!(0),
    ]
    .to_vec();
    for n in [0usize, 1, 2, 5] {
        for a in &vals {
            for b in &vals {
                for s in &steps {
                    cases.push(
                        json!({"n": n, "fmt": "B", "shape": null, "ops": [["slice", a, b, s]]}),
                    );
                }
            }
        }
    }
    let mut rng = Rng::new(31337);
    // Chained slices over typed and N-d views, with item access.
    for _ in 0..4000 {
        let (fmt, isz) = *rng.pick(&[("B", 1), ("h", 2), ("i", 4), ("d", 8), ("c", 1), ("?", 1)]);
        let n = isz * rng.below(13);
        let shape = match rng.below(3) {
            0 => Json::Null,
            1 if n > 0 && (n / isz).is_multiple_of(2) => json!([2, n / isz / 2]),
            _ => json!([n / isz]),
        };
        let ops: Vec<Json> = (0..1 + rng.below(3))
            .map(|_| {
                json!([
                    "slice",
                    opt(&mut rng, -8, 8),
                    opt(&mut rng, -8, 8),
                    opt(&mut rng, -3, 3)
                ])
            })
            .collect();
        let nd = if shape.as_array().is_some_and(|s| s.len() == 2) {
            2
        } else {
            1
        };
        let item: Vec<isize> = (0..nd).map(|_| rng.below(9) as isize - 4).collect();
        let (fmt, shape) = if fmt == "B" && shape.is_null() {
            ("B", Json::Null)
        } else {
            (fmt, shape.clone())
        };
        let shape = if shape.is_null() && fmt != "B" {
            json!([n / isz])
        } else {
            shape
        };
        cases.push(json!({"n": n, "fmt": fmt, "shape": shape, "ops": ops, "item": item}));
    }
    // The cast matrix: sources (1-D, N-d, non-contiguous, empty) by
    // destination formats by shapes.
    let shapes: Vec<Json> = vec![
        Json::Null,
        json!([]),
        json!([1]),
        json!([2]),
        json!([3]),
        json!([2, 3]),
        json!([3, 2]),
        json!([6]),
        json!([0]),
        json!([2, 0]),
        json!([1, 2, 3]),
        json!([4, 6]),
        json!([24]),
    ];
    for n in [0usize, 1, 6, 8, 24] {
        for src in [
            json!([]),
            json!([["slice", null, null, 2]]),
            json!([["cast", "B", [2, n / 2]]]),
            json!([["cast", "i", null]]),
            json!([["slice", 0, 0, null]]),
        ] {
            for &dst in CAST_FORMATS {
                for sh in &shapes {
                    let mut ops = src.as_array().unwrap().clone();
                    ops.push(json!(["cast", dst, sh]));
                    cases.push(json!({"n": n, "fmt": "B", "shape": null, "ops": ops}));
                }
            }
        }
    }
    cases
}

fn slice_arg(v: &Json) -> Option<isize> {
    v.as_i64().map(|x| x as isize)
}

fn shape_arg(v: &Json) -> Option<Vec<usize>> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_u64().unwrap() as usize).collect())
}

/// Applies a case to our View; the same observations as the script.
fn ours(case: &Json, data: &[u8]) -> Result<Json, ViewError> {
    let mut v = View::from_bytes(data);
    let fmt = case["fmt"].as_str().unwrap();
    if fmt != "B" || !case["shape"].is_null() {
        v = v.cast(fmt, shape_arg(&case["shape"]).as_deref())?;
    }
    for op in case["ops"].as_array().unwrap() {
        match op[0].as_str().unwrap() {
            "slice" => {
                v = v
                    .slice_axis(
                        0,
                        Slice::new(slice_arg(&op[1]), slice_arg(&op[2]), slice_arg(&op[3])),
                    )
                    .map_err(|e| {
                        if v.ndim() == 0 {
                            ViewError::ZeroDimIndex
                        } else {
                            e
                        }
                    })?;
            }
            _ => v = v.cast(op[1].as_str().unwrap(), shape_arg(&op[2]).as_deref())?,
        }
    }
    let hex = |b: Vec<u8>| memview_testkit::hex(&b);
    let mut out = json!({
        "shape": v.shape(), "strides": v.strides(), "format": v.format(), "itemsize": v.itemsize(),
        "c": v.is_c_contiguous(), "f": v.is_f_contiguous(), "contig": v.is_contiguous(),
        "C": hex(v.to_bytes(MemOrder::C)), "F": hex(v.to_bytes(MemOrder::F)),
        "A": hex(v.to_bytes(MemOrder::A)), "hex": v.hex(),
    });
    if let Some(idx) = case.get("item") {
        let idx: Vec<isize> = idx
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap() as isize)
            .collect();
        out["item"] = match v.index(&idx).and_then(|it| it.tolist()) {
            Ok(memview_core::List::Item(val)) => enc(&val),
            Ok(_) => unreachable!(),
            // memoryview gives these for partial indexing and 0-d views.
            Err(ViewError::TooManyIndices { ndim, given }) if ndim > given => {
                json!({"error": "sub-views are not implemented"})
            }
            Err(e) => json!({"error": e.to_string()}),
        };
    }
    out["list"] = match v.tolist() {
        Ok(l) => enc_list(&l),
        Err(e) => json!({"error": e.to_string()}),
    };
    Ok(out)
}

fn enc(v: &memview_format::Value) -> Json {
    use memview_format::Value;
    match v {
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(*i as i64),
        Value::Float(f) => {
            json!({"f": memview_testkit::hex(&f.to_le_bytes())})
        }
        Value::Bytes(b) => json!({"b": memview_testkit::hex(b)}),
    }
}

fn enc_list(l: &memview_core::List) -> Json {
    match l {
        memview_core::List::Item(v) => enc(v),
        memview_core::List::List(xs) => Json::Array(xs.iter().map(enc_list).collect()),
    }
}

#[test]
fn memoryview_differential() {
    let cases = generate();
    let input: String = cases.iter().map(|c| c.to_string() + "\n").collect();
    let Some(stdout) = run_python(SCRIPT, &input) else {
        return;
    };
    let answers: Vec<Json> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), cases.len());
    let (mut errors, mut mismatches) = (0, Vec::new());
    for (case, want) in cases.iter().zip(&answers) {
        let n = case["n"].as_u64().unwrap() as usize;
        let data: Vec<u8> = (0..n).map(|i| (i * 37 % 256) as u8).collect();
        let got = match ours(case, &data) {
            Ok(j) => j,
            Err(e) => json!({"error": e.to_string()}),
        };
        if want.get("error").is_some() {
            errors += 1;
        }
        if &got != want {
            mismatches.push(format!("{case}\n  ours   {got}\n  python {want}"));
        }
    }
    eprintln!(
        "memoryview differential: {} cases ({errors} errors), {} mismatches",
        cases.len(),
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches, first:\n{}",
        mismatches.len(),
        mismatches[..mismatches.len().min(8)].join("\n")
    );
    assert!(errors > 1000 && cases.len() - errors > 5000);
}

/// memoryview `==` between two views of (possibly different) buffers,
/// formats, slicings and shapes.
#[test]
fn equality_differential() {
    const EQ: &str = r#"
import json, struct, sys
for line in sys.stdin:
    c = json.loads(line)
    views = []
    for side in (c["a"], c["b"]):
        vals = [float("nan") if v is None else v for v in side["vals"]]
        data = bytearray(struct.pack("<%dd" % len(vals), *vals))
        m = memoryview(data).cast("B").cast(side["fmt"])
        if side["shape"] is not None:
            m = m.cast("B").cast(side["fmt"], side["shape"])
        s = side["slice"]
        m = m[slice(*s)]
        views.append(m)
    print(json.dumps(views[0] == views[1]))
"#;
    let mut rng = Rng::new(2024);
    let pool = [0.0, 1.0, -1.0, 2.5, f64::NAN, 255.0, 1e300];
    let fmts = ["B", "b", "c", "h", "H", "i", "q", "d", "f", "?", "@i", "l"];
    let mut cases = Vec::new();
    for _ in 0..3000 {
        let n = 1 + rng.below(3);
        let vals: Vec<f64> = (0..n).map(|_| *rng.pick(&pool)).collect();
        let mk = |rng: &mut Rng, vals: &Vec<f64>| {
            let fmt = *rng.pick(&fmts);
            let isz = memview_format::Format::parse(fmt, memview_format::Dialect::Struct)
                .unwrap()
                .size();
            let items = vals.len() * 8 / isz;
            let shape = if items.is_multiple_of(2) && rng.below(3) == 0 {
                json!([2, items / 2])
            } else {
                Json::Null
            };
            let step = [1, 1, 2, -1][rng.below(4)];
            json!({"vals": vals, "fmt": fmt, "shape": shape, "slice": [Json::Null, Json::Null, step]})
        };
        // Half the time both sides share values, to get equal pairs.
        let a = mk(&mut rng, &vals);
        let b = if rng.below(2) == 0 {
            let mut b = a.clone();
            b["fmt"] = json!(*rng.pick(&fmts));
            b["shape"] = Json::Null;
            if rng.below(2) == 0 {
                b = a.clone();
            }
            b
        } else {
            let other: Vec<f64> = (0..n).map(|_| *rng.pick(&pool)).collect();
            mk(&mut rng, &other)
        };
        cases.push(json!({"a": a, "b": b}));
    }
    let input: String = cases.iter().map(|c| c.to_string() + "\n").collect();
    let Some(out) = run_python(EQ, &input) else {
        return;
    };
    let (mut equal, mut checked) = (0, 0);
    for (case, line) in cases.iter().zip(out.lines()) {
        let want: bool = serde_json::from_str(line).unwrap();
        let build = |side: &Json| -> (Vec<u8>, String, Json, isize) {
            let bytes: Vec<u8> = side["vals"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|v| v.as_f64().unwrap_or(f64::NAN).to_le_bytes())
                .collect();
            (
                bytes,
                side["fmt"].as_str().unwrap().to_owned(),
                side["shape"].clone(),
                side["slice"][2].as_i64().unwrap() as isize,
            )
        };
        let (ab, af, ash, ast) = build(&case["a"]);
        let (bb, bf, bsh, bst) = build(&case["b"]);
        fn view<'b>(bytes: &'b [u8], f: &str, sh: &Json, st: isize) -> Option<View<'b>> {
            let v = View::from_bytes(bytes)
                .cast(f, shape_arg(sh).as_deref())
                .ok()?;
            v.slice_axis(0, Slice::new(None, None, Some(st))).ok()
        }
        let (Some(va), Some(vb)) = (view(&ab, &af, &ash, ast), view(&bb, &bf, &bsh, bst)) else {
            panic!("python built {case} but we could not");
        };
        assert_eq!(va == vb, want, "{case}");
        equal += usize::from(want);
        checked += 1;
    }
    eprintln!("memoryview equality differential: {checked} pairs ({equal} equal)");
    assert!(checked == cases.len() && equal > 300);
}

/// `?` items compare their stored bytes, as CPython's `unpack_cmp` does:
/// two `True`s stored as 1 and 2 are not equal (issue 13). Every pair of
/// bytes 0..=3, and 2-item views, against python3.
#[test]
fn bool_items_compare_stored_bytes() {
    const EQ: &str = r#"
import json, sys
for line in sys.stdin:
    a, b = json.loads(line)
    print(json.dumps(memoryview(bytes(a)).cast("?") == memoryview(bytes(b)).cast("?")))
"#;
    let mut cases = Vec::new();
    for a in 0u8..4 {
        for b in 0u8..4 {
            cases.push((vec![a], vec![b]));
            cases.push((vec![a, 1], vec![b, 1]));
        }
    }
    let input: String = cases
        .iter()
        .map(|c| json!([c.0, c.1]).to_string() + "\n")
        .collect();
    let Some(out) = run_python(EQ, &input) else {
        return;
    };
    let mut unequal_trues = 0;
    for ((a, b), line) in cases.iter().zip(out.lines()) {
        let want: bool = serde_json::from_str(line).unwrap();
        let va = View::from_bytes(a).cast("?", None).unwrap();
        let vb = View::from_bytes(b).cast("?", None).unwrap();
        assert_eq!(va == vb, want, "{a:?} vs {b:?}");
        unequal_trues += usize::from(!want && a[0] != 0 && b[0] != 0);
    }
    assert_eq!(out.lines().count(), cases.len());
    assert!(unequal_trues > 0, "the oracle must show True != True");
}
