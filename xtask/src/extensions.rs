//! The spec's own extensions on every operation, read by `codegen` and checked by
//! `lint`:
//!
//! - `x-trillet-effect`: what running it does in the real world, one of the names
//!   of [`Effect`] (the library's very type: its file is compiled in here too);
//! - `x-trillet-docs`: the documentation page(s) it was written from.

#[allow(dead_code)] // the library's file; xtask uses only its names
#[path = "../../crates/trillet-api/src/effect.rs"]
mod effect;

pub use effect::Effect;

pub const EFFECT_KEY: &str = "x-trillet-effect";
pub const DOCS_KEY: &str = "x-trillet-docs";

/// An operation's effect from its `x-trillet-effect` value.
pub fn spec_effect(value: Option<&serde_json::Value>) -> Result<Effect, String> {
    let value = value.ok_or_else(|| {
        format!(
            "no {EFFECT_KEY}: say what running it does ({})",
            Effect::ALL.map(Effect::as_str).join(", ")
        )
    })?;
    let name = value
        .as_str()
        .ok_or_else(|| format!("{EFFECT_KEY} is {value}, not a string"))?;
    name.parse().map_err(|e| format!("{EFFECT_KEY}: {e}"))
}

/// An operation's source pages from its `x-trillet-docs` value: a non-empty list
/// of `https://` URLs.
pub fn spec_docs(value: Option<&serde_json::Value>) -> Result<Vec<&str>, String> {
    let list = value
        .and_then(serde_json::Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| format!("{DOCS_KEY} must list the documentation page(s) it follows"))?;
    list.iter()
        .map(|url| match url.as_str() {
            Some(url) if url.starts_with("https://") && !url.contains(char::is_whitespace) => {
                Ok(url)
            }
            _ => Err(format!("{DOCS_KEY}: {url} is not an https:// URL")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn effects_and_docs_are_read_or_refused_with_a_reason() {
        assert_eq!(spec_effect(Some(&json!("call"))), Ok(Effect::Call));
        assert!(
            spec_effect(None)
                .unwrap_err()
                .contains("no x-trillet-effect")
        );
        assert!(
            spec_effect(Some(&json!("Call")))
                .unwrap_err()
                .contains("unknown effect")
        );
        assert!(
            spec_effect(Some(&json!(1)))
                .unwrap_err()
                .contains("not a string")
        );
        assert_eq!(
            spec_docs(Some(&json!(["https://docs.trillet.ai/a"]))),
            Ok(vec!["https://docs.trillet.ai/a"])
        );
        assert!(spec_docs(Some(&json!([]))).is_err());
        assert!(spec_docs(None).is_err());
        assert!(spec_docs(Some(&json!(["http://x"]))).is_err());
        assert!(spec_docs(Some(&json!("https://x"))).is_err());
    }
}
