//! The Rust API layer: what a spec change does to code that depends on the
//! generated crate. Both sides are generated in memory (as `cargo xtask codegen`
//! would), their public items are read from the `syn` syntax tree, and each
//! difference gets the semver bump it needs under the Rust API evolution rules that
//! cargo-semver-checks also checks (RFC 1105): removing or changing anything public
//! is major; adding a field to a `#[non_exhaustive]` struct, a variant to a
//! `#[non_exhaustive]` enum, a type, a method or a trait implementation is minor;
//! a change to code that leaves the public API as it was is a patch; a change to
//! documentation only needs no release.
//!
//! Hand-rolled on purpose: cargo-semver-checks needs rustdoc JSON, so a compiled
//! crate and a minute per side; this reads the generator's output directly, in
//! milliseconds, and is itself checked against cargo-semver-checks and the
//! compiler (`xtask/tests/rust_api_oracle.rs`).

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;

/// The crate the generated code lives in (`generated.rs` is re-exported at its root).
pub const CRATE: &str = "trillet_api";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bump {
    None,
    Patch,
    Minor,
    Major,
}

impl Bump {
    pub fn as_str(self) -> &'static str {
        match self {
            Bump::None => "none",
            Bump::Patch => "patch",
            Bump::Minor => "minor",
            Bump::Major => "major",
        }
    }
}

/// One public API difference. The derived order (bump, descending via `Reverse` by
/// the caller, then path) is not used for output; [`compare`] sorts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub bump: Bump,
    /// A stable identifier of the kind of change, e.g. `struct-field-type-changed`.
    pub kind: &'static str,
    /// The Rust path of the item, e.g. `trillet_api::types::CallHistory::id`.
    pub path: String,
    pub message: String,
}

/// The Rust API verdict of a spec change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RustApi {
    /// The bump the generated crate's version needs.
    pub semver: Bump,
    /// Public API changes, most severe first. Empty for a patch or none.
    pub changes: Vec<Change>,
}

/// The Rust layer of a report: a verdict, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Compared(RustApi),
    /// One side could not be generated or parsed; the message says which and why.
    Failed(String),
}

/// Compares the code generated from two specs.
pub fn from_code(base: Result<String, String>, head: Result<String, String>) -> Verdict {
    let base = match base.and_then(|code| parse(&code)) {
        Ok(file) => file,
        Err(e) => return Verdict::Failed(format!("generating from the base spec failed: {e}")),
    };
    let head = match head.and_then(|code| parse(&code)) {
        Ok(file) => file,
        Err(e) => return Verdict::Failed(format!("generating from the head spec failed: {e}")),
    };
    Verdict::Compared(compare(&base, &head))
}

fn parse(code: &str) -> Result<syn::File, String> {
    syn::parse_file(code).map_err(|e| format!("the generated code does not parse: {e}"))
}

pub fn compare(base: &syn::File, head: &syn::File) -> RustApi {
    let (b, h) = (Api::of(base), Api::of(head));
    let mut changes = Vec::new();
    diff_items(&b, &h, &mut changes);
    diff_impls(&b, &h, &mut changes);
    changes.sort_by(|x, y| {
        y.bump
            .cmp(&x.bump)
            .then_with(|| x.path.cmp(&y.path))
            .then_with(|| x.kind.cmp(y.kind))
            .then_with(|| x.message.cmp(&y.message))
    });
    changes.dedup();
    let semver = match changes.iter().map(|c| c.bump).max() {
        Some(bump) => bump,
        None if code_without_docs(base) != code_without_docs(head) => Bump::Patch,
        None => Bump::None,
    };
    RustApi { semver, changes }
}

// ---------------------------------------------------------------- the API model

/// The public API of one generated file.
#[derive(Default)]
struct Api {
    /// Rust path → item.
    items: BTreeMap<String, Item>,
    /// Type path → the traits it implements (derived or written), as written.
    impls: BTreeMap<String, BTreeSet<String>>,
}

enum Item {
    Struct {
        non_exhaustive: bool,
        shape: Shape,
        /// Public fields: name (or index) → type.
        fields: BTreeMap<String, String>,
        /// Whether every field is public (a struct literal is possible if also exhaustive).
        all_public: bool,
    },
    Enum {
        non_exhaustive: bool,
        /// Variant → its fields as written (`""` for a unit variant).
        variants: BTreeMap<String, String>,
    },
    /// A function, method, constant, static, type alias or re-export: its
    /// signature as written, without attributes and bodies.
    Signature {
        what: &'static str,
        text: String,
    },
    Module,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Named,
    Tuple,
    Unit,
}

impl Api {
    fn of(file: &syn::File) -> Api {
        let mut api = Api::default();
        api.module(&file.items, &[CRATE.to_string()]);
        api
    }

    fn module(&mut self, items: &[syn::Item], module: &[String]) {
        let path = |name: &dyn std::fmt::Display| format!("{}::{name}", module.join("::"));
        for item in items {
            match item {
                syn::Item::Struct(s) if public(&s.vis) => {
                    let shape = match s.fields {
                        syn::Fields::Named(_) => Shape::Named,
                        syn::Fields::Unnamed(_) => Shape::Tuple,
                        syn::Fields::Unit => Shape::Unit,
                    };
                    let mut fields = BTreeMap::new();
                    for (i, field) in s.fields.iter().enumerate() {
                        if public(&field.vis) {
                            let name = field
                                .ident
                                .as_ref()
                                .map_or_else(|| i.to_string(), ToString::to_string);
                            fields.insert(name, tokens(&field.ty));
                        }
                    }
                    let name = path(&s.ident);
                    self.derives(&name, &s.attrs);
                    self.items.insert(
                        name,
                        Item::Struct {
                            non_exhaustive: non_exhaustive(&s.attrs),
                            shape,
                            all_public: s.fields.iter().all(|f| public(&f.vis)),
                            fields,
                        },
                    );
                }
                syn::Item::Enum(e) if public(&e.vis) => {
                    let variants = e
                        .variants
                        .iter()
                        .map(|v| (v.ident.to_string(), tokens(&v.fields)))
                        .collect();
                    let name = path(&e.ident);
                    self.derives(&name, &e.attrs);
                    self.items.insert(
                        name,
                        Item::Enum {
                            non_exhaustive: non_exhaustive(&e.attrs),
                            variants,
                        },
                    );
                }
                syn::Item::Fn(f) if public(&f.vis) => {
                    self.signature(path(&f.sig.ident), "function", tokens(&f.sig));
                }
                syn::Item::Const(c) if public(&c.vis) => {
                    self.signature(path(&c.ident), "constant", tokens(&c.ty));
                }
                syn::Item::Static(s) if public(&s.vis) => {
                    self.signature(path(&s.ident), "static", tokens(&s.ty));
                }
                syn::Item::Type(t) if public(&t.vis) => {
                    let text = format!("{}={}", tokens(&t.generics), tokens(&t.ty));
                    self.signature(path(&t.ident), "type alias", text);
                }
                syn::Item::Use(u) if public(&u.vis) => {
                    self.signature(path(&"{use}"), "re-export", tokens(&u.tree));
                }
                syn::Item::Mod(m) if public(&m.vis) => {
                    let mut inner_path = module.to_vec();
                    inner_path.push(m.ident.to_string());
                    self.items.insert(inner_path.join("::"), Item::Module);
                    if let Some((_, inner)) = &m.content {
                        self.module(inner, &inner_path);
                    }
                }
                syn::Item::Impl(imp) => self.implementation(imp, module),
                _ => {}
            }
        }
    }

    fn signature(&mut self, path: String, what: &'static str, text: String) {
        // Several `pub use` items in one module are one entry.
        let entry = self.items.entry(path).or_insert(Item::Signature {
            what,
            text: String::new(),
        });
        if let Item::Signature { text: existing, .. } = entry {
            if !existing.is_empty() {
                existing.push(';');
            }
            existing.push_str(&text);
        }
    }

    fn derives(&mut self, type_path: &str, attrs: &[syn::Attribute]) {
        use syn::punctuated::Punctuated;
        for attr in attrs.iter().filter(|a| a.path().is_ident("derive")) {
            let Ok(list) =
                attr.parse_args_with(Punctuated::<syn::Path, syn::Token![,]>::parse_terminated)
            else {
                continue;
            };
            for derive in list {
                if let Some(last) = derive.segments.last() {
                    self.impls
                        .entry(type_path.to_string())
                        .or_default()
                        .insert(last.ident.to_string());
                }
            }
        }
    }

    fn implementation(&mut self, imp: &syn::ItemImpl, module: &[String]) {
        let syn::Type::Path(self_ty) = &*imp.self_ty else {
            return;
        };
        let type_path = resolve(&self_ty.path, module);
        match &imp.trait_ {
            Some((trait_path, _)) => {
                // `impl<'de> Deserialize<'de> for X` and a derived `Deserialize` are the same.
                let name = match trait_path.segments.last() {
                    Some(last)
                        if matches!(
                            last.ident.to_string().as_str(),
                            "Deserialize" | "Serialize" | "JsonSchema"
                        ) =>
                    {
                        last.ident.to_string()
                    }
                    Some(last) => short(&format!("{}{}", last.ident, tokens(&last.arguments))),
                    None => return,
                };
                self.impls.entry(type_path).or_default().insert(name);
            }
            None => {
                for item in &imp.items {
                    match item {
                        syn::ImplItem::Fn(f) if public(&f.vis) => {
                            let path = format!("{type_path}::{}", f.sig.ident);
                            self.signature(path, "method", tokens(&f.sig));
                        }
                        syn::ImplItem::Const(c) if public(&c.vis) => {
                            let path = format!("{type_path}::{}", c.ident);
                            self.signature(path, "associated constant", tokens(&c.ty));
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

fn public(vis: &syn::Visibility) -> bool {
    matches!(vis, syn::Visibility::Public(_))
}

fn non_exhaustive(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| a.path().is_ident("non_exhaustive"))
}

/// A type path written inside `module`, as a path from the crate root.
fn resolve(path: &syn::Path, module: &[String]) -> String {
    let mut out: Vec<String> = module.to_vec();
    let mut first = true;
    for segment in &path.segments {
        let ident = segment.ident.to_string();
        match ident.as_str() {
            "super" if out.len() > 1 => {
                out.pop();
            }
            "crate" if first => out.truncate(1),
            "self" => {}
            _ => out.push(ident),
        }
        first = false;
    }
    out.join("::")
}

/// Tokens as text, laid out by prettyplease and joined on one line:
/// `::std::option::Option<::std::string::String>`, `fn id<T>(mut self, value: T) -> Self where …`.
fn tokens(item: &impl ToTokens) -> String {
    let ts = item.to_token_stream();
    // prettyplease lays out whole items: wrap, unparse, unwrap.
    let laid_out = if let Ok(ty) = syn::parse2::<syn::Type>(ts.clone()) {
        unparse_between(syn::parse_quote!(type X = #ty;), "type X = ", ";")
    } else if let Ok(sig) = syn::parse2::<syn::Signature>(ts.clone()) {
        unparse_between(syn::parse_quote!(#sig {}), "", "{}")
    } else {
        None
    };
    one_line(&laid_out.unwrap_or_else(|| ts.to_string()))
}

fn unparse_between(item: syn::Item, prefix: &str, suffix: &str) -> Option<String> {
    let file: syn::File = syn::parse_quote!(#item);
    let text = prettyplease::unparse(&file);
    let text = text.trim().strip_prefix(prefix)?.strip_suffix(suffix)?;
    Some(text.trim().to_string())
}

/// Whitespace runs as one space, without the breaks prettyplease puts in long lines.
fn one_line(text: &str) -> String {
    let mut out = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for (from, to) in [
        ("< ", "<"),
        (", >", ">"),
        (" >", ">"),
        ("( ", "("),
        (", )", ")"),
        (" )", ")"),
        (",,", ","),
    ] {
        out = out.replace(from, to);
    }
    out.trim_end_matches(',').to_string()
}

/// A type as a reader would write it: `Option<String>`, `DateTime<Utc>`.
pub fn short(text: &str) -> String {
    let mut out = text.to_string();
    for prefix in [
        "::std::option::",
        "::std::string::",
        "::std::vec::",
        "::std::collections::",
        "::std::num::",
        "::std::convert::",
        "::std::result::",
        "::std::fmt::",
        "::std::str::",
        "::std::",
        "std::convert::",
        "std::",
        "::serde_json::",
        "::chrono::offset::",
        "::chrono::",
        "super::",
        "crate::",
        "types::",
    ] {
        out = out.replace(prefix, "");
    }
    out
}

/// [`code_without_docs`] of source text (comments are not tokens either).
#[cfg(test)]
pub fn code_without_docs_text(code: &str) -> Result<String, String> {
    Ok(code_without_docs(&parse(code)?))
}

/// The file's tokens without doc comments: equal on both sides when only
/// documentation changed.
fn code_without_docs(file: &syn::File) -> String {
    fn strip(stream: TokenStream) -> TokenStream {
        let mut out = Vec::new();
        let mut trees = stream.into_iter().peekable();
        while let Some(tree) = trees.next() {
            if let TokenTree::Punct(p) = &tree
                && p.as_char() == '#'
            {
                let is_doc = match trees.peek() {
                    Some(TokenTree::Group(g)) => g
                        .stream()
                        .into_iter()
                        .next()
                        .is_some_and(|t| matches!(&t, TokenTree::Ident(i) if i == "doc")),
                    Some(TokenTree::Punct(bang)) if bang.as_char() == '!' => false,
                    _ => false,
                };
                if is_doc {
                    trees.next();
                    continue;
                }
            }
            match tree {
                TokenTree::Group(g) => {
                    let mut group = proc_macro2::Group::new(g.delimiter(), strip(g.stream()));
                    group.set_span(g.span());
                    out.push(TokenTree::Group(group));
                }
                other => out.push(other),
            }
        }
        out.into_iter().collect()
    }
    strip(file.to_token_stream()).to_string()
}

// ---------------------------------------------------------------- the diff

fn change(changes: &mut Vec<Change>, bump: Bump, kind: &'static str, path: &str, message: String) {
    changes.push(Change {
        bump,
        kind,
        path: path.to_string(),
        message,
    });
}

fn describe(item: &Item) -> &'static str {
    match item {
        Item::Struct { .. } => "struct",
        Item::Enum { .. } => "enum",
        Item::Signature { what, .. } => what,
        Item::Module => "module",
    }
}

fn diff_items(b: &Api, h: &Api, changes: &mut Vec<Change>) {
    for (path, bi) in &b.items {
        let Some(hi) = h.items.get(path) else {
            change(
                changes,
                Bump::Major,
                "item-removed",
                path,
                format!("{} `{path}` was removed", describe(bi)),
            );
            continue;
        };
        match (bi, hi) {
            (
                Item::Struct {
                    non_exhaustive: bn,
                    shape: bs,
                    fields: bf,
                    all_public: ba,
                },
                Item::Struct {
                    non_exhaustive: hn,
                    shape: hs,
                    fields: hf,
                    ..
                },
            ) => {
                if bs != hs {
                    change(
                        changes,
                        Bump::Major,
                        "struct-kind-changed",
                        path,
                        format!("struct `{path}` changed from {bs:?} to {hs:?} fields"),
                    );
                    continue;
                }
                non_exhaustive_change(changes, path, "struct", *bn, *hn);
                for (name, bt) in bf {
                    let field = format!("{path}::{name}");
                    match hf.get(name) {
                        None => change(
                            changes,
                            Bump::Major,
                            "struct-field-removed",
                            &field,
                            format!("field `{field}` was removed"),
                        ),
                        Some(ht) if ht != bt => change(
                            changes,
                            Bump::Major,
                            "struct-field-type-changed",
                            &field,
                            format!(
                                "field `{field}`: type changed from `{}` to `{}`",
                                short(bt),
                                short(ht)
                            ),
                        ),
                        Some(_) => {}
                    }
                }
                for (name, ht) in hf.iter().filter(|(n, _)| !bf.contains_key(*n)) {
                    let field = format!("{path}::{name}");
                    // A struct literal (possible for an exhaustive struct with only
                    // public fields) stops compiling when a field is added.
                    let (bump, why) = if !*bn && *ba {
                        (Bump::Major, ": struct literals stop compiling")
                    } else {
                        (Bump::Minor, "")
                    };
                    change(
                        changes,
                        bump,
                        "struct-field-added",
                        &field,
                        format!("field `{field}: {}` was added{why}", short(ht)),
                    );
                }
            }
            (
                Item::Enum {
                    non_exhaustive: bn,
                    variants: bv,
                },
                Item::Enum {
                    non_exhaustive: hn,
                    variants: hv,
                },
            ) => {
                non_exhaustive_change(changes, path, "enum", *bn, *hn);
                for (name, bf) in bv {
                    let variant = format!("{path}::{name}");
                    match hv.get(name) {
                        None => change(
                            changes,
                            Bump::Major,
                            "enum-variant-removed",
                            &variant,
                            format!("variant `{variant}` was removed"),
                        ),
                        Some(hf) if hf != bf => change(
                            changes,
                            Bump::Major,
                            "enum-variant-changed",
                            &variant,
                            format!(
                                "variant `{variant}` changed from `{}` to `{}`",
                                short(bf),
                                short(hf)
                            ),
                        ),
                        Some(_) => {}
                    }
                }
                for name in hv.keys().filter(|n| !bv.contains_key(*n)) {
                    let variant = format!("{path}::{name}");
                    let (bump, why) = if *bn {
                        (Bump::Minor, "")
                    } else {
                        (Bump::Major, ": exhaustive matches stop compiling")
                    };
                    change(
                        changes,
                        bump,
                        "enum-variant-added",
                        &variant,
                        format!("variant `{variant}` was added{why}"),
                    );
                }
            }
            (Item::Signature { what, text: b_text }, Item::Signature { text: h_text, .. }) => {
                if b_text != h_text {
                    change(
                        changes,
                        Bump::Major,
                        "signature-changed",
                        path,
                        format!(
                            "{what} `{path}` changed from `{}` to `{}`",
                            short(b_text),
                            short(h_text)
                        ),
                    );
                }
            }
            (Item::Module, Item::Module) => {}
            (bi, hi) => change(
                changes,
                Bump::Major,
                "item-kind-changed",
                path,
                format!(
                    "`{path}` changed from a {} to a {}",
                    describe(bi),
                    describe(hi)
                ),
            ),
        }
    }
    for (path, hi) in h.items.iter().filter(|(p, _)| !b.items.contains_key(*p)) {
        change(
            changes,
            Bump::Minor,
            "item-added",
            path,
            format!("{} `{path}` was added", describe(hi)),
        );
    }
}

fn non_exhaustive_change(changes: &mut Vec<Change>, path: &str, what: &str, b: bool, h: bool) {
    match (b, h) {
        (false, true) => change(
            changes,
            Bump::Major,
            "became-non-exhaustive",
            path,
            format!("{what} `{path}` became `#[non_exhaustive]`"),
        ),
        (true, false) => change(
            changes,
            Bump::Minor,
            "no-longer-non-exhaustive",
            path,
            format!("{what} `{path}` is no longer `#[non_exhaustive]`"),
        ),
        _ => {}
    }
}

fn diff_impls(b: &Api, h: &Api, changes: &mut Vec<Change>) {
    let empty = BTreeSet::new();
    for (path, b_traits) in &b.impls {
        // A removed type is reported once, as removed.
        if !h.items.contains_key(path) && b.items.contains_key(path) {
            continue;
        }
        let h_traits = h.impls.get(path).unwrap_or(&empty);
        for t in b_traits.difference(h_traits) {
            change(
                changes,
                Bump::Major,
                "trait-impl-removed",
                path,
                format!("`{path}` no longer implements `{t}`"),
            );
        }
    }
    for (path, h_traits) in &h.impls {
        if !b.items.contains_key(path) && h.items.contains_key(path) {
            continue;
        }
        let b_traits = b.impls.get(path).unwrap_or(&empty);
        for t in h_traits.difference(b_traits) {
            change(
                changes,
                Bump::Minor,
                "trait-impl-added",
                path,
                format!("`{path}` now implements `{t}`"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(base: &str, head: &str) -> RustApi {
        compare(
            &syn::parse_file(base).unwrap(),
            &syn::parse_file(head).unwrap(),
        )
    }

    fn kinds(api: &RustApi) -> Vec<(&'static str, &'static str, &str)> {
        api.changes
            .iter()
            .map(|c| (c.bump.as_str(), c.kind, c.path.as_str()))
            .collect()
    }

    const MODEL: &str = "pub mod types {
        #[derive(Clone, Debug, Default)]
        #[non_exhaustive]
        pub struct Call { pub id: Option<String>, pub tags: Vec<String> }
        #[derive(Clone, Copy)]
        #[non_exhaustive]
        pub enum Kind { Sip, Web }
        impl Call { pub fn builder() -> builder::Call { Default::default() } }
    }";

    #[test]
    fn identical_code_needs_no_release_and_a_doc_change_neither() {
        assert_eq!(verdict(MODEL, MODEL).semver, Bump::None);
        let documented = MODEL.replace("pub struct Call", "/// A call.\npub struct Call");
        let api = verdict(MODEL, &documented);
        assert_eq!((api.semver, api.changes.len()), (Bump::None, 0));
    }

    #[test]
    fn a_changed_body_with_the_same_api_is_a_patch() {
        let changed = MODEL.replace("Default::default()", "builder::Call::default()");
        assert_eq!(verdict(MODEL, &changed).semver, Bump::Patch);
    }

    #[test]
    fn a_field_added_to_a_non_exhaustive_struct_is_minor_and_to_an_exhaustive_one_major() {
        let added = MODEL.replace(
            "pub tags: Vec<String> }",
            "pub tags: Vec<String>, pub cost: Option<f64> }",
        );
        let api = verdict(MODEL, &added);
        assert_eq!(
            kinds(&api),
            [(
                "minor",
                "struct-field-added",
                "trillet_api::types::Call::cost"
            )]
        );
        let exhaustive = MODEL.replacen("#[non_exhaustive]\n        pub struct", "pub struct", 1);
        let added = exhaustive.replace(
            "pub tags: Vec<String> }",
            "pub tags: Vec<String>, pub cost: Option<f64> }",
        );
        assert_eq!(verdict(&exhaustive, &added).semver, Bump::Major);
    }

    #[test]
    fn a_field_type_change_or_removal_is_major() {
        let required = MODEL.replace("pub id: Option<String>", "pub id: String");
        let api = verdict(MODEL, &required);
        assert_eq!(
            kinds(&api),
            [(
                "major",
                "struct-field-type-changed",
                "trillet_api::types::Call::id"
            )]
        );
        assert!(
            api.changes[0]
                .message
                .contains("from `Option<String>` to `String`"),
            "{:?}",
            api.changes
        );
        let removed = MODEL.replace("pub id: Option<String>, ", "");
        assert_eq!(
            kinds(&verdict(MODEL, &removed)),
            [(
                "major",
                "struct-field-removed",
                "trillet_api::types::Call::id"
            )]
        );
    }

    #[test]
    fn variants_added_to_a_non_exhaustive_enum_are_minor_removed_are_major() {
        let added = MODEL.replace("Sip, Web", "Sip, Web, Pstn");
        assert_eq!(
            kinds(&verdict(MODEL, &added)),
            [(
                "minor",
                "enum-variant-added",
                "trillet_api::types::Kind::Pstn"
            )]
        );
        let removed = MODEL.replace("Sip, Web", "Sip");
        assert_eq!(verdict(MODEL, &removed).semver, Bump::Major);
    }

    #[test]
    fn losing_a_derive_is_major_gaining_one_minor() {
        let lost = MODEL.replace(
            "#[derive(Clone, Debug, Default)]",
            "#[derive(Clone, Debug)]",
        );
        assert_eq!(
            kinds(&verdict(MODEL, &lost)),
            [("major", "trait-impl-removed", "trillet_api::types::Call")]
        );
        assert_eq!(verdict(&lost, MODEL).semver, Bump::Minor);
    }

    #[test]
    fn types_and_methods_added_are_minor_removed_or_changed_major() {
        let more = format!(
            "{MODEL}\npub struct Client {{ x: u8 }}\nimpl Client {{ pub fn get(&self) -> u8 {{ self.x }} }}"
        );
        let api = verdict(MODEL, &more);
        assert_eq!(api.semver, Bump::Minor);
        assert_eq!(
            kinds(&api),
            [
                ("minor", "item-added", "trillet_api::Client"),
                ("minor", "item-added", "trillet_api::Client::get")
            ]
        );
        assert_eq!(verdict(&more, MODEL).semver, Bump::Major);
        let changed = more.replace("pub fn get(&self) -> u8", "pub fn get(&self, n: u8) -> u8");
        assert_eq!(
            kinds(&verdict(&more, &changed)),
            [("major", "signature-changed", "trillet_api::Client::get")]
        );
    }

    #[test]
    fn impls_in_another_module_are_attributed_to_the_type_they_are_for() {
        let base = "pub mod types { pub struct A; pub mod builder { pub struct A; } }";
        let head = "pub mod types { pub struct A; pub mod builder { pub struct A; impl TryFrom<A> for super::A { type Error = (); fn try_from(_: A) -> Result<Self, ()> { Ok(super::A) } } } }";
        assert_eq!(
            kinds(&verdict(base, head)),
            [("minor", "trait-impl-added", "trillet_api::types::A")]
        );
    }

    #[test]
    fn types_read_as_people_write_them() {
        assert_eq!(
            short(&tokens(
                &syn::parse_str::<syn::Type>(
                    "::std::option::Option<::chrono::DateTime<::chrono::offset::Utc>>"
                )
                .unwrap()
            )),
            "Option<DateTime<Utc>>"
        );
        assert_eq!(
            short(&tokens(
                &syn::parse_str::<syn::Type>(
                    "::serde_json::Map<::std::string::String, ::serde_json::Value>"
                )
                .unwrap()
            )),
            "Map<String, Value>"
        );
        assert_eq!(
            tokens(&syn::parse_str::<syn::Type>("&'a super::Client").unwrap()),
            "&'a super::Client"
        );
    }
}
