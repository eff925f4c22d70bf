//! `cargo xtask codegen [--check]`: spec/trillet.yaml → crates/trillet-api/src/generated.rs
//! with progenitor, formatted by prettyplease, byte-for-byte deterministic; and
//! docs/api-coverage.md, the table of operations a reviewer reads.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

use progenitor::{GenerationSettings, Generator, InterfaceStyle, TagStyle, TypeImpl};

pub const SPEC_PATH: &str = "spec/trillet.yaml";
pub const OUTPUT_PATH: &str = "crates/trillet-api/src/generated.rs";
pub const COVERAGE_PATH: &str = "docs/api-coverage.md";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Generate in memory and fail, naming the first differing line, if the
    /// checked-in file differs (stale or edited by hand); write nothing.
    #[arg(long)]
    check: bool,
}

pub fn run(args: &Args) -> Result<(), String> {
    let check = args.check;
    let root = crate::workspace_root();
    let started = Instant::now();
    let spec_text = std::fs::read_to_string(root.join(SPEC_PATH))
        .map_err(|e| format!("cannot read {SPEC_PATH}: {e}"))?;
    require_effects(&spec_text)?;
    let generated = generate(&spec_text)?;
    if let Ok(mut spec) = serde_norway::from_str::<openapiv3::OpenAPI>(&spec_text) {
        let untyped = untype_mixed_errors(&mut spec);
        if !untyped.is_empty() {
            println!(
                "error bodies of several shapes, generated as untyped JSON (progenitor \
                 takes one error type per operation): {}",
                untyped.join(", ")
            );
        }
    }
    let table = coverage(&spec_text)?;
    let out = root.join(OUTPUT_PATH);
    let table_out = root.join(COVERAGE_PATH);
    if check {
        let current = std::fs::read_to_string(&out).unwrap_or_default();
        compare(&current, &generated)?;
        let current = std::fs::read_to_string(&table_out).unwrap_or_default();
        compare_at(COVERAGE_PATH, &current, &table)?;
        println!(
            "{OUTPUT_PATH} and {COVERAGE_PATH} are up to date ({} ms)",
            started.elapsed().as_millis()
        );
    } else {
        write_if_changed(&out, &generated)?;
        write_if_changed(&table_out, &table)?;
        println!(
            "generated {OUTPUT_PATH} ({} lines) and {COVERAGE_PATH} in {} ms",
            generated.lines().count(),
            started.elapsed().as_millis()
        );
    }
    Ok(())
}

/// Everything that decides the output: the spec text and the settings below.
pub fn generate(spec_text: &str) -> Result<String, String> {
    let mut spec: openapiv3::OpenAPI = serde_norway::from_str(spec_text)
        .map_err(|e| format!("{SPEC_PATH} is not a valid OpenAPI 3.0 document: {e}"))?;
    untype_mixed_errors(&mut spec);
    let mut generator = Generator::new(&settings());
    // progenitor asserts rather than returning an error for what it does not
    // support; a spec must get a message, not a backtrace.
    let tokens = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        generator.generate_tokens(&spec)
    }))
    .map_err(|panic| {
        let said = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        format!("progenitor failed on this spec (it panicked: {said})")
    })?
    .map_err(|e| format!("progenitor could not generate a client: {e}"))?;
    let mut file: syn::File = syn::parse2(tokens)
        .map_err(|e| format!("progenitor produced code that does not parse: {e}"))?;
    evolve(&mut file);
    file.items.push(components(&spec, &file)?);
    file.items.push(effects(&spec)?);
    Ok(format!(
        "{}{}",
        header(spec_text),
        prettyplease::unparse(&file)
    ))
}

/// progenitor gives an operation one error type and panics when its error
/// responses have several (progenitor-impl 0.15, `method.rs`: `response_types.len()
/// <= 1`). Where the spec documents error bodies of different shapes for one
/// operation (the batch pages' flat `{error, message}` beside the shared envelope),
/// its error responses are generated as untyped JSON; the spec keeps both shapes,
/// and the mock, the lint and drift read them there. Returns the operations changed.
fn untype_mixed_errors(spec: &mut openapiv3::OpenAPI) -> Vec<String> {
    use openapiv3::{ReferenceOr, StatusCode};
    let shared = spec
        .components
        .as_ref()
        .map(|c| c.responses.clone())
        .unwrap_or_default();
    let resolve = |r: &ReferenceOr<openapiv3::Response>| -> Option<openapiv3::Response> {
        match r {
            ReferenceOr::Item(response) => Some(response.clone()),
            ReferenceOr::Reference { reference } => {
                let name = reference.strip_prefix("#/components/responses/")?;
                match shared.get(name)? {
                    ReferenceOr::Item(response) => Some(response.clone()),
                    ReferenceOr::Reference { .. } => None,
                }
            }
        }
    };
    // What decides an error response's generated type: its JSON schema, as written.
    let shape = |response: &openapiv3::Response| -> String {
        response
            .content
            .get("application/json")
            .and_then(|media| media.schema.as_ref())
            .and_then(|schema| serde_json::to_string(schema).ok())
            .unwrap_or_default()
    };
    let is_error = |status: &StatusCode| match status {
        StatusCode::Code(code) => (400..600).contains(code),
        StatusCode::Range(range) => (4..=5).contains(range),
    };
    let mut changed = Vec::new();
    for (_, item) in spec.paths.paths.iter_mut() {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            let errors: Vec<(StatusCode, openapiv3::Response)> = operation
                .responses
                .responses
                .iter()
                .filter(|(status, _)| is_error(status))
                .filter_map(|(status, r)| Some((status.clone(), resolve(r)?)))
                .collect();
            let shapes: BTreeSet<String> = errors.iter().map(|(_, r)| shape(r)).collect();
            if shapes.len() <= 1 {
                continue;
            }
            let untyped = openapiv3::MediaType {
                schema: Some(ReferenceOr::Item(openapiv3::Schema {
                    schema_data: Default::default(),
                    schema_kind: openapiv3::SchemaKind::Any(Default::default()),
                })),
                ..Default::default()
            };
            for (status, mut response) in errors {
                response.content = [("application/json".to_owned(), untyped.clone())]
                    .into_iter()
                    .collect();
                operation
                    .responses
                    .responses
                    .insert(status, ReferenceOr::Item(response));
            }
            changed.push(operation.operation_id.clone().unwrap_or_default());
        }
    }
    changed
}

fn settings() -> GenerationSettings {
    let mut settings = GenerationSettings::default();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        .with_derive("schemars::JsonSchema")
        .with_derive("PartialEq");
    for (component, rust_type) in REPLACEMENTS {
        settings.with_replacement(*component, *rust_type, open_enum_impls());
    }
    settings
        // Requests run through a caller-supplied transport (retries, rate limit,
        // body limit): crates/trillet-api/src/transport.rs.
        .with_inner_type(quote::quote!(crate::transport::Hooks));
    settings
}

/// The spec's open sets become hand-written enums with an `Unknown(String)`
/// variant (crates/trillet-api/src/open_enum.rs): typify would make closed enums
/// that reject values the API is documented to send.
const REPLACEMENTS: &[(&str, &str)] = &[
    ("CallDirection", "crate::Direction"),
    ("CallStatus", "crate::Status"),
    ("ActiveCallType", "crate::CallMedium"),
];

/// `pub const COMPONENTS`: every schema under `components/schemas`, in spec order,
/// with the type that models it (a replacement, or the type typify generated in
/// `types`, whose name is the schema's name in Rust case). A schema without a type
/// is an error, so no component goes uncovered by the tools that walk them.
fn components(spec: &openapiv3::OpenAPI, file: &syn::File) -> Result<syn::Item, String> {
    let normalized = |name: &str| -> String {
        name.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let generated: Vec<String> = file
        .items
        .iter()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "types" => m.content.as_ref(),
            _ => None,
        })
        .into_iter()
        .flat_map(|(_, items)| items)
        .filter_map(|item| match item {
            syn::Item::Struct(s) if is_public(&s.vis) => Some(s.ident.to_string()),
            syn::Item::Enum(e) if is_public(&e.vis) => Some(e.ident.to_string()),
            syn::Item::Type(t) if is_public(&t.vis) => Some(t.ident.to_string()),
            _ => None,
        })
        .collect();
    let mut entries = Vec::new();
    for name in spec.components.iter().flat_map(|c| c.schemas.keys()) {
        let rust_type = match REPLACEMENTS.iter().find(|(c, _)| c == name) {
            Some((_, path)) => path.trim_start_matches("crate::").to_owned(),
            None => {
                let found: Vec<&String> = generated
                    .iter()
                    .filter(|t| normalized(t) == normalized(name))
                    .collect();
                match found.as_slice() {
                    [one] => format!("types::{one}"),
                    [] => return Err(format!("schema `{name}` has no generated type in `types`")),
                    _ => return Err(format!("schema `{name}` matches several types: {found:?}")),
                }
            }
        };
        let path: syn::Path = syn::parse_str(&format!("crate::{rust_type}"))
            .map_err(|e| format!("schema `{name}`: `{rust_type}` is not a path: {e}"))?;
        entries.push(quote::quote! {
            crate::components::Component::of::<#path>(#name, #rust_type)
        });
    }
    syn::parse2(quote::quote! {
        /// Every schema under `components/schemas` of the spec, in spec order, with
        /// the type that models it ([`crate::components`]).
        pub const COMPONENTS: &[crate::components::Component] = &[#(#entries),*];
    })
    .map_err(|e| format!("the component table does not parse: {e}"))
}

/// `pub fn operation_effect`: each operation's `x-trillet-effect`, by operation id,
/// for the retry rule of a client that sends generated operations. An operation
/// without a valid one gets no arm (the client then goes by its method);
/// [`require_effects`] is what refuses such a spec for this workspace, since
/// `spec-diff` generates code from any spec a reviewer brings.
fn effects(spec: &openapiv3::OpenAPI) -> Result<syn::Item, String> {
    let mut arms = Vec::new();
    for (_, _, operation) in spec.operations() {
        let (Some(id), Ok(effect)) = (
            operation.operation_id.as_deref(),
            operation_effect(operation),
        ) else {
            continue;
        };
        let variant = quote::format_ident!("{effect:?}");
        arms.push(quote::quote! { #id => Some(crate::Effect::#variant) });
    }
    syn::parse2(quote::quote! {
        /// What the operation `operation_id` does in the real world (the spec's
        /// `x-trillet-effect`); `None` for an id the spec does not have.
        pub fn operation_effect(operation_id: &str) -> Option<crate::Effect> {
            match operation_id {
                #(#arms,)*
                _ => None,
            }
        }
    })
    .map_err(|e| format!("the effect table does not parse: {e}"))
}

fn operation_effect(operation: &openapiv3::Operation) -> Result<crate::extensions::Effect, String> {
    use crate::extensions::{EFFECT_KEY, spec_effect};
    spec_effect(operation.extensions.get(EFFECT_KEY))
}

/// Every operation of the workspace's spec says what it does: one line per one that
/// does not, so that no operation is generated without its retry rule.
fn require_effects(spec_text: &str) -> Result<(), String> {
    let spec: openapiv3::OpenAPI = serde_norway::from_str(spec_text)
        .map_err(|e| format!("{SPEC_PATH} is not a valid OpenAPI 3.0 document: {e}"))?;
    let problems: Vec<String> = spec
        .operations()
        .filter_map(|(path, method, operation)| {
            let at = format!("{} {path}", method.to_ascii_uppercase());
            operation_effect(operation)
                .err()
                .map(|e| format!("  {at}: {e}"))
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{SPEC_PATH}: every operation must declare its effect:\n{}",
            problems.join("\n")
        ))
    }
}

/// Post-processing for what the generator has no setting for (progenitor passes
/// derives to typify but not attributes), so that the models evolve additively:
///
/// - every public struct and enum is `#[non_exhaustive]`: a downstream crate cannot
///   write a struct literal or an exhaustive `match`, so a new property, enum value
///   or operation is a minor change for it;
/// - a model whose every field is an `Option`, a `Vec` or a map derives `Default`
///   (construct it, then assign the fields you have);
/// - a model builder's maps and arrays start empty instead of "no value supplied",
///   so `X::builder().field(v).try_into()` needs only the required properties.
pub(crate) fn evolve(file: &mut syn::File) {
    evolve_items(&mut file.items, &mut Vec::new());
}

fn evolve_items(items: &mut [syn::Item], path: &mut Vec<String>) {
    let in_models = path.as_slice() == ["types"];
    let in_model_builders = path.as_slice() == ["types", "builder"];
    let manual_default: BTreeSet<String> = items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Impl(imp) if implements(imp, "Default") => self_type_name(imp),
            _ => None,
        })
        .collect();
    // builder name -> its fields that hold a map or an array
    let containers: BTreeMap<String, BTreeSet<String>> = items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Struct(s) if in_model_builders => Some((
                s.ident.to_string(),
                s.fields
                    .iter()
                    .filter(|f| result_ok_type(&f.ty).is_some_and(is_container))
                    .filter_map(|f| f.ident.as_ref().map(ToString::to_string))
                    .collect(),
            )),
            _ => None,
        })
        .collect();
    for item in items {
        match item {
            syn::Item::Struct(s) if is_public(&s.vis) => {
                mark_non_exhaustive(&mut s.attrs);
                let defaultable = s.fields.iter().all(|f| {
                    last_segment(&f.ty).is_some_and(|seg| {
                        seg == "Option"
                            || matches!(seg.as_str(), "Vec" | "Map" | "HashMap" | "BTreeMap")
                    })
                });
                let name = s.ident.to_string();
                if in_models
                    && !s.fields.is_empty()
                    && defaultable
                    && !manual_default.contains(&name)
                {
                    add_derive(&mut s.attrs, "Default");
                }
            }
            syn::Item::Enum(e) if is_public(&e.vis) => mark_non_exhaustive(&mut e.attrs),
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &mut m.content {
                    path.push(m.ident.to_string());
                    evolve_items(inner, path);
                    path.pop();
                }
            }
            syn::Item::Impl(imp) if in_model_builders && implements(imp, "Default") => {
                let fields = self_type_name(imp).and_then(|name| containers.get(&name));
                if let Some(fields) = fields {
                    start_empty(imp, fields);
                }
            }
            _ => {}
        }
    }
}

fn is_public(vis: &syn::Visibility) -> bool {
    matches!(vis, syn::Visibility::Public(_))
}

fn implements(imp: &syn::ItemImpl, trait_name: &str) -> bool {
    imp.trait_
        .as_ref()
        .and_then(|(path, _)| path.segments.last())
        .is_some_and(|seg| seg.ident == trait_name)
}

fn self_type_name(imp: &syn::ItemImpl) -> Option<String> {
    last_segment(&imp.self_ty)
}

fn last_segment(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|seg| seg.ident.to_string()),
        _ => None,
    }
}

/// `T` of a builder field's `Result<T, String>`.
fn result_ok_type(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last().filter(|seg| seg.ident == "Result")?;
    let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
        return None;
    };
    args.args.iter().find_map(|arg| match arg {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
}

fn is_container(ty: &syn::Type) -> bool {
    last_segment(ty)
        .is_some_and(|seg| matches!(seg.as_str(), "Vec" | "Map" | "HashMap" | "BTreeMap"))
}

fn mark_non_exhaustive(attrs: &mut Vec<syn::Attribute>) {
    if attrs.iter().any(|a| a.path().is_ident("non_exhaustive")) {
        return;
    }
    attrs.push(syn::parse_quote!(#[non_exhaustive]));
}

fn add_derive(attrs: &mut [syn::Attribute], name: &str) {
    use syn::punctuated::Punctuated;
    let Some(attr) = attrs.iter_mut().find(|a| a.path().is_ident("derive")) else {
        return;
    };
    let Ok(mut list) =
        attr.parse_args_with(Punctuated::<syn::Path, syn::Token![,]>::parse_terminated)
    else {
        return;
    };
    if list
        .iter()
        .any(|p| p.segments.last().is_some_and(|s| s.ident == name))
    {
        return;
    }
    let ident: syn::Ident = quote::format_ident!("{name}");
    let mut paths: Vec<syn::Path> = list.into_iter().collect();
    // After `Debug`, as typify orders its derives (serde first, then by name).
    let at = paths
        .iter()
        .position(|p| p.is_ident("Debug"))
        .map_or(paths.len(), |i| i + 1);
    paths.insert(at, ident.into());
    list = paths.into_iter().collect();
    *attr = syn::parse_quote!(#[derive(#list)]);
}

/// In a builder's `Default`, `field: Err("no value supplied for field")` becomes
/// `field: Ok(Default::default())` for the given map and array fields.
fn start_empty(imp: &mut syn::ItemImpl, fields: &BTreeSet<String>) {
    for item in &mut imp.items {
        let syn::ImplItem::Fn(f) = item else { continue };
        let Some(syn::Stmt::Expr(syn::Expr::Struct(literal), None)) = f.block.stmts.last_mut()
        else {
            continue;
        };
        for field in &mut literal.fields {
            if let syn::Member::Named(ident) = &field.member
                && fields.contains(&ident.to_string())
            {
                field.expr = syn::parse_quote!(Ok(Default::default()));
            }
        }
    }
}

fn open_enum_impls() -> impl Iterator<Item = TypeImpl> {
    [TypeImpl::Display, TypeImpl::FromStr].into_iter()
}

fn header(spec_text: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(spec_text.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "// @generated by `cargo xtask codegen` from {SPEC_PATH}\n\
         // spec sha256: {hex}\n\
         // DO NOT EDIT. Change the spec or the generator settings in xtask/src/codegen.rs,\n\
         // then run `cargo xtask codegen`; `cargo xtask codegen --check` fails on edits.\n\n"
    )
}

/// `Err` naming the file and the first differing lines when `current` is not `generated`.
pub fn compare(current: &str, generated: &str) -> Result<(), String> {
    compare_at(OUTPUT_PATH, current, generated)
}

/// [`compare`] for the generated file at `path`.
fn compare_at(path: &str, current: &str, generated: &str) -> Result<(), String> {
    if current == generated {
        return Ok(());
    }
    Err(format!(
        "{path} is not what `cargo xtask codegen` generates from {SPEC_PATH} \
         (stale, or edited by hand). Run `cargo xtask codegen` and commit the result.\n{}",
        first_difference(current, generated).replacen(OUTPUT_PATH, path, 1)
    ))
}

/// docs/api-coverage.md: every operation of the spec with its method, path,
/// resource, effect, request body and source pages, and the count per effect.
/// Read through trillet-spec's model, as the lint, the mock and the CLI read it.
pub fn coverage(spec_text: &str) -> Result<String, String> {
    let spec = trillet_spec::Spec::parse(spec_text)
        .map_err(|e| format!("{SPEC_PATH} does not load: {e}"))?;
    let operations = spec
        .operations()
        .map_err(|e| format!("{SPEC_PATH} does not load: {e}"))?;
    // A cell holds no `|` and no line break, whatever the spec says.
    let cell = |text: &str| text.replace('|', "\\|").replace(['\n', '\r'], " ");
    let mut by_effect: BTreeMap<String, usize> = BTreeMap::new();
    let mut rows = String::new();
    for op in &operations {
        let effect = op.effect.clone().unwrap_or_else(|| "(none)".into());
        *by_effect.entry(effect.clone()).or_default() += 1;
        let body = match op.request_media.as_slice() {
            [] => "none".to_owned(),
            media => media
                .iter()
                .map(|m| match m.as_str() {
                    "application/json" => "JSON".to_owned(),
                    "multipart/form-data" => "multipart".to_owned(),
                    other => cell(other),
                })
                .collect::<Vec<_>>()
                .join(", "),
        };
        let sources: Vec<String> = op
            .docs
            .iter()
            .enumerate()
            .map(|(i, url)| format!("[{}]({})", i + 1, cell(url)))
            .collect();
        rows.push_str(&format!(
            "| `{}` | {} | `{}` | {} | {} | {} | {} |\n",
            cell(&op.id),
            op.method,
            cell(&op.path),
            cell(&op.tags.join(", ")),
            cell(&effect),
            body,
            sources.join(" "),
        ));
    }
    let counts: Vec<String> = by_effect
        .iter()
        .map(|(effect, n)| format!("{effect} {n}"))
        .collect();
    // The documented operations the spec does not describe, as it says itself.
    let left_out: Vec<String> = spec
        .document()
        .pointer("/info/x-trillet-left-out")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .map(|entry| {
            let field = |key: &str| {
                cell(
                    entry
                        .get(key)
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("?"),
                )
            };
            format!("| `{}` | {} |\n", field("operation"), field("reason"))
        })
        .collect();
    let left_out = if left_out.is_empty() {
        String::new()
    } else {
        format!(
            "\n## Not described yet ({})\n\n\
             Documented by Trillet, not in the spec (its `info.x-trillet-left-out`):\n\n\
             | operation | why |\n|---|---|\n{}",
            left_out.len(),
            left_out.concat()
        )
    };
    Ok(format!(
        "<!-- @generated by `cargo xtask codegen` from {SPEC_PATH}; DO NOT EDIT. -->\n\
         # API coverage\n\n\
         The operations `{SPEC_PATH}` describes: {} in all (by effect: {}). An effect\n\
         other than `read` is never sent twice once it may have reached the server, and\n\
         `call`, `message`, `destructive` and `money` ask for confirmation in the CLI.\n\n\
         | operation | method | path | resource | effect | body | sources |\n\
         |---|---|---|---|---|---|---|\n{rows}{left_out}",
        operations.len(),
        counts.join(", "),
    ))
}

fn write_if_changed(path: &Path, contents: &str) -> Result<(), String> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(contents) {
        return Ok(());
    }
    std::fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A short, reviewable report of where two texts first differ.
pub fn first_difference(current: &str, expected: &str) -> String {
    let (cur, exp): (Vec<&str>, Vec<&str>) =
        (current.lines().collect(), expected.lines().collect());
    let line = cur
        .iter()
        .zip(&exp)
        .position(|(a, b)| a != b)
        .unwrap_or(cur.len().min(exp.len()));
    let mut out = format!("first difference at {OUTPUT_PATH}:{}\n", line + 1);
    for (i, l) in cur.iter().enumerate().skip(line).take(3) {
        out.push_str(&format!("  checked in {:>5} | {l}\n", i + 1));
    }
    for (i, l) in exp.iter().enumerate().skip(line).take(3) {
        out.push_str(&format!("  generated  {:>5} | {l}\n", i + 1));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_matches_the_checked_in_file() {
        let first = generate(trillet_spec::SPEC_YAML).unwrap();
        let second = generate(trillet_spec::SPEC_YAML).unwrap();
        assert_eq!(first, second);
        let checked_in =
            std::fs::read_to_string(crate::workspace_root().join(OUTPUT_PATH)).unwrap();
        assert_eq!(compare(&checked_in, &first), Ok(()));
    }

    #[test]
    fn a_hand_edit_fails_the_check_and_names_the_file_and_line() {
        let generated = generate(trillet_spec::SPEC_YAML).unwrap();
        let edited = generated.replacen(
            "pub struct CallHistory {",
            "pub struct CallHistory { // tweak",
            1,
        );
        let line = edited.lines().position(|l| l.contains("// tweak")).unwrap() + 1;
        let message = compare(&edited, &generated).unwrap_err();
        assert!(
            message.contains(&format!("{OUTPUT_PATH}:{line}")),
            "{message}"
        );
        assert!(message.contains("// tweak"), "{message}");
    }

    /// (path, kind, attributes) of every struct and enum in the generated file.
    fn types_in(items: &[syn::Item], path: &str, out: &mut Vec<(String, Vec<String>)>) {
        use quote::ToTokens;
        for item in items {
            let (name, attrs) = match item {
                syn::Item::Struct(s) => (s.ident.to_string(), &s.attrs),
                syn::Item::Enum(e) => (e.ident.to_string(), &e.attrs),
                syn::Item::Mod(m) => {
                    if let Some((_, inner)) = &m.content {
                        types_in(inner, &format!("{path}{}::", m.ident), out);
                    }
                    continue;
                }
                _ => continue,
            };
            let attrs = attrs
                .iter()
                .map(|a| a.to_token_stream().to_string().replace(' ', ""))
                .collect();
            out.push((format!("{path}{name}"), attrs));
        }
    }

    fn generated_types(spec: &str) -> Vec<(String, Vec<String>)> {
        let code = generate(spec).unwrap();
        let file = syn::parse_file(&code).unwrap();
        let mut out = Vec::new();
        types_in(&file.items, "", &mut out);
        out
    }

    #[test]
    fn every_generated_struct_and_enum_is_non_exhaustive() {
        let types = generated_types(trillet_spec::SPEC_YAML);
        assert!(types.len() > 10, "{types:?}");
        let open: Vec<&String> = types
            .iter()
            .filter(|(_, attrs)| !attrs.iter().any(|a| a == "#[non_exhaustive]"))
            .map(|(name, _)| name)
            .collect();
        assert!(open.is_empty(), "not #[non_exhaustive]: {open:?}");
    }

    #[test]
    fn models_whose_fields_are_all_optional_derive_default_and_others_do_not() {
        let types = generated_types(trillet_spec::SPEC_YAML);
        let derives_default = |name: &str| {
            let (_, attrs) = types.iter().find(|(n, _)| n == name).unwrap();
            attrs
                .iter()
                .any(|a| a.starts_with("#[derive(") && a.contains(",Default,"))
        };
        assert!(derives_default("types::CallHistory"));
        assert!(derives_default("types::CallCost"));
        assert!(derives_default("types::FunctionCall"));
        // `code` and `message` are required; the path parameter has a minLength.
        assert!(!derives_default("types::ApiError"));
        assert!(!derives_default("types::ErrorEnvelope"));
        assert!(!derives_default("types::GetCallHistoryCallHistoryId"));
    }

    #[test]
    fn model_builders_start_maps_and_arrays_empty_and_still_demand_required_fields() {
        let code = generate(trillet_spec::SPEC_YAML).unwrap();
        assert!(!code.contains("no value supplied for extra"), "extra");
        assert!(!code.contains("no value supplied for function_calls"));
        assert!(code.contains("code: Err(\"no value supplied for code\".to_string())"));
        assert!(code.contains("error: Err(\"no value supplied for error\".to_string())"));
    }

    #[test]
    fn the_header_names_the_spec_and_its_hash() {
        let generated =
            generate("openapi: 3.0.3\ninfo: {title: t, version: v}\npaths: {}\n").unwrap();
        assert!(generated.starts_with(
            "// @generated by `cargo xtask codegen` from spec/trillet.yaml\n// spec sha256: "
        ));
    }

    #[test]
    fn every_operation_gets_its_effect_and_a_spec_without_one_is_refused() {
        let text = trillet_spec::SPEC_YAML.to_owned();
        let code = generate(&text).unwrap();
        assert!(
            code.contains(r#""get_call_history" => Some(crate::Effect::Read)"#),
            "no effect arm for get_call_history"
        );
        assert_eq!(require_effects(&text), Ok(()));
        let called = text.replacen("x-trillet-effect: read", "x-trillet-effect: call", 1);
        assert!(
            generate(&called)
                .unwrap()
                .contains(r#""list_call_histories" => Some(crate::Effect::Call)"#)
        );
        let missing = text.replacen("x-trillet-effect: read", "", 1);
        let err = require_effects(&missing).unwrap_err();
        assert!(
            err.contains("GET /v2/api/call-history: no x-trillet-effect"),
            "{err}"
        );
        // Code is still generated for it (spec-diff reads any spec): without an arm.
        assert!(
            !generate(&missing)
                .unwrap()
                .contains(r#""list_call_histories" =>"#)
        );
    }

    #[test]
    fn the_coverage_table_has_one_row_per_operation_and_counts_effects() {
        let text = trillet_spec::SPEC_YAML.to_owned();
        let table = coverage(&text).unwrap();
        let operations = trillet_spec::Spec::parse(&text)
            .unwrap()
            .operations()
            .unwrap();
        let rows: Vec<&str> = table
            .lines()
            .take_while(|l| !l.starts_with("## "))
            .filter(|l| l.starts_with("| `"))
            .collect();
        assert_eq!(rows.len(), operations.len());
        for op in &operations {
            assert!(
                rows.iter()
                    .any(|r| r.starts_with(&format!("| `{}` | {} |", op.id, op.method))),
                "{} missing:\n{table}",
                op.id
            );
        }
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for op in &operations {
            *counts
                .entry(op.effect.as_deref().unwrap_or("(none)"))
                .or_default() += 1;
        }
        let counts: Vec<String> = counts.iter().map(|(e, n)| format!("{e} {n}")).collect();
        assert!(
            table.contains(&format!(
                "{} in all (by effect: {})",
                operations.len(),
                counts.join(", ")
            )),
            "{table}"
        );
        assert!(counts.iter().any(|c| c.starts_with("call ")), "{counts:?}");
        // What the spec says it leaves out is listed with its reason.
        assert!(
            table.contains("## Not described yet (")
                && table.contains("| `POST /v1/api/batch-calls` | multipart/form-data"),
            "{table}"
        );
        assert!(table.contains(
            "| `initiate_call` | POST | `/v1/api/call` | calls | call | JSON | [1](https://"
        ));
        // A `|` or a line break in the spec does not break the table.
        let hostile = text.replacen("tags: [calls]", "tags: [\"a|b\"]", 1);
        let table = coverage(&hostile).unwrap();
        assert!(table.contains("| a\\|b |"), "{table}");
    }

    #[test]
    fn an_invalid_spec_is_an_error_not_a_panic() {
        assert!(
            generate("openapi: [")
                .unwrap_err()
                .contains("not a valid OpenAPI")
        );
    }
}
