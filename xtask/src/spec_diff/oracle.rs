//! The Rust verdicts checked against two independent oracles, for every case of
//! the catalogue: cargo-semver-checks on the regenerated `trillet-api` against the
//! original, and the compiler on a downstream fixture crate that uses the base
//! side's models and builders in every documented way (builder, `Default` and
//! assignment, field reads with their exact types, patterns with `..`, matches with
//! a wildcard arm, the derived traits, every operation with every parameter).
//!
//! Slow (a rustdoc and a check per case, about a minute each on two cores):
//! `#[ignore]`d. CI runs a sample of every kind of verdict,
//! `cargo test -p xtask --bin xtask sampled_rust_verdicts -- --ignored --nocapture`;
//! the whole catalogue is
//! `cargo test -p xtask --bin xtask every_rust_verdict -- --ignored --nocapture`,
//! and `ORACLE_CASES=<substring>` runs only the cases whose name contains it
//! (`ORACLE_FROM=<n>` skips the first n).
//! Needs `cargo semver-checks` (`.ci/run` installs the pinned version).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use quote::ToTokens;
use serde_json::{Value, json};

use super::catalogue::{Case, cases, sides};
use super::effect::generate_quietly;
use super::rust_api::{self, Bump, Verdict};

/// progenitor cannot generate orders.yaml as it is (its list operation has a
/// `default` response beside the 200, two response types); without it, it can.
/// The same edit goes to both sides, so the case's own change is what differs.
fn prepare(case: &Case) -> Vec<Value> {
    if case.base == "orders.yaml" {
        vec![json!({"remove": "/paths/~1orders/get/responses/default"})]
    } else {
        Vec::new()
    }
}

/// A scratch workspace under `target/`: a copy of `trillet-api` whose
/// `generated.rs` is swapped per side, and the fixture crate that uses it.
struct Scratch {
    root: PathBuf,
    /// Base code → (its rustdoc JSON, whether the fixture built from it compiles).
    baselines: HashMap<String, PathBuf>,
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    if std::fs::read_to_string(path).ok().as_deref() == Some(text) {
        return Ok(()); // keep the mtime: cargo rebuilds nothing
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

impl Scratch {
    fn new() -> Result<Scratch, String> {
        let repo = crate::workspace_root();
        let root = repo.join("target/rust-api-oracle");
        let manifest = read(&repo.join("Cargo.toml"))?;
        // The workspace's own tables (package defaults, dependency versions, lints),
        // without its members and its path dependencies.
        let start = manifest
            .find("[workspace.package]")
            .ok_or("Cargo.toml has no [workspace.package]")?;
        let end = manifest
            .find("[workspace.dependencies.trillet")
            .unwrap_or(manifest.len());
        write(
            &root.join("Cargo.toml"),
            &format!(
                "[workspace]\nresolver = \"3\"\nmembers = [\"trillet-api\", \"fixture\"]\n\n{}",
                &manifest[start..end]
            ),
        )?;
        write(&root.join("Cargo.lock"), &read(&repo.join("Cargo.lock"))?)?;
        let api = repo.join("crates/trillet-api");
        // Without its dev-dependencies (workspace path dependencies not copied here).
        let api_manifest = read(&api.join("Cargo.toml"))?;
        let mut kept = Vec::new();
        let mut skipping = false;
        for line in api_manifest.lines() {
            if line.starts_with('[') {
                skipping = line.trim() == "[dev-dependencies]";
            }
            if !skipping {
                kept.push(line);
            }
        }
        write(
            &root.join("trillet-api/Cargo.toml"),
            &(kept.join("\n") + "\n"),
        )?;
        // Every hand-written module beside the generated code (generated.rs is
        // swapped in per side), read from the directory so none is forgotten.
        let sources = std::fs::read_dir(api.join("src"))
            .map_err(|e| format!("{}: {e}", api.join("src").display()))?;
        for entry in sources {
            let name = entry
                .map_err(|e| format!("{}: {e}", api.join("src").display()))?
                .file_name();
            let Some(file) = name.to_str() else { continue };
            if file.ends_with(".rs") && file != "generated.rs" {
                write(
                    &root.join("trillet-api/src").join(file),
                    &read(&api.join("src").join(file))?,
                )?;
            }
        }
        write(
            &root.join("fixture/Cargo.toml"),
            "[package]\nname = \"oracle-fixture\"\nedition.workspace = true\nversion = \"0.0.0\"\n\
             publish = false\n\n[dependencies]\ntrillet-api = { path = \"../trillet-api\" }\n\
             serde = { workspace = true }\nserde_json = { workspace = true }\nchrono = { workspace = true }\n",
        )?;
        Ok(Scratch {
            root,
            baselines: HashMap::new(),
        })
    }

    fn cargo(&self, args: &[&str]) -> Command {
        let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        command
            .args(args)
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", self.root.join("target"))
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS");
        command
    }

    fn set_code(&self, code: &str) -> Result<(), String> {
        write(&self.root.join("trillet-api/src/generated.rs"), code)
    }

    /// `Ok(None)` when the fixture compiles, `Ok(Some(first errors))` when not.
    fn check_fixture(&self, fixture: &str) -> Result<Option<String>, String> {
        write(&self.root.join("fixture/src/lib.rs"), fixture)?;
        let out = self
            .cargo(&[
                "check",
                "-q",
                "-p",
                "oracle-fixture",
                "--message-format",
                "short",
            ])
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if out.status.success() {
            return Ok(None);
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("error"))
            .take(4)
            .collect();
        Ok(Some(errors.join("\n")))
    }

    /// The rustdoc JSON of `trillet-api` with the current `generated.rs`, copied to `name`.
    fn rustdoc(&self, name: &str) -> Result<PathBuf, String> {
        let out = self
            .cargo(&[
                "rustdoc",
                "-q",
                "-p",
                "trillet-api",
                "--lib",
                "--",
                "-Zunstable-options",
                "--output-format",
                "json",
                "--cap-lints",
                "allow",
            ])
            .env("RUSTC_BOOTSTRAP", "1")
            .output()
            .map_err(|e| format!("cannot run cargo rustdoc: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cargo rustdoc failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let to = self.root.join(name);
        std::fs::copy(self.root.join("target/doc/trillet_api.json"), &to)
            .map_err(|e| format!("copying the rustdoc JSON: {e}"))?;
        Ok(to)
    }

    /// cargo-semver-checks' verdict: major, minor, or none (it has no patch-level lints).
    fn semver_checks(&self, base: &Path, head: &Path) -> Result<(Bump, String), String> {
        let out = self
            .cargo(&["semver-checks", "check-release", "--release-type", "patch"])
            .arg("--baseline-rustdoc")
            .arg(base)
            .arg("--current-rustdoc")
            .arg(head)
            .env("CARGO_TERM_COLOR", "never")
            .output()
            .map_err(|e| format!("cannot run cargo semver-checks: {e}"))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let failed_lints = text
            .lines()
            .filter(|l| l.trim_start().starts_with("--- failure"))
            .map(|l| l.trim().to_string())
            .collect::<Vec<_>>()
            .join("; ");
        if out.status.success() {
            Ok((Bump::None, failed_lints))
        } else if text.contains("requires new major version") {
            Ok((Bump::Major, failed_lints))
        } else if text.contains("requires new minor version") {
            Ok((Bump::Minor, failed_lints))
        } else {
            Err(format!("cargo semver-checks failed: {text}"))
        }
    }
}

/// One case's outcome.
struct Outcome {
    name: String,
    verdict: Bump,
    /// `None`: not run (the code differs at most in comments and documentation).
    semver_checks: Option<(Bump, String)>,
    compiles: Option<Option<String>>,
}

impl Outcome {
    /// cargo-semver-checks has no lint for some breaking changes (a public
    /// field's type, a derived trait dropped with the field change that caused
    /// it); where it says "not major", the verdict says major and the fixture
    /// fails to compile, the compiler settles it.
    fn missed_by_semver_checks(&self) -> bool {
        self.verdict == Bump::Major
            && matches!(&self.semver_checks, Some((bump, _)) if *bump != Bump::Major)
            && matches!(&self.compiles, Some(Some(_)))
    }

    fn agrees_with_semver_checks(&self) -> bool {
        match &self.semver_checks {
            None => self.verdict == Bump::None,
            // cargo-semver-checks lints major and (a few) minor changes; a verdict
            // agrees when it is major exactly when cargo-semver-checks says major,
            // and at least minor when it says minor.
            Some((Bump::Major, _)) => self.verdict == Bump::Major,
            Some((Bump::Minor, _)) => self.verdict == Bump::Minor,
            Some(_) => self.verdict != Bump::Major,
        }
    }

    fn agrees_with_the_compiler(&self) -> bool {
        match &self.compiles {
            None => self.verdict == Bump::None,
            Some(errors) => errors.is_some() == (self.verdict == Bump::Major),
        }
    }
}

/// The cases CI checks on every run: one of each kind of verdict and of change
/// (the full catalogue takes too long for every run on two cores).
const SAMPLE: &[&str] = &[
    "a description-only change gives only info",
    "a new optional property of a nested object (CallCost.currency) is info",
    "a response property becoming required is info on the wire",
    "an optional response property becoming nullable is info (its Option reads null)",
    "raising page's minimum from 1 to 2 is breaking (the first page request is rejected)",
    "a new value in a closed request enum (CallType) is info",
    "a new value in a closed response enum is a warning",
    "removing a parameter is breaking",
    "removing the list operation is breaking",
];

#[test]
#[ignore]
fn every_rust_verdict_agrees_with_cargo_semver_checks_and_the_compiler() {
    let filter = std::env::var("ORACLE_CASES").unwrap_or_default();
    // ORACLE_FROM=<n>: start at the n-th case (0-based), to resume a long run.
    let from: usize = std::env::var("ORACLE_FROM")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let names: Vec<String> = cases().into_iter().map(|c| c.name).skip(from).collect();
    check(|case| case.name.contains(&filter) && names.contains(&case.name));
}

#[test]
#[ignore]
fn sampled_rust_verdicts_agree_with_cargo_semver_checks_and_the_compiler() {
    let names: Vec<String> = cases().into_iter().map(|c| c.name).collect();
    let missing: Vec<&&str> = SAMPLE
        .iter()
        .filter(|s| !names.iter().any(|n| n == **s))
        .collect();
    assert!(
        missing.is_empty(),
        "sample cases not in the catalogue: {missing:?}"
    );
    check(|case| SAMPLE.contains(&case.name.as_str()));
}

/// The start of an error that makes a case not comparable (progenitor generated
/// code that does not compile), rather than a failure of the oracle.
const NOT_COMPARABLE: &str = "not comparable: ";

/// Both tests use one scratch workspace: one at a time.
static SCRATCH: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn check(selected: impl Fn(&Case) -> bool) {
    let _one_at_a_time = SCRATCH
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let filter = "the selection";
    let mut scratch = Scratch::new().unwrap_or_else(|e| panic!("scratch workspace: {e}"));
    let mut outcomes = Vec::new();
    let mut not_comparable = Vec::new();
    let started = std::time::Instant::now();
    for case in cases().into_iter().filter(|c| selected(c)) {
        let (base_spec, head_spec) = match sides(&case, &prepare(&case)) {
            Ok(sides) => sides,
            Err(e) => {
                not_comparable.push(format!("{}: {e}", case.name));
                continue;
            }
        };
        let (base, head) = (generate_quietly(&base_spec), generate_quietly(&head_spec));
        let verdict = match rust_api::from_code(base.clone(), head.clone()) {
            Verdict::Compared(api) => api.semver,
            Verdict::Failed(e) => {
                not_comparable.push(format!("{}: {e}", case.name));
                continue;
            }
        };
        let (Ok(base), Ok(head)) = (base, head) else {
            unreachable!("from_code compared both sides")
        };
        let outcome = match run(&mut scratch, &case.name, verdict, &base, &head) {
            Ok(outcome) => outcome,
            Err(e) if e.starts_with(NOT_COMPARABLE) => {
                let reason = e.trim_start_matches(NOT_COMPARABLE);
                let first = reason.lines().next().unwrap_or("");
                not_comparable.push(format!("{}: {first}", case.name));
                continue;
            }
            Err(e) => panic!("{}: {e}", case.name),
        };
        println!(
            "{:<6} csc {:<6} compiles {:<5} {}",
            verdict.as_str(),
            outcome
                .semver_checks
                .as_ref()
                .map_or("-", |(b, _)| b.as_str()),
            outcome
                .compiles
                .as_ref()
                .map_or("-".to_string(), |e| e.is_none().to_string()),
            case.name
        );
        outcomes.push(outcome);
    }
    let mut report = String::new();
    let total = outcomes.len();
    let tools_ran = outcomes.iter().filter(|o| o.compiles.is_some()).count();
    let csc = outcomes
        .iter()
        .filter(|o| o.agrees_with_semver_checks())
        .count();
    let rustc = outcomes
        .iter()
        .filter(|o| o.agrees_with_the_compiler())
        .count();
    let _ = writeln!(
        report,
        "{csc} of {total} cases agree with cargo-semver-checks, {rustc} of {total} with the \
         compiler ({tools_ran} run through both tools, {} whose code differs at most in documentation); \
         {} not comparable; {:.0} s",
        total - tools_ran,
        not_comparable.len(),
        started.elapsed().as_secs_f64()
    );
    for line in &not_comparable {
        let _ = writeln!(report, "  not comparable: {line}");
    }
    let mut disagreements = Vec::new();
    for o in outcomes.iter().filter(|o| o.missed_by_semver_checks()) {
        let _ = writeln!(
            report,
            "  cargo-semver-checks says {:?} where the compiler fails, as the verdict says: {}: {:?}",
            o.semver_checks.as_ref().map(|(b, _)| b.as_str()),
            o.name,
            o.compiles
        );
    }
    for o in &outcomes {
        if !o.agrees_with_the_compiler()
            || (!o.agrees_with_semver_checks() && !o.missed_by_semver_checks())
        {
            disagreements.push(format!(
                "  {}: verdict {}, cargo-semver-checks {:?}, compiler errors {:?}",
                o.name,
                o.verdict.as_str(),
                o.semver_checks,
                o.compiles
            ));
        }
    }
    println!("{report}{}", disagreements.join("\n"));
    assert!(total > 0, "no case in {filter}");
    assert!(
        disagreements.is_empty(),
        "verdicts that disagree with an oracle:\n{}",
        disagreements.join("\n")
    );
}

fn run(
    scratch: &mut Scratch,
    name: &str,
    verdict: Bump,
    base: &str,
    head: &str,
) -> Result<Outcome, String> {
    // The header's spec hash differs whenever the spec text does; what differs only
    // in documentation cannot change what compiles or what the lints see.
    if rust_api::code_without_docs_text(base)? == rust_api::code_without_docs_text(head)? {
        return Ok(Outcome {
            name: name.to_string(),
            verdict,
            semver_checks: None,
            compiles: None,
        });
    }
    let base_file = syn::parse_file(base).map_err(|e| e.to_string())?;
    let fixture = fixture(&base_file);
    let base_json = match scratch.baselines.get(base) {
        Some(json) => json.clone(),
        None => {
            scratch.set_code(base)?;
            if let Some(errors) = scratch.check_fixture(&fixture)? {
                if errors.contains("trillet-api/src/generated.rs") {
                    return Err(format!(
                        "{NOT_COMPARABLE}the base side does not compile: {errors}"
                    ));
                }
                return Err(format!(
                    "the fixture does not compile against its own base:\n{errors}"
                ));
            }
            let json = scratch
                .rustdoc(&format!("base-{}.json", scratch.baselines.len()))
                .map_err(|e| format!("{NOT_COMPARABLE}{e}"))?;
            scratch.baselines.insert(base.to_string(), json.clone());
            json
        }
    };
    scratch.set_code(head)?;
    let compiles = scratch.check_fixture(&fixture)?;
    let head_json = match scratch.rustdoc("head.json") {
        Ok(json) => json,
        // progenitor generated code that does not compile: nothing to compare.
        Err(e) => return Err(format!("{NOT_COMPARABLE}{e}")),
    };
    let semver_checks = scratch.semver_checks(&base_json, &head_json)?;
    Ok(Outcome {
        name: name.to_string(),
        verdict,
        semver_checks: Some(semver_checks),
        compiles: Some(compiles),
    })
}

// ---------------------------------------------------------------- the fixture

/// Tokens as source text, with the generated crate's relative paths made absolute.
fn ty(tokens: &impl ToTokens) -> String {
    tokens
        .to_token_stream()
        .to_string()
        .replace("crate ::", "trillet_api ::")
        .replace("super ::", "trillet_api :: types ::")
}

fn derives(attrs: &[syn::Attribute]) -> Vec<String> {
    use syn::punctuated::Punctuated;
    attrs
        .iter()
        .filter(|a| a.path().is_ident("derive"))
        .filter_map(|a| {
            a.parse_args_with(Punctuated::<syn::Path, syn::Token![,]>::parse_terminated)
                .ok()
        })
        .flatten()
        .filter_map(|p| p.segments.last().map(|s| s.ident.to_string()))
        .collect()
}

/// The bound a derived trait is checked with.
fn bound(derive: &str) -> Option<&'static str> {
    Some(match derive {
        "Clone" => "Clone",
        "Copy" => "Copy",
        "Debug" => "::std::fmt::Debug",
        "Default" => "Default",
        "PartialEq" => "PartialEq",
        "Eq" => "Eq",
        "PartialOrd" => "PartialOrd",
        "Ord" => "Ord",
        "Hash" => "::std::hash::Hash",
        "Serialize" => "::serde::Serialize",
        "Deserialize" => "::serde::de::DeserializeOwned",
        _ => return None,
    })
}

/// A local type convertible (by `TryFrom`) into `target` and nothing else; returns
/// its name. Passed to a setter bounded by `TryInto<target>`, it compiles only
/// while the setter's target type is exactly `target` (a value of `target` itself
/// would also pass a setter widened to a type `target` converts into).
fn probe(out: &mut String, name: &str, target: &str) -> String {
    let _ = writeln!(
        out,
        "pub struct {name}(pub {target});\n\
         impl ::std::convert::TryFrom<{name}> for {target} {{\n    \
         type Error = ::std::convert::Infallible;\n    \
         fn try_from(p: {name}) -> ::std::result::Result<Self, Self::Error> {{ Ok(p.0) }}\n}}"
    );
    name.to_string()
}

/// A function that compiles only while the type implements its derived traits.
fn traits_check(out: &mut String, i: usize, name: &str, derived: &[String]) {
    let bounds: Vec<&str> = derived.iter().filter_map(|d| bound(d)).collect();
    if !bounds.is_empty() {
        let _ = writeln!(
            out,
            "pub fn traits_{i}() {{ fn has<T: {}>() {{}} has::<t::{name}>(); }}",
            bounds.join(" + ")
        );
    }
}

fn module<'a>(items: &'a [syn::Item], name: &str) -> &'a [syn::Item] {
    items
        .iter()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == name => m.content.as_ref().map(|(_, i)| i.as_slice()),
            _ => None,
        })
        .unwrap_or(&[])
}

fn inherent_methods<'a>(items: &'a [syn::Item], type_name: &str) -> Vec<&'a syn::ImplItemFn> {
    items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Impl(imp)
                if imp.trait_.is_none()
                    && matches!(&*imp.self_ty, syn::Type::Path(p)
                        if p.path.segments.last().is_some_and(|s| s.ident == type_name)) =>
            {
                Some(imp)
            }
            _ => None,
        })
        .flat_map(|imp| {
            imp.items.iter().filter_map(|i| match i {
                syn::ImplItem::Fn(f) if matches!(f.vis, syn::Visibility::Public(_)) => Some(f),
                _ => None,
            })
        })
        .collect()
}

/// `X` of a setter's `where V: TryInto<X>`.
fn setter_target(sig: &syn::Signature) -> Option<String> {
    let clause = sig.generics.where_clause.as_ref()?;
    clause.predicates.iter().find_map(|p| {
        let syn::WherePredicate::Type(t) = p else {
            return None;
        };
        t.bounds.iter().find_map(|b| {
            let syn::TypeParamBound::Trait(tb) = b else {
                return None;
            };
            let last = tb.path.segments.last()?;
            if last.ident != "TryInto" {
                return None;
            }
            let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            args.args.first().map(ty)
        })
    })
}

/// A crate that uses the models, their builders and the client of `file` in every
/// documented way. It compiles against `file` (checked) and against any
/// additive change of it.
pub fn fixture(file: &syn::File) -> String {
    let types = module(&file.items, "types");
    let model_builders = module(types, "builder");
    let mut out = String::from(
        "#![allow(unused, unreachable_patterns, dead_code, clippy::all)]\n\
         pub mod models {\nuse trillet_api::types::*;\nuse trillet_api::types as t;\n",
    );
    for (i, item) in types.iter().enumerate() {
        match item {
            syn::Item::Struct(s) if matches!(s.vis, syn::Visibility::Public(_)) => {
                let name = &s.ident;
                let public: Vec<(String, String)> = s
                    .fields
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| matches!(f.vis, syn::Visibility::Public(_)))
                    .map(|(n, f)| {
                        let member = f.ident.as_ref().map_or(n.to_string(), |id| id.to_string());
                        (member, ty(&f.ty))
                    })
                    .collect();
                // Reads with the exact types, and a pattern with `..`.
                let _ = writeln!(out, "pub fn read_{i}(x: &t::{name}) {{");
                for (member, field_ty) in &public {
                    let _ = writeln!(out, "    let _: &{field_ty} = &x.{member};");
                }
                if matches!(s.fields, syn::Fields::Named(_)) {
                    let names: Vec<String> =
                        public.iter().map(|(m, _)| format!("{m}: _")).collect();
                    let _ = writeln!(
                        out,
                        "    let t::{name} {{ {} .. }} = x;",
                        names.iter().map(|n| format!("{n}, ")).collect::<String>()
                    );
                }
                out.push_str("}\n");
                let params: String = public
                    .iter()
                    .map(|(m, t)| format!("f_{m}: {t}, "))
                    .collect();
                let derived = derives(&s.attrs);
                if derived.iter().any(|d| d == "Default")
                    && matches!(s.fields, syn::Fields::Named(_))
                {
                    let _ = writeln!(
                        out,
                        "pub fn assign_{i}({params}) -> t::{name} {{\n    let mut x = t::{name}::default();"
                    );
                    for (m, _) in &public {
                        let _ = writeln!(out, "    x.{m} = f_{m};");
                    }
                    out.push_str("    x\n}\n");
                }
                let has_builder = inherent_methods(types, &name.to_string())
                    .iter()
                    .any(|f| f.sig.ident == "builder")
                    && !inherent_methods(model_builders, &name.to_string()).is_empty();
                if has_builder {
                    let _ = write!(
                        out,
                        "pub fn build_{i}({params}) -> ::std::result::Result<t::{name}, t::error::ConversionError> {{\n    t::{name}::builder()"
                    );
                    for (m, _) in &public {
                        let _ = write!(out, ".{m}(f_{m})");
                    }
                    out.push_str(".try_into()\n}\n");
                    // The same with values only convertible into the exact field
                    // types: a setter whose target type changes no longer accepts them.
                    let probes: Vec<String> = public
                        .iter()
                        .map(|(m, t)| probe(&mut out, &format!("Probe{i}_{m}"), t))
                        .collect();
                    let _ = write!(
                        out,
                        "pub fn build_exact_{i}({params}) -> ::std::result::Result<t::{name}, t::error::ConversionError> {{\n    t::{name}::builder()"
                    );
                    for ((m, _), probe) in public.iter().zip(&probes) {
                        let _ = write!(out, ".{m}({probe}(f_{m}))");
                    }
                    out.push_str(".try_into()\n}\n");
                }
                traits_check(&mut out, i, &name.to_string(), &derived);
            }
            syn::Item::Enum(e) if matches!(e.vis, syn::Visibility::Public(_)) => {
                let name = &e.ident;
                let _ = writeln!(
                    out,
                    "pub fn match_{i}(e: &t::{name}) -> u32 {{\n    match e {{"
                );
                for (n, v) in e.variants.iter().enumerate() {
                    let pattern = match v.fields {
                        syn::Fields::Unit => String::new(),
                        syn::Fields::Unnamed(_) => "(..)".to_string(),
                        syn::Fields::Named(_) => " { .. }".to_string(),
                    };
                    let _ = writeln!(out, "        t::{name}::{}{pattern} => {n},", v.ident);
                }
                out.push_str("        _ => u32::MAX,\n    }\n}\n");
                traits_check(&mut out, i, &name.to_string(), &derives(&e.attrs));
            }
            _ => {}
        }
    }
    out.push_str(
        "}\npub mod ops {\nuse trillet_api::{types, ByteStream, Client, Error, ResponseValue};\n",
    );
    let op_builders = module(&file.items, "builder");
    for (i, method) in inherent_methods(&file.items, "Client").iter().enumerate() {
        let syn::ReturnType::Type(_, ret) = &method.sig.output else {
            continue;
        };
        let syn::Type::Path(ret) = &**ret else {
            continue;
        };
        let Some(builder) = ret.path.segments.last().map(|s| s.ident.to_string()) else {
            continue;
        };
        if !method
            .sig
            .inputs
            .iter()
            .all(|a| matches!(a, syn::FnArg::Receiver(_)))
        {
            continue; // a constructor or a positional method, not an operation
        }
        let setters: Vec<(String, String)> = inherent_methods(op_builders, &builder)
            .iter()
            .filter_map(|f| Some((f.sig.ident.to_string(), setter_target(&f.sig)?)))
            .collect();
        let send = inherent_methods(op_builders, &builder)
            .into_iter()
            .find(|f| f.sig.ident == "send");
        let Some(send) = send else { continue };
        let syn::ReturnType::Type(_, response) = &send.sig.output else {
            continue;
        };
        let params: String = setters
            .iter()
            .map(|(m, t)| format!(", p_{m}: {t}"))
            .collect();
        let calls: String = setters
            .iter()
            .map(|(m, t)| {
                format!(
                    ".{m}({}(p_{m}))",
                    probe(&mut out, &format!("OpProbe{i}_{m}"), t)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "pub async fn op_{i}(c: &Client{params}) {{\n    let r: {} = c.{}(){calls}.send().await;\n}}",
            ty(response),
            method.sig.ident
        );
    }
    out.push_str("}\n");
    out
}
