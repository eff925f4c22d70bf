//! Open string enums for the spec's open sets (`CallDirection`, `CallStatus`,
//! `ActiveCallType`).
//! The generator replaces those schemas with these types (see `xtask/src/codegen.rs`).
//!
//! typify turns an `enum` into a closed Rust enum, where one unknown value fails the
//! whole record, and `anyOf: [enum, string]` into an unusable struct. The API is
//! documented to send values beyond the listed ones, so each type here has an
//! `Unknown(String)` variant that keeps what the server sent. A `macro_rules!` keeps
//! the two types identical in behaviour; no maintained crate provides exactly this
//! (serde's `#[serde(other)]` drops the unknown value).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident as $schema:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version does not know, kept exactly as the server sent it.
            Unknown(String),
        }

        impl $name {
            /// The values the spec lists, in the spec's order.
            pub const KNOWN: &'static [&'static str] = &[$($wire),+];

            /// The value as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )+
                    Self::Unknown(other) => other,
                }
            }

            /// Whether this is a value the spec lists.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $( $wire => Self::$variant, )+
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                match value.as_str() {
                    $( $wire => Self::$variant, )+
                    _ => Self::Unknown(value),
                }
            }
        }

        impl FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map(Self::from)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed($schema)
            }

            // Mirrors the spec: the known values, or any other string.
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "anyOf": [
                        { "type": "string", "enum": Self::KNOWN },
                        { "type": "string" }
                    ]
                })
            }
        }
    };
}

open_enum! {
    /// Which way a call went (`direction`). An open set.
    Direction as "CallDirection" {
        /// `inbound`: the caller dialled the agent.
        Inbound = "inbound",
        /// `outbound`: the agent dialled out.
        Outbound = "outbound",
        /// `bidirectional`: seen in list results.
        Bidirectional = "bidirectional",
    }
}

open_enum! {
    /// How a call stands or ended (`status`). An open set.
    Status as "CallStatus" {
        /// `completed`: the call ended normally.
        Completed = "completed",
        /// `failed`: the call did not connect or broke off.
        Failed = "failed",
        /// `ongoing`: the call is still going on.
        Ongoing = "ongoing",
        /// `active`: seen in list results for calls in progress.
        Active = "active",
        /// `in-progress`: documented as a list filter value.
        InProgress = "in-progress",
    }
}

open_enum! {
    /// How a live call is carried (`type` of an active call). An open set.
    CallMedium as "ActiveCallType" {
        /// `phone`: a telephone call.
        Phone = "phone",
        /// `web`: a web (WebRTC) call.
        Web = "web",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_decode_to_their_variant_and_encode_back() {
        for wire in Direction::KNOWN {
            let value: Direction = serde_json::from_value(serde_json::json!(wire)).unwrap();
            assert!(value.is_known(), "{wire}");
            assert_eq!(
                serde_json::to_value(&value).unwrap(),
                serde_json::json!(wire)
            );
        }
        assert_eq!(Status::from("in-progress"), Status::InProgress);
    }

    #[test]
    fn unknown_values_are_kept_verbatim() {
        let value: Status = serde_json::from_str("\"Ringing \\u00e9\"").unwrap();
        assert_eq!(value, Status::Unknown("Ringing é".into()));
        assert_eq!(serde_json::to_string(&value).unwrap(), "\"Ringing é\"");
        assert_eq!(value.to_string(), "Ringing é");
    }

    #[test]
    fn non_strings_are_rejected() {
        assert!(serde_json::from_str::<Direction>("3").is_err());
        assert!(serde_json::from_str::<Direction>("null").is_err());
    }
}
