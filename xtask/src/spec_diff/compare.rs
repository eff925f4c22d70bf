//! Document-level comparison: info, servers, paths and operations, parameters,
//! security, request bodies, responses and their headers, components.
//! Schemas are compared in [`super::schema`].
//!
//! `$ref`s are followed as they are met. A finding inside a referenced component
//! points into the component (`/components/...`), so a change to a shared
//! component is reported once, however many operations use it.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use openapiv3::{
    Components, Content, Header, OpenAPI, Operation, Parameter, ParameterData,
    ParameterSchemaOrContent, PathItem, ReferenceOr, RequestBody, Response, SecurityScheme,
};
use serde_json::Value;

use super::pointer::join;
use super::schema::{Dir, Visit, Walk};
use super::{Finding, Severity};

use Severity::{Breaking, Info, Warning};

/// Every finding between two parsed documents, sorted and without duplicates.
/// `Err` when a `$ref` does not resolve (the spec is broken, not changed).
pub fn compare(base: &OpenAPI, head: &OpenAPI) -> Result<Vec<Finding>, String> {
    let base_schemas = component_schemas(base, "base")?;
    let head_schemas = component_schemas(head, "head")?;
    let base_raw = serde_json::to_value(base).map_err(|e| format!("base spec: {e}"))?;
    let head_raw = serde_json::to_value(head).map_err(|e| format!("head spec: {e}"))?;
    let mut cx = Cx {
        base: Side {
            doc: base,
            raw: &base_raw,
            schemas: &base_schemas,
            name: "base",
        },
        head: Side {
            doc: head,
            raw: &head_raw,
            schemas: &head_schemas,
            name: "head",
        },
        findings: BTreeSet::new(),
        errors: BTreeSet::new(),
        seen: HashSet::new(),
    };
    cx.info();
    cx.paths();
    cx.components();
    if !cx.errors.is_empty() {
        let errors: Vec<String> = cx.errors.into_iter().collect();
        return Err(errors.join("\n"));
    }
    Ok(cx.findings.into_iter().collect())
}

/// Component schemas in their JSON form (as openapiv3 parsed and normalised them).
fn component_schemas(doc: &OpenAPI, side: &str) -> Result<BTreeMap<String, Value>, String> {
    let mut out = BTreeMap::new();
    if let Some(components) = &doc.components {
        for (name, schema) in &components.schemas {
            let value = serde_json::to_value(schema)
                .map_err(|e| format!("{side} spec: schema `{name}`: {e}"))?;
            out.insert(name.clone(), value);
        }
    }
    Ok(out)
}

/// One document of the pair.
#[derive(Clone, Copy)]
pub struct Side<'a> {
    pub doc: &'a OpenAPI,
    /// The same document as JSON, where `$ref`s are followed (trillet-spec's one
    /// resolver: chains, loops and dangling references handled alike everywhere).
    pub raw: &'a Value,
    pub schemas: &'a BTreeMap<String, Value>,
    pub name: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Base,
    Head,
}

/// The comparison's state: both sides and what was found so far.
pub struct Cx<'a> {
    pub base: Side<'a>,
    pub head: Side<'a>,
    findings: BTreeSet<Finding>,
    errors: BTreeSet<String>,
    /// Schema pairs already compared (shared components, recursion).
    pub seen: HashSet<Visit>,
}

impl<'a> Cx<'a> {
    pub fn side(&self, which: Which) -> Side<'a> {
        match which {
            Which::Base => self.base,
            Which::Head => self.head,
        }
    }

    pub fn report(
        &mut self,
        severity: Severity,
        id: impl Into<String>,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.findings.insert(Finding {
            severity,
            pointer: pointer.into(),
            id: id.into(),
            message: message.into(),
        });
    }

    pub fn error(&mut self, message: String) {
        self.errors.insert(message);
    }

    /// Follows `$ref: '#/components/<kind>/<name>'` chains. Returns the item, the
    /// pointer where it is defined, and the last component name followed.
    fn resolve<T>(
        &mut self,
        which: Which,
        item: &'a ReferenceOr<T>,
        pointer: String,
        kind: &str,
        get: impl Fn(&'a Components, &str) -> Option<&'a ReferenceOr<T>>,
    ) -> Option<(&'a T, String, Option<&'a str>)> {
        let side = self.side(which);
        let reference = match item {
            ReferenceOr::Item(item) => return Some((item, pointer, None)),
            ReferenceOr::Reference { reference } => reference,
        };
        let last = match trillet_spec::resolve_reference(side.raw, reference) {
            Ok((last, _)) => last,
            Err(e) => {
                self.error(format!("{} spec: {e} (at {pointer})", side.name));
                return None;
            }
        };
        // The chain ends at a component of this kind, which the typed document holds.
        let prefix = format!("#/components/{kind}/");
        let target = last.strip_prefix(&prefix).and_then(|n| {
            let components = side.doc.components.as_ref()?;
            match get(components, n)? {
                ReferenceOr::Item(item) => Some((n, item)),
                ReferenceOr::Reference { .. } => None,
            }
        });
        let Some((name, target)) = target else {
            self.error(format!(
                "{} spec: `$ref: {reference}` at {pointer} does not resolve to one of \
                 `components/{kind}`",
                side.name
            ));
            return None;
        };
        Some((
            target,
            join(&format!("/components/{kind}"), name),
            Some(name),
        ))
    }

    // ---------------------------------------------------------------- info

    fn info(&mut self) {
        let (b, h) = (&self.base.doc.info, &self.head.doc.info);
        if b.title != h.title {
            self.report(
                Info,
                "info-title-changed",
                "/info/title",
                format!("API title changed from \"{}\" to \"{}\"", b.title, h.title),
            );
        }
        if b.description != h.description {
            self.report(
                Info,
                "info-description-changed",
                "/info/description",
                "API description changed",
            );
        }
        if b.version != h.version {
            self.report(
                Warning,
                "info-version-changed",
                "/info/version",
                format!(
                    "API version changed from `{}` to `{}`: the generated client sends it \
                     as the `api-version` header of every request",
                    b.version, h.version
                ),
            );
        }
        let urls = |doc: &OpenAPI| -> BTreeSet<String> {
            doc.servers.iter().map(|s| s.url.clone()).collect()
        };
        let (b, h) = (urls(self.base.doc), urls(self.head.doc));
        for url in b.difference(&h) {
            self.report(
                Info,
                "api-server-removed",
                "/servers",
                format!("server `{url}` removed"),
            );
        }
        for url in h.difference(&b) {
            self.report(
                Info,
                "api-server-added",
                "/servers",
                format!("server `{url}` added"),
            );
        }
    }

    // ---------------------------------------------------------------- paths

    fn operations(&mut self, which: Which) -> BTreeMap<(String, &'static str), Op<'a>> {
        let side = self.side(which);
        let mut out = BTreeMap::new();
        for (path, item) in &side.doc.paths.paths {
            let item = match item {
                ReferenceOr::Item(item) => item,
                ReferenceOr::Reference { reference } => {
                    self.error(format!(
                        "{} spec: path item `{path}` is a `$ref` ({reference}), which spec-diff \
                         does not follow",
                        side.name
                    ));
                    continue;
                }
            };
            for (method, op) in item.iter() {
                let method = method_name(method);
                let pointer = join(&join("/paths", path), method);
                out.insert(
                    (template(path), method),
                    Op {
                        path,
                        item,
                        method,
                        op,
                        pointer,
                    },
                );
            }
        }
        out
    }

    fn paths(&mut self) {
        let base = self.operations(Which::Base);
        let head = self.operations(Which::Head);
        let head_paths: BTreeSet<&String> = head.keys().map(|(path, _)| path).collect();
        for (key, b) in &base {
            match head.get(key) {
                Some(h) => self.operation(b, h),
                None => {
                    let path_removed = !head_paths.contains(&key.0);
                    let (id, severity, how) = match (path_removed, b.op.deprecated) {
                        (true, false) => (
                            "api-path-removed-without-deprecation",
                            Breaking,
                            "removed without deprecation",
                        ),
                        (true, true) => (
                            "api-path-removed-with-deprecation",
                            Warning,
                            "removed after deprecation",
                        ),
                        (false, false) => (
                            "api-removed-without-deprecation",
                            Breaking,
                            "removed without deprecation",
                        ),
                        (false, true) => (
                            "api-removed-with-deprecation",
                            Warning,
                            "removed after deprecation",
                        ),
                    };
                    let message = format!(
                        "{} was {how}: the generated method `{}` disappears",
                        b.label(),
                        b.op.operation_id.as_deref().unwrap_or("?")
                    );
                    self.report(severity, id, b.pointer.clone(), message);
                }
            }
        }
        for (key, h) in &head {
            if !base.contains_key(key) {
                self.report(
                    Info,
                    "endpoint-added",
                    h.pointer.clone(),
                    format!("{} was added", h.label()),
                );
            }
        }
    }

    fn operation(&mut self, b: &Op<'a>, h: &Op<'a>) {
        let label = h.label();
        let ptr = &h.pointer;
        if b.op.operation_id != h.op.operation_id {
            self.report(
                Breaking,
                "api-operation-id-updated",
                join(ptr, "operationId"),
                format!(
                    "operationId of {label} changed from `{}` to `{}`: the generated method is renamed",
                    b.op.operation_id.as_deref().unwrap_or("(none)"),
                    h.op.operation_id.as_deref().unwrap_or("(none)")
                ),
            );
        }
        for (field, old, new) in [
            ("summary", &b.op.summary, &h.op.summary),
            ("description", &b.op.description, &h.op.description),
        ] {
            if old != new {
                self.report(
                    Info,
                    "api-description-changed",
                    join(ptr, field),
                    format!("{field} of {label} changed"),
                );
            }
        }
        if !b.op.deprecated && h.op.deprecated {
            self.report(
                Info,
                "endpoint-deprecated",
                join(ptr, "deprecated"),
                format!("{label} is now deprecated"),
            );
        }
        let tags = |op: &Operation| op.tags.iter().cloned().collect::<BTreeSet<String>>();
        if tags(b.op) != tags(h.op) {
            self.report(
                Info,
                "api-tags-changed",
                join(ptr, "tags"),
                format!("tags of {label} changed"),
            );
        }
        self.parameters(b, h, &label);
        self.security(b, h, &label);
        self.request_body(b, h, &label);
        self.responses(b, h, &label);
    }

    // ---------------------------------------------------------------- parameters

    /// Path-item parameters overridden by the operation's own (same name and location).
    fn effective_parameters(&mut self, which: Which, op: &Op<'a>) -> Vec<Param<'a>> {
        let mut list: Vec<Param<'a>> = Vec::new();
        let lists = [
            (
                &op.item.parameters,
                join(&join("/paths", op.path), "parameters"),
            ),
            (&op.op.parameters, join(&op.pointer, "parameters")),
        ];
        for (params, base_ptr) in lists {
            for (i, param) in params.iter().enumerate() {
                let pointer = join(&base_ptr, &i.to_string());
                let Some((param, pointer, _)) =
                    self.resolve(which, param, pointer, "parameters", |c, n| {
                        c.parameters.get(n)
                    })
                else {
                    continue;
                };
                let param = Param {
                    data: param.parameter_data_ref(),
                    location: location(param),
                    pointer,
                };
                match list.iter_mut().find(|p| p.key() == param.key()) {
                    Some(existing) => *existing = param,
                    None => list.push(param),
                }
            }
        }
        list
    }

    fn parameters(&mut self, b: &Op<'a>, h: &Op<'a>, label: &str) {
        let base = self.effective_parameters(Which::Base, b);
        let head = self.effective_parameters(Which::Head, h);
        let mut head_matched = vec![false; head.len()];
        let mut moved = Vec::new();
        let mut removed = Vec::new();
        for bp in &base {
            if let Some(i) = head.iter().position(|hp| hp.key() == bp.key()) {
                head_matched[i] = true;
                self.parameter(bp, &head[i], label);
            } else {
                moved.push(bp);
            }
        }
        // Same name, another location: a move, not a removal and an addition.
        for bp in moved {
            let candidate = head.iter().enumerate().position(|(i, hp)| {
                !head_matched[i] && hp.data.name.eq_ignore_ascii_case(&bp.data.name)
            });
            match candidate {
                Some(i) => {
                    head_matched[i] = true;
                    let hp = &head[i];
                    self.report(
                        Breaking,
                        "request-parameter-location-changed",
                        hp.pointer.clone(),
                        format!(
                            "parameter `{}` of {label} moved from {} to {}",
                            hp.data.name, bp.location, hp.location
                        ),
                    );
                }
                None => removed.push(bp),
            }
        }
        for bp in removed {
            self.report(
                Breaking,
                "request-parameter-removed",
                bp.pointer.clone(),
                format!(
                    "{} parameter `{}` was removed from {label}: its generated builder method disappears",
                    bp.location, bp.data.name
                ),
            );
        }
        for (hp, _) in head
            .iter()
            .zip(head_matched)
            .filter(|(_, matched)| !matched)
        {
            let (severity, id, what) = match (hp.required(), hp.location) {
                (true, "header") => (Breaking, "new-required-request-header", "required"),
                (true, _) => (Breaking, "new-required-request-parameter", "required"),
                (false, _) => (Info, "new-optional-request-parameter", "optional"),
            };
            self.report(
                severity,
                id,
                hp.pointer.clone(),
                format!(
                    "new {what} {} parameter `{}` on {label}",
                    hp.location, hp.data.name
                ),
            );
        }
    }

    fn parameter(&mut self, b: &Param<'a>, h: &Param<'a>, label: &str) {
        let what = format!("{} parameter of {label}", h.location);
        let name = &h.data.name;
        match (b.required(), h.required()) {
            (false, true) => self.report(
                Breaking,
                "request-parameter-became-required",
                join(&h.pointer, "required"),
                format!("`{name}` ({what}) became required"),
            ),
            (true, false) => self.report(
                Info,
                "request-parameter-became-optional",
                join(&h.pointer, "required"),
                format!("`{name}` ({what}) became optional"),
            ),
            _ => {}
        }
        if b.data.description != h.data.description {
            self.report(
                Info,
                "request-parameter-description-changed",
                join(&h.pointer, "description"),
                format!("`{name}` ({what}): description changed"),
            );
        }
        if b.data.example != h.data.example || b.data.examples != h.data.examples {
            self.report(
                Info,
                "request-parameter-example-changed",
                example_pointer(&h.pointer, b.data.example != h.data.example),
                format!("`{name}` ({what}): example changed"),
            );
        }
        let walk = Walk::new(Dir::Request, "request-parameter", name, &what);
        self.parameter_format(
            &b.data.format,
            &b.pointer,
            &h.data.format,
            &h.pointer,
            &walk,
        );
    }

    /// The schema of a parameter or header (`schema`, or `content` which is only
    /// checked for a switch between the two).
    fn parameter_format(
        &mut self,
        b: &ParameterSchemaOrContent,
        b_ptr: &str,
        h: &ParameterSchemaOrContent,
        h_ptr: &str,
        walk: &Walk,
    ) {
        match (b, h) {
            (ParameterSchemaOrContent::Schema(bs), ParameterSchemaOrContent::Schema(hs)) => {
                let (bv, hv) = match (to_value(bs), to_value(hs)) {
                    (Ok(bv), Ok(hv)) => (bv, hv),
                    (Err(e), _) | (_, Err(e)) => {
                        self.error(format!("a schema at {h_ptr} cannot be read: {e}"));
                        return;
                    }
                };
                self.schema(
                    &bv,
                    &join(b_ptr, "schema"),
                    &hv,
                    &join(h_ptr, "schema"),
                    walk,
                );
            }
            (ParameterSchemaOrContent::Content(_), ParameterSchemaOrContent::Content(_)) => {}
            _ => self.report(
                Breaking,
                format!("{}-type-changed", walk.subject),
                h_ptr.to_string(),
                format!("{}: switched between `schema` and `content`", walk.name()),
            ),
        }
    }

    // ---------------------------------------------------------------- security

    /// What a request must carry for `op`: the schemes every alternative needs.
    fn credentials(&mut self, which: Which, op: &Op<'a>) -> Credentials {
        let side = self.side(which);
        let (requirements, pointer, inherited) = match (&op.op.security, &side.doc.security) {
            (Some(own), _) => (own.as_slice(), join(&op.pointer, "security"), false),
            (None, Some(global)) => (global.as_slice(), "/security".to_string(), true),
            (None, None) => (&[][..], "/security".to_string(), true),
        };
        let mut schemes: BTreeSet<String> = match requirements.first() {
            Some(first) => first.keys().cloned().collect(),
            None => BTreeSet::new(),
        };
        for alternative in requirements.iter().skip(1) {
            schemes.retain(|s| alternative.contains_key(s));
        }
        let mut credentials = Credentials {
            pointer,
            inherited,
            ..Credentials::default()
        };
        for scheme in &schemes {
            let Some(components) = side.doc.components.as_ref() else {
                self.error(format!(
                    "{} spec: security scheme `{scheme}` is not defined",
                    side.name
                ));
                continue;
            };
            let Some(item) = components.security_schemes.get(scheme) else {
                self.error(format!(
                    "{} spec: security scheme `{scheme}` is not defined",
                    side.name
                ));
                continue;
            };
            let pointer = join("/components/securitySchemes", scheme);
            let Some((definition, _, _)) =
                self.resolve(which, item, pointer, "securitySchemes", |c, n| {
                    c.security_schemes.get(n)
                })
            else {
                continue;
            };
            match definition {
                SecurityScheme::APIKey {
                    location: openapiv3::APIKeyLocation::Header,
                    name,
                    ..
                } => {
                    credentials
                        .headers
                        .insert(name.to_ascii_lowercase(), (name.clone(), scheme.clone()));
                }
                other => {
                    credentials
                        .others
                        .insert(describe_scheme(scheme, other), scheme.clone());
                }
            }
        }
        credentials.schemes = schemes;
        credentials
    }

    fn security(&mut self, b: &Op<'a>, h: &Op<'a>, label: &str) {
        let base = self.credentials(Which::Base, b);
        let head = self.credentials(Which::Head, h);
        // A change to the global requirement is reported once, not per operation.
        let label = if base.inherited && head.inherited {
            "every operation without its own `security`"
        } else {
            label
        };
        for (key, (header, scheme)) in &head.headers {
            if !base.headers.contains_key(key) {
                // The same scheme now names another header: point at the scheme.
                let pointer = if base.schemes.contains(scheme) {
                    join(&join("/components/securitySchemes", scheme), "name")
                } else {
                    head.pointer.clone()
                };
                self.report(
                    Breaking,
                    "new-required-request-header",
                    pointer,
                    format!("{label} now requires header `{header}` (security scheme `{scheme}`)"),
                );
            }
        }
        for (key, (header, _)) in &base.headers {
            if !head.headers.contains_key(key) {
                self.report(
                    Info,
                    "api-security-removed",
                    base.pointer.clone(),
                    format!("{label} no longer requires header `{header}`"),
                );
            }
        }
        for credential in head.others.keys() {
            if !base.others.contains_key(credential) {
                self.report(
                    Breaking,
                    "api-security-added",
                    head.pointer.clone(),
                    format!("{label} now requires {credential}"),
                );
            }
        }
        for credential in base.others.keys() {
            if !head.others.contains_key(credential) {
                self.report(
                    Info,
                    "api-security-removed",
                    base.pointer.clone(),
                    format!("{label} no longer requires {credential}"),
                );
            }
        }
    }

    // ---------------------------------------------------------------- request bodies

    fn request_body_of(&mut self, which: Which, op: &Op<'a>) -> Option<(&'a RequestBody, String)> {
        let body = op.op.request_body.as_ref()?;
        let pointer = join(&op.pointer, "requestBody");
        let (body, pointer, _) = self.resolve(which, body, pointer, "requestBodies", |c, n| {
            c.request_bodies.get(n)
        })?;
        Some((body, pointer))
    }

    fn request_body(&mut self, b: &Op<'a>, h: &Op<'a>, label: &str) {
        let base = self.request_body_of(Which::Base, b);
        let head = self.request_body_of(Which::Head, h);
        match (base, head) {
            (None, None) => {}
            (None, Some((hb, hp))) => {
                let (severity, id, what) = if hb.required {
                    (Breaking, "request-body-added-required", "a required")
                } else {
                    (Info, "request-body-added-optional", "an optional")
                };
                self.report(
                    severity,
                    id,
                    hp,
                    format!("{label} now takes {what} request body"),
                );
            }
            (Some((_, bp)), None) => self.report(
                Breaking,
                "request-body-removed",
                bp,
                format!(
                    "{label} no longer takes a request body: the generated `body` method disappears"
                ),
            ),
            (Some((bb, bp)), Some((hb, hp))) => {
                match (bb.required, hb.required) {
                    (false, true) => self.report(
                        Breaking,
                        "request-body-became-required",
                        join(&hp, "required"),
                        format!("the request body of {label} became required"),
                    ),
                    (true, false) => self.report(
                        Info,
                        "request-body-became-optional",
                        join(&hp, "required"),
                        format!("the request body of {label} became optional"),
                    ),
                    _ => {}
                }
                if bb.description != hb.description {
                    self.report(
                        Info,
                        "request-body-description-changed",
                        join(&hp, "description"),
                        format!("description of the request body of {label} changed"),
                    );
                }
                let context = format!("request body of {label}");
                self.content(&bb.content, &bp, &hb.content, &hp, Dir::Request, &context);
            }
        }
    }

    /// Media types of a request body or a response, and their schemas and examples.
    fn content(
        &mut self,
        b: &'a Content,
        b_ptr: &str,
        h: &'a Content,
        h_ptr: &str,
        dir: Dir,
        context: &str,
    ) {
        let prefix = match dir {
            Dir::Request => "request-body",
            Dir::Response => "response",
        };
        for (media, _) in b.iter().filter(|(m, _)| !h.contains_key(*m)) {
            self.report(
                Breaking,
                format!("{prefix}-media-type-removed"),
                join(&join(b_ptr, "content"), media),
                format!("{context} no longer offers `{media}`"),
            );
        }
        for (media, _) in h.iter().filter(|(m, _)| !b.contains_key(*m)) {
            self.report(
                Info,
                format!("{prefix}-media-type-added"),
                join(&join(h_ptr, "content"), media),
                format!("{context} now also offers `{media}`"),
            );
        }
        for (media, bm) in b {
            let Some(hm) = h.get(media) else { continue };
            let (bp, hp) = (
                join(&join(b_ptr, "content"), media),
                join(&join(h_ptr, "content"), media),
            );
            if bm.example != hm.example || bm.examples != hm.examples {
                self.report(
                    Info,
                    format!("{prefix}-example-changed"),
                    example_pointer(&hp, bm.example != hm.example),
                    format!("example of the {context} changed"),
                );
            }
            let schema = |m: &openapiv3::MediaType| {
                m.schema
                    .as_ref()
                    .map(to_value)
                    .unwrap_or_else(|| Ok(Value::Object(Default::default())))
            };
            let subject = match dir {
                Dir::Request => "request-body",
                Dir::Response => "response-body",
            };
            let walk = Walk::new(dir, subject, "body", context);
            let (b_schema, h_schema) = match (schema(bm), schema(hm)) {
                (Ok(b), Ok(h)) => (b, h),
                (Err(e), _) | (_, Err(e)) => {
                    self.error(format!("a schema at {hp} cannot be read: {e}"));
                    continue;
                }
            };
            self.schema(
                &b_schema,
                &join(&bp, "schema"),
                &h_schema,
                &join(&hp, "schema"),
                &walk,
            );
        }
    }

    // ---------------------------------------------------------------- responses

    fn responses(&mut self, b: &Op<'a>, h: &Op<'a>, label: &str) {
        let base = statuses(b.op);
        let head = statuses(h.op);
        let responses_ptr = |op: &Op| join(&op.pointer, "responses");
        for (status, _) in base.iter().filter(|(s, _)| !head.contains_key(*s)) {
            let (severity, id, what) = if is_success(status) {
                (
                    Breaking,
                    "response-success-status-removed",
                    "callers expecting it now get an error",
                )
            } else {
                (
                    Warning,
                    "response-non-success-status-removed",
                    "the generated client now reports it as an unexpected response",
                )
            };
            self.report(
                severity,
                id,
                join(&responses_ptr(b), status),
                format!("{label} no longer documents status {status}: {what}"),
            );
        }
        for (status, _) in head.iter().filter(|(s, _)| !base.contains_key(*s)) {
            let (severity, id, what) = if is_success(status) {
                (Info, "response-success-status-added", "success")
            } else {
                (Warning, "response-non-success-status-added", "error")
            };
            let mut message = format!("{label} now documents {what} status {status}");
            if severity == Warning {
                message.push_str(": the generated client decodes it as a documented error");
            }
            self.report(severity, id, join(&responses_ptr(h), status), message);
        }
        for (status, b_item) in &base {
            let Some(h_item) = head.get(status) else {
                continue;
            };
            let (b_ptr, h_ptr) = (
                join(&responses_ptr(b), status),
                join(&responses_ptr(h), status),
            );
            let get = |c: &'a Components, n: &str| c.responses.get(n);
            let Some((br, bp, _)) = self.resolve(Which::Base, b_item, b_ptr, "responses", get)
            else {
                continue;
            };
            let Some((hr, hp, name)) = self.resolve(Which::Head, h_item, h_ptr, "responses", get)
            else {
                continue;
            };
            let context = match name {
                Some(name) => format!("`{name}` response"),
                None => format!("{status} response of {label}"),
            };
            self.response(br, &bp, hr, &hp, &context);
        }
    }

    fn response(&mut self, b: &'a Response, bp: &str, h: &'a Response, hp: &str, context: &str) {
        if b.description != h.description {
            self.report(
                Info,
                "response-description-changed",
                join(hp, "description"),
                format!("description of the {context} changed"),
            );
        }
        self.response_headers(b, bp, h, hp, context);
        self.content(&b.content, bp, &h.content, hp, Dir::Response, context);
    }

    fn response_headers(
        &mut self,
        b: &'a Response,
        bp: &str,
        h: &'a Response,
        hp: &str,
        context: &str,
    ) {
        let by_name = |r: &'a Response| -> BTreeMap<String, (&'a String, &'a ReferenceOr<Header>)> {
            r.headers
                .iter()
                .map(|(name, header)| (name.to_ascii_lowercase(), (name, header)))
                .collect()
        };
        let (base, head) = (by_name(b), by_name(h));
        let get = |c: &'a Components, n: &str| c.headers.get(n);
        for (key, (name, item)) in &base {
            let entry = join(&join(bp, "headers"), name);
            let Some((bh, b_ptr, _)) =
                self.resolve(Which::Base, item, entry.clone(), "headers", get)
            else {
                continue;
            };
            let Some((h_name, h_item)) = head.get(key) else {
                let (severity, kind) = if bh.required {
                    (Breaking, "required")
                } else {
                    (Warning, "optional")
                };
                self.report(
                    severity,
                    "response-header-removed",
                    entry,
                    format!("{kind} header `{name}` was removed from the {context}"),
                );
                continue;
            };
            let h_ptr = join(&join(hp, "headers"), h_name);
            let Some((hh, h_ptr, _)) = self.resolve(Which::Head, h_item, h_ptr, "headers", get)
            else {
                continue;
            };
            let what = format!("header of the {context}");
            match (bh.required, hh.required) {
                (true, false) => self.report(
                    Breaking,
                    "response-header-became-optional",
                    join(&h_ptr, "required"),
                    format!("`{h_name}` ({what}) became optional"),
                ),
                (false, true) => self.report(
                    Info,
                    "response-header-became-required",
                    join(&h_ptr, "required"),
                    format!("`{h_name}` ({what}) became required"),
                ),
                _ => {}
            }
            if bh.description != hh.description {
                self.report(
                    Info,
                    "response-header-description-changed",
                    join(&h_ptr, "description"),
                    format!("`{h_name}` ({what}): description changed"),
                );
            }
            if bh.example != hh.example || bh.examples != hh.examples {
                self.report(
                    Info,
                    "response-header-example-changed",
                    example_pointer(&h_ptr, bh.example != hh.example),
                    format!("`{h_name}` ({what}): example changed"),
                );
            }
            let walk = Walk::new(Dir::Response, "response-header", h_name, &what);
            self.parameter_format(&bh.format, &b_ptr, &hh.format, &h_ptr, &walk);
        }
        for (key, (name, _)) in &head {
            if !base.contains_key(key) {
                self.report(
                    Info,
                    "response-header-added",
                    join(&join(hp, "headers"), name),
                    format!("header `{name}` was added to the {context}"),
                );
            }
        }
    }

    // ---------------------------------------------------------------- components

    /// progenitor generates a type for every component schema, used or not.
    fn components(&mut self) {
        let (base, head) = (self.base.schemas, self.head.schemas);
        for name in base.keys().filter(|n| !head.contains_key(*n)) {
            self.report(
                Breaking,
                "component-schema-removed",
                join("/components/schemas", name),
                format!("schema `{name}` was removed: the generated type `{name}` disappears"),
            );
        }
        for name in head.keys().filter(|n| !base.contains_key(*n)) {
            self.report(
                Info,
                "component-schema-added",
                join("/components/schemas", name),
                format!("schema `{name}` was added"),
            );
        }
        let schemes = |doc: &'a OpenAPI| doc.components.as_ref().map(|c| &c.security_schemes);
        let (Some(base), Some(head)) = (schemes(self.base.doc), schemes(self.head.doc)) else {
            return;
        };
        for (name, b) in base {
            let Some(h) = head.get(name) else { continue };
            if let (ReferenceOr::Item(b), ReferenceOr::Item(h)) = (b, h)
                && scheme_description(b) != scheme_description(h)
            {
                self.report(
                    Info,
                    "security-scheme-description-changed",
                    join(&join("/components/securitySchemes", name), "description"),
                    format!("description of security scheme `{name}` changed"),
                );
            }
        }
    }
}

/// One operation and where it lives.
pub struct Op<'a> {
    path: &'a str,
    item: &'a PathItem,
    method: &'static str,
    op: &'a Operation,
    pointer: String,
}

impl Op<'_> {
    fn label(&self) -> String {
        format!("{} {}", self.method.to_ascii_uppercase(), self.path)
    }
}

struct Param<'a> {
    data: &'a ParameterData,
    location: &'static str,
    pointer: String,
}

impl Param<'_> {
    /// Header names are case-insensitive; other parameter names are not.
    fn key(&self) -> (&'static str, String) {
        let name = if self.location == "header" {
            self.data.name.to_ascii_lowercase()
        } else {
            self.data.name.clone()
        };
        (self.location, name)
    }

    fn required(&self) -> bool {
        self.data.required || self.location == "path"
    }
}

#[derive(Default)]
struct Credentials {
    /// Required header credentials: lower-cased name → (name, scheme).
    headers: BTreeMap<String, (String, String)>,
    /// Other required credentials: description → scheme.
    others: BTreeMap<String, String>,
    schemes: BTreeSet<String>,
    /// Where the requirement is written: the operation's `security` or the global one.
    pointer: String,
    /// The operation has no `security` of its own.
    inherited: bool,
}

fn method_name(method: &str) -> &'static str {
    match method {
        "get" => "get",
        "put" => "put",
        "post" => "post",
        "delete" => "delete",
        "options" => "options",
        "head" => "head",
        "patch" => "patch",
        _ => "trace",
    }
}

/// `/a/{id}/b` and `/a/{other}/b` are the same endpoint.
fn template(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

fn location(param: &Parameter) -> &'static str {
    match param {
        Parameter::Query { .. } => "query",
        Parameter::Header { .. } => "header",
        Parameter::Path { .. } => "path",
        Parameter::Cookie { .. } => "cookie",
    }
}

fn statuses(op: &Operation) -> BTreeMap<String, &ReferenceOr<Response>> {
    let mut out: BTreeMap<String, &ReferenceOr<Response>> = op
        .responses
        .responses
        .iter()
        .map(|(status, response)| (status.to_string(), response))
        .collect();
    if let Some(default) = &op.responses.default {
        out.insert("default".to_string(), default);
    }
    out
}

fn is_success(status: &str) -> bool {
    status.starts_with('2')
}

fn describe_scheme(name: &str, scheme: &SecurityScheme) -> String {
    match scheme {
        SecurityScheme::APIKey { location, name, .. } => {
            let location = match location {
                openapiv3::APIKeyLocation::Query => "query parameter",
                openapiv3::APIKeyLocation::Header => "header",
                openapiv3::APIKeyLocation::Cookie => "cookie",
            };
            format!("API key {location} `{name}`")
        }
        SecurityScheme::HTTP { scheme, .. } => format!("HTTP `{scheme}` authentication"),
        SecurityScheme::OAuth2 { .. } => format!("OAuth 2 (scheme `{name}`)"),
        SecurityScheme::OpenIDConnect { .. } => format!("OpenID Connect (scheme `{name}`)"),
    }
}

fn scheme_description(scheme: &SecurityScheme) -> Option<&String> {
    match scheme {
        SecurityScheme::APIKey { description, .. }
        | SecurityScheme::HTTP { description, .. }
        | SecurityScheme::OAuth2 { description, .. }
        | SecurityScheme::OpenIDConnect { description, .. } => description.as_ref(),
    }
}

/// `<pointer>/example` when the single example changed, else `<pointer>/examples`.
fn example_pointer(pointer: &str, single_changed: bool) -> String {
    join(
        pointer,
        if single_changed {
            "example"
        } else {
            "examples"
        },
    )
}

/// A schema (or a `$ref` to one) in its JSON form.
fn to_value(schema: &ReferenceOr<openapiv3::Schema>) -> Result<Value, serde_json::Error> {
    serde_json::to_value(schema)
}
