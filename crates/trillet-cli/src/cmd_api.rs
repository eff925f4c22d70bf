//! `trillet api`: any operation of the spec embedded in the binary, from the shell.
//!
//! Nothing here names an operation or a parameter: the `api` subcommand gets one
//! subcommand per operation of [`Spec::bundled`], built at run time with clap's
//! builder API ([`with_operations`]), whose help is the spec's summary,
//! description and parameters. Parameters (`-p name=value`) are typed and checked
//! by `trillet_spec::ParameterCheck` (the same check the mock applies) before the
//! client is even built, so a bad one never costs a request; the request then goes
//! through `trillet::Client::send_request`, with every global option applied by
//! [`Context`]. Text from the spec is escaped ([`term::safe`]) before it is shown;
//! the response body is printed as received.

use std::io::{IsTerminal, Write};

use clap::{Arg, ArgAction, ArgMatches, Command};
use serde_json::Value;
use serde_json::value::RawValue;
use trillet::{Effect, Method, OperationRequest};
use trillet_spec::{Operation, ParameterCheck, Spec};

use crate::context::{Context, describe, exit_code};
use crate::term::{eprint_line, safe, short};
use crate::{Fatal, cli::Global, exit};

const API_EXAMPLES: &str = "\
Examples:
  trillet api --list
  trillet api get_call_history --help
  trillet --mock api get_call_history -p callHistoryId=1234567890abcdef
  trillet --mock api list_call_histories -p limit=5 -p callType=web --output jsonl";

/// The operations of the embedded spec, in document order.
pub fn operations() -> Result<(Spec, Vec<Operation>), String> {
    let spec = Spec::bundled().map_err(|e| format!("the embedded spec does not load: {e}"))?;
    let operations = spec
        .operations()
        .map_err(|e| format!("the embedded spec does not load: {e}"))?;
    Ok((spec, operations))
}

/// `trillet`'s command with one `api` subcommand per operation of `spec`.
/// An operation whose id would not be safe to show on a terminal as typed gets no
/// subcommand (it is still listed, escaped, by `--list`).
pub fn with_operations(command: Command, spec: &Spec, operations: &[Operation]) -> Command {
    command.mut_subcommand("api", |api| {
        let api = api
            .after_help(API_EXAMPLES)
            // An unknown operation id reaches `run`, which lists the valid ones.
            .allow_external_subcommands(true)
            // `help` could be an operation id; `trillet api <id> --help` remains.
            .disable_help_subcommand(true)
            .arg_required_else_help(true);
        api.subcommands(
            operations
                .iter()
                .filter(|o| offered(o))
                .map(|o| operation_command(spec, o)),
        )
    })
}

/// Whether `operation` has a subcommand: its id can be typed and shown as is.
fn offered(operation: &Operation) -> bool {
    !operation.id.is_empty() && safe(&operation.id) == operation.id.as_str()
}

/// The subcommand of one operation: its help is the spec's.
fn operation_command(spec: &Spec, operation: &Operation) -> Command {
    let summary = operation
        .summary
        .as_deref()
        .map(|s| safe(&one_line(s)).into_owned())
        .unwrap_or_else(|| format!("{} {}", operation.method, safe(&operation.path)));
    let mut long_about = summary.clone();
    if let Some(description) = &operation.description {
        long_about.push_str("\n\n");
        long_about.push_str(&paragraphs(description));
    }
    let effect = effect_of(operation);
    long_about.push_str(&format!("\n\nEffect: {effect}: it {}.", effect.action()));
    if effect.needs_confirmation() {
        long_about.push_str(
            " It asks before sending on a terminal; elsewhere it needs --yes. It is never \
             sent twice: a failure after it may have arrived is reported, not retried.",
        );
    } else if !effect.is_repeatable() {
        long_about.push_str(" It is never sent twice once it may have arrived.");
    }
    let parameters = parameter_help(spec, operation);
    let command = Command::new(operation.id.clone())
        .about(summary)
        .long_about(long_about)
        .after_help(parameters.clone())
        .after_long_help(parameters)
        .arg(
            Arg::new("param")
                .short('p')
                .long("param")
                .value_name("NAME=VALUE")
                .action(ArgAction::Append)
                .help("A parameter of the operation, by its name in the spec (repeat for each; see below)"),
        )
        .arg(
            Arg::new("yes")
                .short('y')
                .long("yes")
                .action(ArgAction::SetTrue)
                .help("Send without asking, for operations that call, message, delete or spend (see Effect)"),
        )
        .arg(
            Arg::new("output")
                .short('o')
                .long("output")
                .value_name("FORMAT")
                .value_parser(["json", "jsonl"])
                .default_value("json")
                .help("json: the body exactly as received; jsonl: one line per item of an array body, else one line"),
        );
    match &operation.request_body {
        Some((_, required)) => command.arg(
            Arg::new("body")
                .long("body")
                .value_name("JSON")
                .required(*required)
                .help("The request body: a JSON document, checked against the spec's schema"),
        ),
        None => command,
    }
}

/// The "Parameters" section of an operation's help.
fn parameter_help(spec: &Spec, operation: &Operation) -> String {
    let mut text = format!(
        "Request: {} {}\n\nParameters:\n",
        operation.method,
        safe(&operation.path)
    );
    if operation.parameters.is_empty() {
        text.push_str("  (none)\n");
    }
    for parameter in &operation.parameters {
        let mut facts = vec![
            safe(&parameter.location).into_owned(),
            type_name(spec, parameter),
        ];
        facts.push(
            if parameter.required {
                "required"
            } else {
                "optional"
            }
            .to_owned(),
        );
        if let Some(default) = spec
            .resolve(&parameter.schema)
            .ok()
            .and_then(|s| s.get("default"))
        {
            facts.push(format!("default {}", safe(&default.to_string())));
        }
        text.push_str(&format!(
            "  {}  ({})\n",
            safe(&parameter.name),
            facts.join(", ")
        ));
        let (values, open) = enum_values(spec, &parameter.schema);
        if !values.is_empty() {
            let values: Vec<String> = values.iter().map(|v| safe(v).into_owned()).collect();
            let line = if open {
                format!("values: {}, or any other", values.join(", "))
            } else {
                format!("one of: {}", values.join(", "))
            };
            text.push_str(&wrap(&line, "      "));
        }
        if let Some(description) = &parameter.description {
            text.push_str(&wrap(&safe(&one_line(description)), "      "));
        }
    }
    text.push_str(
        "\nGive each as -p NAME=VALUE; every value is checked against the spec before \
         anything is sent.\nSee also: trillet api --list",
    );
    text
}

/// The type a parameter's value has, for people: `integer`, `string (JSON)`, …
fn type_name(spec: &Spec, parameter: &trillet_spec::Parameter) -> String {
    let resolved = spec.resolve(&parameter.schema).ok();
    let mut name = spec
        .type_of(&parameter.schema)
        .map(str::to_owned)
        .or_else(|| {
            // An open set: `anyOf` alternatives that all have one type.
            let alternatives = resolved?.get("anyOf")?.as_array()?;
            let types: Vec<&str> = alternatives
                .iter()
                .filter_map(|a| spec.type_of(a))
                .collect();
            (types.len() == alternatives.len() && types.windows(2).all(|w| w[0] == w[1]))
                .then(|| types.first().map(|t| (*t).to_owned()))
                .flatten()
        })
        .unwrap_or_else(|| "any".to_owned());
    if let Some(format) = resolved
        .and_then(|s| s.get("format"))
        .and_then(Value::as_str)
    {
        name.push_str(&format!(" ({format})"));
    }
    if parameter.json_content.is_some() {
        name.push_str(" (JSON)");
    }
    safe(&name).into_owned()
}

/// The enum values a schema lists (directly or in `anyOf` alternatives), and
/// whether other values are accepted too (an open set).
fn enum_values(spec: &Spec, schema: &Value) -> (Vec<String>, bool) {
    let Ok(resolved) = spec.resolve(schema) else {
        return (Vec::new(), false);
    };
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    if let Some(values) = resolved.get("enum").and_then(Value::as_array) {
        return (values.iter().map(text).collect(), false);
    }
    let mut values = Vec::new();
    let mut open = false;
    for alternative in resolved
        .get("anyOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match spec
            .resolve(alternative)
            .ok()
            .and_then(|a| a.get("enum"))
            .and_then(Value::as_array)
        {
            Some(listed) => values.extend(listed.iter().map(text)),
            None => open = true,
        }
    }
    let open = open && !values.is_empty();
    (values, open)
}

/// Whitespace (newlines included) collapsed to single spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A description's paragraphs, each on one escaped line (terminal escaping would
/// otherwise turn its line breaks into `\u{a}`), a blank line between them.
fn paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(|p| safe(&one_line(p)).into_owned())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// `text` wrapped at 80 columns with `indent` before each line.
fn wrap(text: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && indent.len() + line.chars().count() + 1 + word.chars().count() > 80 {
            out.push_str(indent);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(indent);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// What `operation` does in the world, from the spec's `x-trillet-effect`. An
/// effect this build does not know counts as a write (never repeated once it may
/// have arrived), not as a read; an operation without one, by its method.
fn effect_of(operation: &Operation) -> Effect {
    match &operation.effect {
        Some(effect) => effect.parse().unwrap_or(Effect::Write),
        None => Effect::for_method(&operation.method),
    }
}

/// Asks on the terminal before an operation that calls, messages, deletes or
/// spends is sent; without a terminal (a script, a pipe) it is refused, since no
/// one can say yes, and `--yes` is the way. Nothing is sent unless the answer is
/// yes. A plain line read, not a prompt crate: one question, one answer.
fn confirm(operation: &Operation, request: &OperationRequest) -> Result<(), Fatal> {
    let id = safe(&operation.id).into_owned();
    let effect = request.effect_of();
    let what = format!(
        "{id} ({} {}) {}",
        operation.method,
        safe(&operation.path),
        effect.action()
    );
    let stdin = std::io::stdin();
    if !stdin.is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Fatal(format!(
            "{what}; not sent: confirm with --yes (there is no terminal to ask on)"
        )));
    }
    let mut stderr = std::io::stderr().lock();
    let summary = operation
        .summary
        .as_deref()
        .map(|s| format!(": {}", safe(&one_line(s))))
        .unwrap_or_default();
    write!(stderr, "{what}{summary}.\nSend it? [y/N] ")?;
    stderr.flush()?;
    drop(stderr);
    let mut answer = String::new();
    stdin.read_line(&mut answer)?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(Fatal(format!("{id}: not sent")))
    }
}

/// `trillet api …`: `--list`, or the operation in `matches`.
pub async fn run(global: &Global, list: bool, matches: Option<&ArgMatches>) -> Result<u8, Fatal> {
    let (spec, operations) = operations().map_err(Fatal)?;
    let chosen = matches.and_then(ArgMatches::subcommand);
    if list || chosen.is_none() {
        print_list(&operations)?;
        return Ok(exit::OK);
    }
    let Some((id, op_matches)) = chosen else {
        return Ok(exit::OK);
    };
    // An external subcommand (any other word) has none of an operation's arguments.
    let Some(operation) = operations.iter().find(|o| o.id == id && offered(o)) else {
        let known: Vec<String> = operations
            .iter()
            .map(|o| safe(&o.id).into_owned())
            .collect();
        return Err(Fatal(format!(
            "unknown operation `{}`; the operations are: {} (see trillet api --list)",
            short(id, 64),
            known.join(", ")
        )));
    };
    let request = build_request(&spec, operation, op_matches)?;
    let format = op_matches
        .get_one::<String>("output")
        .map_or("json", String::as_str);
    // Asked last, once everything else is known to be in order.
    let context = Context::new(global).await?;
    if request.effect_of().needs_confirmation() && !op_matches.get_flag("yes") {
        confirm(operation, &request)?;
    }
    match context.client.send_request(&request).await {
        // A success whose body is not JSON is a failure of the call (exit 1), like an
        // API error: the command line was fine.
        Ok(response) => match json_text(response.body()) {
            Ok(text) => {
                write_body(text, format)?;
                Ok(exit::OK)
            }
            Err(problem) => {
                eprint_line(&format!("error: {}: {problem}", operation.id));
                Ok(exit::SOME_FAILED)
            }
        },
        Err(error) => {
            eprint_line(&format!("error: {}: {}", operation.id, describe(&error)));
            Ok(exit_code(&error))
        }
    }
}

/// The request for `operation` from its command line, every parameter checked
/// against the spec; any problem is a usage error naming the parameter and the
/// operation, and nothing is sent.
fn build_request(
    spec: &Spec,
    operation: &Operation,
    matches: &ArgMatches,
) -> Result<OperationRequest, Fatal> {
    let id = safe(&operation.id).into_owned();
    let usage = |problem: String| Fatal(format!("{id}: {problem} (see trillet api {id} --help)"));
    let mut given: Vec<(&str, &str)> = Vec::new();
    for pair in matches.get_many::<String>("param").into_iter().flatten() {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| usage(format!("-p {} is not NAME=VALUE", short(pair, 64))))?;
        given.push((name, value));
    }
    // The library's rule for path segments, so the check refuses (once, exit 2)
    // exactly what building the request would.
    let check = ParameterCheck::for_operation(spec, operation)
        .map_err(|e| Fatal(format!("the embedded spec cannot check {id}: {e}")))?
        .path_rule(trillet::path_segment_problem);
    let typed = check.check(&given).map_err(|problems| {
        let said: Vec<String> = problems
            .iter()
            .map(|p| short(&p.to_string(), 200).into_owned())
            .collect();
        usage(said.join("; "))
    })?;
    let method = Method::from_bytes(operation.method.as_bytes()).map_err(|_| {
        usage(format!(
            "the spec's method {} cannot be sent",
            operation.method
        ))
    })?;
    let mut request =
        OperationRequest::new(method, operation.path.clone()).operation_id(&operation.id);
    request = request.effect(effect_of(operation));
    for parameter in typed {
        request = match parameter.location.as_str() {
            "path" => request.path_param(parameter.name, parameter.text),
            "query" => request.query(parameter.name, parameter.text),
            "header" => request.header(parameter.name, parameter.text),
            other => {
                return Err(usage(format!(
                    "{}: parameters in `{}` are not supported",
                    parameter.name,
                    safe(other)
                )));
            }
        };
    }
    // `--body` exists only for an operation with a request body (clap refuses it
    // elsewhere, and requires it where the spec does).
    let body = match &operation.request_body {
        Some(_) => matches.get_one::<String>("body"),
        None => None,
    };
    match (body, &operation.request_body) {
        (Some(body), Some((schema, _))) => {
            let value: Value = serde_json::from_str(body)
                .map_err(|e| usage(format!("--body is not JSON: {e}")))?;
            let validator = spec
                .validator_of("body", schema)
                .map_err(|e| Fatal(format!("the embedded spec cannot check {id}: {e}")))?;
            if let Some(problem) = validator.problems(&value).into_iter().next() {
                return Err(usage(format!(
                    "--body {}",
                    short(&problem.to_string(), 200)
                )));
            }
            request = request.json_body(body.clone().into_bytes());
        }
        (Some(_), None) => return Err(usage("the operation takes no --body".into())),
        (None, Some((_, true))) => return Err(usage("--body is required".into())),
        (None, _) => {}
    }
    Ok(request)
}

/// Prints every operation, one per line, in aligned columns: id, method, path,
/// summary (all escaped).
fn print_list(operations: &[Operation]) -> Result<(), Fatal> {
    let mut out = std::io::stdout().lock();
    for line in list_lines(operations) {
        writeln!(out, "{line}").map_err(|e| Fatal(format!("cannot write: {e}")))?;
    }
    out.flush().map_err(|e| Fatal(format!("cannot write: {e}")))
}

/// The lines of `--list`.
fn list_lines(operations: &[Operation]) -> Vec<String> {
    let rows: Vec<[String; 4]> = operations
        .iter()
        .map(|o| {
            [
                safe(&o.id).into_owned(),
                safe(&o.method).into_owned(),
                safe(&o.path).into_owned(),
                o.summary
                    .as_deref()
                    .map(|s| safe(&one_line(s)).into_owned())
                    .unwrap_or_default(),
            ]
        })
        .collect();
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w0, w1, w2) = (width(0), width(1), width(2));
    rows.iter()
        .map(|[id, method, path, summary]| {
            format!("{id:<w0$}  {method:<w1$}  {path:<w2$}  {summary}")
                .trim_end()
                .to_owned()
        })
        .collect()
}

/// The body as JSON text (empty for an empty body), or why it is not JSON: a body
/// that is not JSON is refused rather than printed, as it could drive the terminal.
fn json_text(body: &[u8]) -> Result<&str, String> {
    if body.is_empty() {
        return Ok("");
    }
    std::str::from_utf8(body)
        .ok()
        .filter(|t| serde_json::from_str::<&RawValue>(t).is_ok())
        .ok_or_else(|| {
            format!(
                "the response body is not JSON ({} bytes): {}; check that --base-url \
                 (TRILLET_BASE_URL) is the API's",
                body.len(),
                short(&String::from_utf8_lossy(body), 80)
            )
        })
}

/// Writes a JSON response body: `json` as received (a newline added only for a
/// terminal), `jsonl` one compact line per item of an array, else one line.
fn write_body(text: &str, format: &str) -> Result<(), Fatal> {
    let mut out = crate::term::stdout();
    let write_error = |e: std::io::Error| Fatal(format!("cannot write: {e}"));
    if text.is_empty() {
        return Ok(());
    }
    if format == "jsonl" {
        let items: Vec<&RawValue> = match serde_json::from_str::<Vec<&RawValue>>(text) {
            Ok(items) => items,
            Err(_) => {
                vec![serde_json::from_str::<&RawValue>(text).map_err(|e| Fatal(e.to_string()))?]
            }
        };
        for item in items {
            let line = jsonxf::minimize(item.get()).map_err(Fatal)?;
            writeln!(out, "{}", line.trim_end()).map_err(write_error)?;
        }
    } else {
        out.write_all(text.as_bytes()).map_err(write_error)?;
        if std::io::stdout().is_terminal() && !text.ends_with('\n') {
            writeln!(out).map_err(write_error)?;
        }
    }
    out.flush().map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spec whose every text would drive a terminal if printed raw.
    const HOSTILE: &str = r#"
openapi: 3.0.3
info: {title: t, version: v1}
paths:
  "/x/{id\u001b[2J}":
    get:
      operationId: "evil\u001b]0;title\u0007"
      summary: "clears \u001b[2J the screen"
      description: "line one\u009b31m\n\nline \u202e two"
      parameters:
        - name: "id\u001b[2J"
          in: path
          required: true
          description: "an \u001b[31mred\u0007 id"
          schema: {type: string, enum: ["a\u001b[1m"]}
      responses: {}
"#;

    fn assert_inert(text: &str) {
        assert!(
            !text
                .chars()
                .any(|c| matches!(c, '\u{1b}' | '\u{7}' | '\u{9b}' | '\u{202e}')),
            "{text:?}"
        );
    }

    #[test]
    fn spec_text_is_escaped_in_the_list_and_the_help() {
        let spec = Spec::parse(HOSTILE).unwrap();
        let operations = spec.operations().unwrap();
        let lines = list_lines(&operations);
        assert_eq!(lines.len(), 1);
        assert_inert(&lines[0]);
        assert!(
            lines[0].starts_with("evil\\u{1b}]0;title\\u{7}"),
            "{}",
            lines[0]
        );
        let help = parameter_help(&spec, &operations[0]);
        assert_inert(&help);
        assert!(
            help.contains("id\\u{1b}[2J  (path, string, required)"),
            "{help}"
        );
        assert!(help.contains("one of: a\\u{1b}[1m"), "{help}");
        // The operation has no subcommand (its id cannot be typed as shown), and
        // the help of the others is escaped too.
        let command = with_operations(
            <crate::cli::Cli as clap::CommandFactory>::command(),
            &spec,
            &operations,
        );
        let api = command.find_subcommand("api").unwrap();
        assert_eq!(api.get_subcommands().count(), 0);
        let mut op = operation_command(&spec, &operations[0]);
        let rendered = op.render_long_help().to_string();
        assert_inert(&rendered);
        assert!(
            rendered.contains("clears \\u{1b}[2J the screen"),
            "{rendered}"
        );
    }

    #[test]
    fn wrapping_keeps_words_and_indents() {
        let text = wrap(&"word ".repeat(40), "    ");
        assert!(
            text.lines()
                .all(|l| l.len() <= 80 && l.starts_with("    word"))
        );
        assert_eq!(text.split_whitespace().count(), 40);
    }

    #[test]
    fn enum_values_of_closed_and_open_sets() {
        let spec = Spec::bundled().unwrap();
        let list = spec.operation("list_call_histories").unwrap();
        let call_type = list.parameter("callType").unwrap();
        assert_eq!(
            enum_values(&spec, &call_type.schema),
            (vec!["sip".to_owned(), "web".to_owned()], false)
        );
        let status = list.parameter("status").unwrap();
        let (values, open) = enum_values(&spec, &status.schema);
        assert!(open && values.contains(&"in-progress".to_owned()));
        assert_eq!(type_name(&spec, status), "string");
        assert_eq!(
            type_name(&spec, list.parameter("callIds").unwrap()),
            "string (JSON)"
        );
        assert_eq!(type_name(&spec, list.parameter("page").unwrap()), "integer");
    }
}
