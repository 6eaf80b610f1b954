//! Differential test against CPython's `struct.calcsize`: thousands of
//! generated formats, one python3 process, identical sizes, item counts and
//! error kinds required.

use memview_format::{Dialect, ErrorKind, Format};

use memview_testkit::{run_python, Rng};

const STRUCT_CODES: &str = "xcbB?hHiIlLqQnNefdspP";
const PREFIXES: [&str; 6] = ["", "@", "=", "<", ">", "!"];
const WS: [&str; 7] = [" ", "\t", "\n", "\x0b", "\x0c", "\r", "\x1c"];

/// Asks CPython about each format: size and item count, or an error kind.
const SCRIPT: &str = r#"
import json, struct, sys
KINDS = {
    "bad char in struct format": "bad-char",
    "repeat count given without format specifier": "count-without-code",
    "total struct size too long": "too-large",
    "embedded null character": "nul-byte",
}
for line in sys.stdin:
    f = json.loads(line)
    try:
        s = struct.Struct(f)
    except UnicodeEncodeError:
        print(json.dumps({"error": "bad-char"}))
        continue
    except (struct.error, ValueError) as e:
        print(json.dumps({"error": KINDS.get(str(e), "other: " + str(e))}))
        continue
    items = None
    if s.size <= 1 << 16:
        try:
            items = len(s.unpack(bytes(s.size)))
        except SystemError:
            # gh-124248: 3.11 cannot unpack '0p'; count it like '0s'.
            items = len(struct.Struct(f.replace("0p", "0s")).unpack(bytes(s.size)))
    print(json.dumps({"size": s.size, "items": items}))
"#;

fn generate() -> Vec<String> {
    let mut out = Vec::new();
    let codes: Vec<char> = STRUCT_CODES.chars().collect();
    let extra: Vec<char> = "gOuwtTZX^&(){}:1 ".chars().collect();
    // Every code under every prefix, with a range of counts.
    for p in PREFIXES {
        for &c in codes.iter().chain(extra.iter()) {
            for n in ["", "0", "1", "2", "3", "7", "10", "255", "1000", "65536"] {
                out.push(format!("{p}{n}{c}"));
            }
        }
    }
    // Alignment combinations: every ordered pair, plus a trailing
    // zero-count item, under each prefix.
    for p in PREFIXES {
        for &a in &codes {
            for &b in &codes {
                out.push(format!("{p}{a}{b}"));
                out.push(format!("{p}{a}0{b}"));
                out.push(format!("{p}3{a}{b}{a}"));
            }
        }
    }
    // Whitespace in every position of a few formats.
    for base in ["<2hi", "@lc0l", "!3sQ", "5sd", "=x2xl"] {
        for pos in 0..=base.len() {
            for w in WS {
                let mut s = base.to_owned();
                s.insert_str(pos, w);
                out.push(s);
            }
        }
    }
    // Overflow boundaries.
    for f in [
        "9223372036854775807x",
        "9223372036854775808x",
        "99999999999999999999999x",
        "4611686018427387903b4611686018427387904b",
        "4611686018427387903b4611686018427387905b",
        "1152921504606846975q",
        "1152921504606846976q",
        "c1152921504606846975q",
        "<c1152921504606846975q",
        "9223372036854775807s",
        "9223372036854775807p",
        "9223372036854775806xl",
        "9223372036854775807xi",
        "9223372036854775807x0i",
        "9223372036854775801x0q",
        "2305843009213693951i",
        "2305843009213693952i",
        "9223372036854775807",
        "0x9223372036854775808",
    ] {
        out.push(f.to_owned());
    }
    // Random formats from a biased alphabet, and random garbage.
    let mut rng = Rng::new(0x5eed_f00d);
    let alphabet: Vec<&str> = codes
        .iter()
        .map(|c| c.to_string())
        .chain(
            [
                "0", "1", "2", "9", "12", "00", " ", "\t", "@", "=", "<", ">", "!", "^", "\0", "é",
                "Z", "T{", "}", "(", ")", ":", "g", "\x1c", "\x7f",
            ]
            .iter()
            .map(|s| s.to_string()),
        )
        .map(|s| Box::leak(s.into_boxed_str()) as &str)
        .collect();
    for _ in 0..12_000 {
        let mut s = String::new();
        if rng.below(3) == 0 {
            let p = PREFIXES[rng.below(PREFIXES.len())];
            s.push_str(p);
        }
        let len = rng.below(8);
        for _ in 0..len {
            // Mostly valid codes, sometimes anything.
            if rng.below(4) == 0 {
                let a = alphabet[rng.below(alphabet.len())];
                s.push_str(a);
            } else {
                if rng.below(3) == 0 {
                    s.push_str(&rng.below(20).to_string());
                }
                s.push(*rng.pick(&codes));
            }
        }
        out.push(s);
    }
    out
}

#[test]
fn calcsize_agrees_with_cpython() {
    let formats = generate();
    let input: String = formats
        .iter()
        .map(|f| serde_json::to_string(f).unwrap() + "\n")
        .collect();
    let Some(stdout) = run_python(SCRIPT, &input) else {
        return;
    };
    let answers: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), formats.len());
    let (mut ok, mut errors, mut mismatches) = (0usize, 0usize, Vec::new());
    for (f, want) in formats.iter().zip(&answers) {
        let got = Format::parse(f, Dialect::Struct);
        match (&got, want.get("error")) {
            (Err(e), Some(kind)) => {
                errors += 1;
                if e.kind().name() != kind.as_str().unwrap() {
                    mismatches.push(format!("{f:?}: ours {:?}, cpython {kind}", e.kind()));
                }
            }
            (Ok(fmt), None) => {
                ok += 1;
                let size = want["size"].as_u64().unwrap() as usize;
                let l = fmt.layout();
                if l.size != size {
                    mismatches.push(format!("{f:?}: size ours {}, cpython {size}", l.size));
                }
                if let Some(items) = want["items"].as_u64() {
                    if l.items != items as usize {
                        mismatches.push(format!("{f:?}: items ours {}, cpython {items}", l.items));
                    }
                }
            }
            (Ok(_), Some(kind)) => mismatches.push(format!("{f:?}: ours ok, cpython {kind}")),
            (Err(e), None) => mismatches.push(format!("{f:?}: ours {e}, cpython {want}")),
        }
    }
    eprintln!(
        "cpython differential: {} formats ({ok} valid, {errors} errors), {} mismatches",
        formats.len(),
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches with CPython, first ones:\n{}",
        mismatches.len(),
        mismatches[..mismatches.len().min(30)].join("\n")
    );
    // The generator must exercise both sides and every error kind.
    assert!(ok > 5_000 && errors > 5_000, "ok {ok}, errors {errors}");
    for kind in [
        ErrorKind::BadChar,
        ErrorKind::CountWithoutCode,
        ErrorKind::TooLarge,
        ErrorKind::NulByte,
    ] {
        assert!(
            answers
                .iter()
                .any(|a| a.get("error").and_then(|k| k.as_str()) == Some(kind.name())),
            "no generated format gave {kind:?}"
        );
    }
}

/// The same oracle for pack: values packed by CPython unpack to the same
/// values here, and packing them here gives CPython's bytes.
#[test]
fn pack_agrees_with_cpython() {
    const PACK: &str = r#"
import json, struct, sys, random
random.seed(7)
RANGES = {"b": (-128, 127), "B": (0, 255), "h": (-2**15, 2**15-1), "H": (0, 2**16-1),
          "i": (-2**31, 2**31-1), "I": (0, 2**32-1), "q": (-2**63, 2**63-1), "Q": (0, 2**64-1),
          "n": (-2**63, 2**63-1), "N": (0, 2**64-1), "P": (0, 2**64-1)}
for line in sys.stdin:
    f = json.loads(line)
    vals = []
    for code in f.lstrip("@=<>!"):
        if code in "lL":
            lo, hi = RANGES["i" if code == "l" else "I"] if f[0] in "=<>!" else RANGES["q" if code == "l" else "Q"]
        elif code in RANGES:
            lo, hi = RANGES[code]
        if code in "efd":
            vals.append(random.choice([0.0, -1.5, 3.25, 65504.0, 1e-7, float("inf"), 1/3]))
        elif code == "?":
            vals.append(random.choice([True, False]))
        elif code == "c":
            vals.append(bytes([random.randrange(256)]))
        elif code == "s" or code == "p":
            vals.append(bytes(random.randrange(256) for _ in range(random.randrange(5))))
        else:
            vals.append(random.choice([lo, hi, 0, random.randint(lo, hi)]))
    b = struct.pack(f, *vals)
    out = []
    for v in struct.unpack(f, b):
        if isinstance(v, bool): out.append(["bool", v])
        elif isinstance(v, int): out.append(["int", str(v)])
        elif isinstance(v, float): out.append(["float", v.hex()])
        else: out.append(["bytes", v.hex()])
    print(json.dumps({"packed": b.hex(), "values": out}))
"#;
    let mut rng = Rng::new(99);
    let codes: Vec<char> = "cbB?hHiIlLqQnNefdsP".chars().collect();
    let mut formats = Vec::new();
    for _ in 0..2_000 {
        let prefix = *rng.pick(&["", "@", "=", "<", ">", "!"]);
        let mut f = prefix.to_owned();
        for _ in 0..1 + rng.below(6) {
            let c = *rng.pick(&codes);
            if !prefix.is_empty() && prefix != "@" && "nNP".contains(c) {
                continue;
            }
            f.push(c);
        }
        formats.push(f);
    }
    let input: String = formats
        .iter()
        .map(|f| serde_json::to_string(f).unwrap() + "\n")
        .collect();
    let Some(stdout) = run_python(PACK, &input) else {
        return;
    };
    use memview_format::Value;
    let mut checked = 0;
    for (f, line) in formats.iter().zip(stdout.lines()) {
        let want: serde_json::Value = serde_json::from_str(line).unwrap();
        let packed = hex(want["packed"].as_str().unwrap());
        let fmt = Format::parse(f, Dialect::Struct).unwrap();
        let values: Vec<Value> = want["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                let s = v[1].clone();
                match v[0].as_str().unwrap() {
                    "bool" => Value::Bool(s.as_bool().unwrap()),
                    "int" => Value::Int(s.as_str().unwrap().parse().unwrap()),
                    "float" => Value::Float(float_from_hex(s.as_str().unwrap())),
                    _ => Value::Bytes(hex(s.as_str().unwrap())),
                }
            })
            .collect();
        let unpacked = fmt.unpack(&packed).unwrap();
        assert_eq!(unpacked.len(), values.len(), "{f}");
        for (a, b) in unpacked.iter().zip(&values) {
            match (a, b) {
                (Value::Float(x), Value::Float(y)) if x.is_nan() && y.is_nan() => {}
                _ => assert_eq!(a, b, "unpack of {f:?}"),
            }
        }
        assert_eq!(fmt.pack(&values).unwrap(), packed, "pack of {f:?}");
        checked += 1;
    }
    eprintln!("cpython pack/unpack differential: {checked} formats");
    assert_eq!(checked, formats.len());
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Parses Python's `float.hex()` output.
fn float_from_hex(s: &str) -> f64 {
    match s {
        "inf" => return f64::INFINITY,
        "-inf" => return f64::NEG_INFINITY,
        "nan" => return f64::NAN,
        _ => {}
    }
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let s = s.strip_prefix("0x").unwrap();
    let (mant, exp) = s.split_once('p').unwrap();
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let mut v = u64::from_str_radix(int, 16).unwrap() as f64;
    for (i, c) in frac.chars().enumerate() {
        v += c.to_digit(16).unwrap() as f64 / 16f64.powi(i as i32 + 1);
    }
    let v = v * 2f64.powi(exp.parse().unwrap());
    if neg {
        -v
    } else {
        v
    }
}
