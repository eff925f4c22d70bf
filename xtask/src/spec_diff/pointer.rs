//! JSON pointers (RFC 6901) as plain strings.

/// `base` extended by one reference token, escaped (`~` → `~0`, `/` → `~1`).
pub fn join(base: &str, token: &str) -> String {
    format!("{base}/{}", token.replace('~', "~0").replace('/', "~1"))
}

/// The reference tokens of a pointer, unescaped.
#[cfg(test)]
pub fn tokens(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_escaped_and_unescaped() {
        let p = join(&join("", "paths"), "/v2/{id}~x");
        assert_eq!(p, "/paths/~1v2~1{id}~0x");
        assert_eq!(tokens(&p), ["paths", "/v2/{id}~x"]);
    }
}
