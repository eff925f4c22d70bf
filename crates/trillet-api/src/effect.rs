//! What running an operation does in the real world: the spec's
//! `x-trillet-effect`, the one fact the retry rule, the CLI's confirmation and the
//! docs read. `cargo xtask codegen` builds [`crate::operation_effect`] from the
//! spec with this very file (it is compiled into xtask too, so the names it
//! accepts are the names this enum has), which is why it uses only `std`.

use std::fmt;

/// What running an operation does in the real world, as the spec's
/// `x-trillet-effect` says. Only a [`Read`](Effect::Read) is ever sent twice: the
/// API has no idempotency key, so once a request with any other effect may have
/// reached the server, a repeat could place a second call, send a second message
/// or create a second record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Effect {
    /// Reads; safe to repeat.
    Read,
    /// Creates or changes records.
    Write,
    /// Deletes.
    Destructive,
    /// Places or ends a phone or web call.
    Call,
    /// Sends an SMS or an email.
    Message,
    /// Spends money or changes carrier setup.
    Money,
}

impl Effect {
    /// Every effect, in the spec's order.
    pub const ALL: [Effect; 6] = [
        Effect::Read,
        Effect::Write,
        Effect::Destructive,
        Effect::Call,
        Effect::Message,
        Effect::Money,
    ];

    /// The spec's name of the effect (`read`, `write`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Read => "read",
            Effect::Write => "write",
            Effect::Destructive => "destructive",
            Effect::Call => "call",
            Effect::Message => "message",
            Effect::Money => "money",
        }
    }

    /// Whether a request with this effect may be sent again after it may have
    /// reached the server: only a read.
    pub fn is_repeatable(self) -> bool {
        self == Effect::Read
    }

    /// Whether a person should say yes before it is sent (the CLI asks, or wants
    /// `--yes`): it deletes, reaches a real person, or costs money. Reads and
    /// plain record changes go ahead.
    pub fn needs_confirmation(self) -> bool {
        matches!(
            self,
            Effect::Destructive | Effect::Call | Effect::Message | Effect::Money
        )
    }

    /// What sending it does, as a verb phrase ("places or ends a call").
    pub fn action(self) -> &'static str {
        match self {
            Effect::Read => "only reads",
            Effect::Write => "creates or changes a record",
            Effect::Destructive => "deletes something, for good",
            Effect::Call => "places or ends a real call",
            Effect::Message => "sends a message to a real person",
            Effect::Money => "spends money or changes carrier setup",
        }
    }

    /// The effect assumed for a request the spec says nothing about: a read for
    /// the methods HTTP calls safe (`GET`, `HEAD`, `OPTIONS`, `TRACE`, in any case),
    /// else a write. `PUT` and `DELETE` are not taken to be repeatable: Trillet's
    /// call-flow update appends webhooks, its message-flow update toggles autopilot.
    pub fn for_method(method: &str) -> Effect {
        const SAFE: [&str; 4] = ["GET", "HEAD", "OPTIONS", "TRACE"];
        if SAFE.iter().any(|m| m.eq_ignore_ascii_case(method)) {
            Effect::Read
        } else {
            Effect::Write
        }
    }

    /// What a request with this effect may already have done, completing "the
    /// request may have …".
    pub fn consequence(self) -> &'static str {
        match self {
            Effect::Read => "been answered",
            Effect::Write => "created or changed a record",
            Effect::Destructive => "deleted something",
            Effect::Call => "placed or ended a call",
            Effect::Message => "sent a message",
            Effect::Money => "spent money or changed carrier setup",
        }
    }

    /// How to find out whether it did, before sending it again.
    pub fn how_to_check(self) -> &'static str {
        match self {
            Effect::Read => "send it again",
            Effect::Write => "read the record back (or list its kind) before sending it again",
            Effect::Destructive => "check whether it is gone before sending it again",
            Effect::Call => {
                "list active calls (GET /v2/api/active-calls) or call history before placing it again"
            }
            Effect::Message => "read the conversation before sending it again",
            Effect::Money => "check the account and its phone numbers before sending it again",
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of [`Effect::ALL`]'s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownEffect(String);

impl fmt::Display for UnknownEffect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name: String = self
            .0
            .chars()
            .take(40)
            .flat_map(char::escape_debug)
            .collect();
        write!(f, "unknown effect \"{name}\"; one of ")?;
        for (i, effect) in Effect::ALL.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{effect}")?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownEffect {}

impl std::str::FromStr for Effect {
    type Err = UnknownEffect;

    /// The spec's names, as [`Effect::as_str`] gives them (exactly: no other case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Effect::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| UnknownEffect(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_and_others_are_refused_with_the_list() {
        for effect in Effect::ALL {
            assert_eq!(effect.as_str().parse::<Effect>(), Ok(effect));
        }
        let err = "Call".parse::<Effect>().unwrap_err().to_string();
        assert!(
            err.contains("\"Call\"")
                && err.contains("read, write, destructive, call, message, money"),
            "{err}"
        );
        let control = "x\u{1b}[2J".parse::<Effect>().unwrap_err().to_string();
        assert!(!control.contains('\u{1b}'), "{control}");
    }

    #[test]
    fn only_effects_that_reach_people_delete_or_cost_ask_first() {
        let asking: Vec<&str> = Effect::ALL
            .iter()
            .filter(|e| e.needs_confirmation())
            .map(|e| e.as_str())
            .collect();
        assert_eq!(asking, ["destructive", "call", "message", "money"]);
    }

    #[test]
    fn only_reads_repeat_and_only_safe_methods_are_reads() {
        assert!(
            Effect::ALL
                .iter()
                .filter(|e| e.is_repeatable())
                .eq([&Effect::Read])
        );
        for m in ["GET", "get", "HEAD", "OPTIONS", "TRACE"] {
            assert_eq!(Effect::for_method(m), Effect::Read, "{m}");
        }
        for m in ["POST", "PUT", "PATCH", "DELETE", "CONNECT", ""] {
            assert_eq!(Effect::for_method(m), Effect::Write, "{m}");
        }
    }
}
