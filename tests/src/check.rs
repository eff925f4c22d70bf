//! The checks the properties make, generic over the generated model type `T` that
//! models the spec component `schema`. Each returns a [`TestCaseError`] that says
//! what broke and shows the values involved, so proptest's shrunk counterexample
//! reads on its own.

use std::fmt::Debug;

use proptest::test_runner::TestCaseError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use trillet_api::components::Component;

use crate::canonical::first_difference;

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

/// Decodes JSON text as a `T`, as a client does with a response body.
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    serde_json::from_str(text)
}

/// Property 1: the instance decodes from its JSON text and re-encodes **equal in
/// value** ([`crate::canonical`]): nothing lost, nothing added, unknown keys kept
/// where the spec admits them. Returns the decoded model.
pub fn decodes_and_re_encodes_equal_in_value<T>(
    schema: &str,
    input: &Value,
) -> Result<T, TestCaseError>
where
    T: DeserializeOwned + Serialize,
{
    let text = input.to_string();
    let model: T = decode(&text).map_err(|e| {
        fail(format!(
            "a {schema} the spec admits fails to decode: {e}\n input: {text}"
        ))
    })?;
    let output = serde_json::to_value(&model)
        .map_err(|e| fail(format!("a decoded {schema} fails to encode: {e}")))?;
    equal_in_value(schema, input, &output, &text)?;
    Ok(model)
}

/// Property 1 for a component's generated model, found through the table the
/// generator writes ([`trillet_api::components`]).
pub fn component_re_encodes_equal_in_value(
    component: &Component,
    input: &Value,
) -> Result<(), TestCaseError> {
    let schema = component.name();
    let text = input.to_string();
    let output = component
        .round_trip(&text)
        .map_err(|e| fail(format!("a {schema} the spec admits {e}\n input: {text}")))?;
    equal_in_value(schema, input, &output, &text)
}

fn equal_in_value(
    schema: &str,
    input: &Value,
    output: &Value,
    text: &str,
) -> Result<(), TestCaseError> {
    let canonical = crate::canonical();
    let (expected, actual) = (
        canonical.component(schema, input),
        canonical.component(schema, output),
    );
    if expected != actual {
        let at = first_difference(&expected, &actual).unwrap_or_default();
        return Err(fail(format!(
            "the re-encoded {schema} is not equal in value to its input\n  first difference (canonical input ≠ canonical output): {at}\n  input:  {text}\n  output: {output}"
        )));
    }
    Ok(())
}

/// Property 2 for a component's generated model: it survives its own JSON text.
pub fn component_survives_encoding_and_decoding(
    component: &Component,
    input: &Value,
) -> Result<(), TestCaseError> {
    component
        .survives_its_own_json(&input.to_string())
        .map_err(|e| fail(format!("a {}: {e}\n  input: {input}", component.name())))
}

/// Property 3 for a component's generated model: what it encodes is spec-valid.
pub fn component_encodes_only_spec_valid_json(
    component: &Component,
    input: &Value,
) -> Result<(), TestCaseError> {
    let text = input.to_string();
    match component.round_trip(&text) {
        Ok(output) => spec_valid(component.name(), &output, &text),
        // Does not decode at all (a perturbed input): nothing is encoded.
        Err(e) if e.starts_with("does not decode") => Ok(()),
        Err(e) => Err(fail(format!("a decoded {}: {e}", component.name()))),
    }
}

/// Property 2: encoding the model as JSON text and decoding that text gives the same
/// model back, and encoding it again gives the same text.
pub fn survives_encoding_and_decoding<T>(schema: &str, model: &T) -> Result<(), TestCaseError>
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let text = serde_json::to_string(model)
        .map_err(|e| fail(format!("a {schema} model fails to encode: {e}")))?;
    let back: T = decode(&text).map_err(|e| {
        fail(format!(
            "the model's own JSON fails to decode as a {schema}: {e}\n  text: {text}"
        ))
    })?;
    if &back != model {
        return Err(fail(format!(
            "a {schema} model changed through its JSON text\n  before: {model:?}\n  after:  {back:?}\n  text: {text}"
        )));
    }
    let again = serde_json::to_string(&back).map_err(|e| fail(e.to_string()))?;
    if again != text {
        return Err(fail(format!(
            "a {schema} model re-encodes differently\n  first:  {text}\n  second: {again}"
        )));
    }
    Ok(())
}

/// Property 3: if `input` decodes as a `T` at all, what the model encodes is valid
/// against the spec's schema.
pub fn encodes_only_spec_valid_json<T>(schema: &str, input: &Value) -> Result<(), TestCaseError>
where
    T: DeserializeOwned + Serialize,
{
    let text = input.to_string();
    let Ok(model) = decode::<T>(&text) else {
        return Ok(());
    };
    let output = serde_json::to_value(&model)
        .map_err(|e| fail(format!("a decoded {schema} fails to encode: {e}")))?;
    spec_valid(schema, &output, &text)
}

fn spec_valid(schema: &str, output: &Value, text: &str) -> Result<(), TestCaseError> {
    let problems = crate::validator(schema).problems(output);
    if !problems.is_empty() {
        let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(fail(format!(
            "the model encodes a {schema} the spec rejects: {}\n  input:  {text}\n  output: {output}",
            problems.join("; ")
        )));
    }
    Ok(())
}
