//! Faults injected on demand (the `x-mock-fault` request header) or at random
//! (the configured chaos rate), and the broken responses they produce.
//!
//! Every fault is one a careful client retries or rejects safely: 429 and 5xx
//! statuses, slow answers, bodies that are cut, empty, HTML or too large, and
//! redirects. None of them is a 4xx that tells the client to give up.

use std::sync::Mutex;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fastrand::Rng;
use futures_util::stream;

use crate::envelope;

/// The request header that asks for a fault.
pub const FAULT_HEADER: &str = "x-mock-fault";

/// A fault that replaces the normal response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// 429 with `Retry-After: <secs>` and the rate-limit envelope.
    TooManyRequests { retry_after: u64 },
    /// 500, 502 or 503 with the error envelope.
    ServerError(StatusCode),
    /// 200 with the record's JSON cut in half.
    Truncate,
    /// 502 with an HTML page, as a proxy in front of the API would send.
    Html,
    /// 200 with an empty body.
    Empty,
    /// 200 with a streamed body of exactly this many bytes.
    Oversize(u64),
    /// 302 to this location.
    Redirect(HeaderValue),
}

/// What an `x-mock-fault` header asks for: a delay before answering and at most
/// one fault.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FaultPlan {
    pub(crate) delay: Duration,
    pub(crate) fault: Option<Fault>,
}

impl Fault {
    /// A short name for logs: the header item that asks for this fault.
    pub(crate) fn label(&self) -> String {
        match self {
            Self::TooManyRequests { retry_after } => format!("429={retry_after}"),
            Self::ServerError(status) => status.as_u16().to_string(),
            Self::Truncate => "truncate".into(),
            Self::Html => "html".into(),
            Self::Empty => "empty".into(),
            Self::Oversize(bytes) => format!("oversize={bytes}"),
            // The target is the caller's own text; the name is enough in a log.
            Self::Redirect(_) => "redirect".into(),
        }
    }

    /// The response this fault sends, for the record `id` whose JSON is `record`.
    pub(crate) fn respond(&self, id: &str, record: &str) -> Response {
        match self {
            Self::TooManyRequests { retry_after } => envelope::rate_limited(*retry_after),
            Self::ServerError(status) => envelope::server_error(*status),
            Self::Truncate => {
                let half = &record.as_bytes()[..record.len() / 2];
                envelope::json_response(StatusCode::OK, Bytes::copy_from_slice(half))
            }
            Self::Html => (
                StatusCode::BAD_GATEWAY,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                )],
                HTML_502,
            )
                .into_response(),
            Self::Empty => envelope::json_response(StatusCode::OK, Body::empty()),
            Self::Oversize(bytes) => {
                envelope::json_response(StatusCode::OK, oversize_body(id, *bytes))
            }
            Self::Redirect(location) => (
                StatusCode::FOUND,
                [(header::LOCATION, location.clone())],
                Body::empty(),
            )
                .into_response(),
        }
    }
}

const HTML_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// Parses an `x-mock-fault` header value:
///
/// ```text
/// value  = item *( "," item )          ; at most one item other than slow
/// item   = "429" [ "=" seconds ] | "500" | "502" | "503"
///        | "slow=" milliseconds | "truncate" | "html" | "empty"
///        | "oversize=" bytes | "redirect=" url   ; redirect takes the rest of the value
/// ```
pub(crate) fn parse(value: &str) -> Result<FaultPlan, String> {
    let mut plan = FaultPlan::default();
    let mut rest = value.trim();
    while !rest.is_empty() {
        let item;
        if let Some(url) = rest.strip_prefix("redirect=") {
            // A URL may hold commas: it runs to the end of the header.
            item = Item::Redirect(url.trim());
            rest = "";
        } else {
            let (head, tail) = rest.split_once(',').unwrap_or((rest, ""));
            item = Item::Plain(head.trim());
            rest = tail.trim_start();
        }
        let fault = match item {
            Item::Redirect("") => {
                return Err("redirect= needs a URL".into());
            }
            Item::Redirect(url) => Fault::Redirect(
                HeaderValue::from_str(url)
                    .map_err(|_| format!("redirect target {url:?} is not a valid header value"))?,
            ),
            Item::Plain(text) => match text.split_once('=') {
                Some(("slow", ms)) => {
                    let ms: u64 = number(ms, "slow")?;
                    plan.delay = plan.delay.saturating_add(Duration::from_millis(ms));
                    continue;
                }
                Some(("429", secs)) => Fault::TooManyRequests {
                    retry_after: number(secs, "429")?,
                },
                Some(("oversize", bytes)) => Fault::Oversize(number(bytes, "oversize")?),
                Some(_) => return Err(format!("unknown fault {text:?}")),
                None => match text {
                    "429" => Fault::TooManyRequests { retry_after: 1 },
                    "500" => Fault::ServerError(StatusCode::INTERNAL_SERVER_ERROR),
                    "502" => Fault::ServerError(StatusCode::BAD_GATEWAY),
                    "503" => Fault::ServerError(StatusCode::SERVICE_UNAVAILABLE),
                    "truncate" => Fault::Truncate,
                    "html" => Fault::Html,
                    "empty" => Fault::Empty,
                    "" => continue,
                    other => return Err(format!("unknown fault {other:?}")),
                },
            },
        };
        if plan.fault.replace(fault).is_some() {
            return Err("at most one fault besides slow= per request".into());
        }
    }
    Ok(plan)
}

enum Item<'a> {
    Plain(&'a str),
    Redirect(&'a str),
}

fn number(text: &str, name: &str) -> Result<u64, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{name}= needs a whole number, not {text:?}"))
}

/// Random faults at a fixed rate, drawn from one seeded generator in the order
/// requests reach it, so a seed and a request sequence give the same faults.
#[derive(Debug)]
pub(crate) struct Chaos {
    probability: f64,
    rng: Mutex<Rng>,
}

impl Chaos {
    pub(crate) fn new(probability: f64, seed: u64) -> Self {
        Self {
            probability,
            rng: Mutex::new(Rng::with_seed(seed)),
        }
    }

    /// Draws for one request: a retryable fault with the configured probability.
    /// Waits stay short: a chaos 429 says `Retry-After: 0`.
    pub(crate) fn draw(&self) -> Option<Fault> {
        if self.probability <= 0.0 {
            return None;
        }
        let mut rng = self
            .rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if rng.f64() >= self.probability {
            return None;
        }
        Some(match rng.u8(..4) {
            0 => Fault::TooManyRequests { retry_after: 0 },
            1 => Fault::ServerError(StatusCode::INTERNAL_SERVER_ERROR),
            2 => Fault::ServerError(StatusCode::BAD_GATEWAY),
            _ => Fault::ServerError(StatusCode::SERVICE_UNAVAILABLE),
        })
    }
}

/// A body of exactly `size` bytes, produced chunk by chunk from one static buffer
/// so that a gigabyte costs no memory: `{"_id":"<id>","padding":"xxx…"}` when
/// `size` is large enough to hold that, else `size` spaces.
fn oversize_body(id: &str, size: u64) -> Body {
    static PAD: [u8; 64 * 1024] = [b'x'; 64 * 1024];
    static SPACES: [u8; 64 * 1024] = [b' '; 64 * 1024];

    let head = format!("{{\"_id\":{},\"padding\":\"", serde_json::Value::from(id));
    let tail: &'static [u8] = b"\"}";
    let frame = (head.len() + tail.len()) as u64;
    let (head, tail, filler, fill): (Bytes, &'static [u8], &'static [u8], u64) = if size >= frame {
        (Bytes::from(head), tail, &PAD, size - frame)
    } else {
        (Bytes::new(), b"", &SPACES, size)
    };
    let chunk = PAD.len() as u64;
    let full = fill / chunk;
    let rest = usize::try_from(fill % chunk).unwrap_or(0);
    let chunks = std::iter::once(head)
        .chain((0..full).map(move |_| Bytes::from_static(filler)))
        .chain(std::iter::once(Bytes::from_static(&filler[..rest])))
        .chain(std::iter::once(Bytes::from_static(tail)))
        .filter(|b| !b.is_empty())
        .map(Ok::<_, std::convert::Infallible>);
    Body::from_stream(stream::iter(chunks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_items_parse() {
        assert_eq!(
            parse("503").map(|p| p.fault),
            Ok(Some(Fault::ServerError(StatusCode::SERVICE_UNAVAILABLE)))
        );
        assert_eq!(
            parse("slow=250, 429=0"),
            Ok(FaultPlan {
                delay: Duration::from_millis(250),
                fault: Some(Fault::TooManyRequests { retry_after: 0 }),
            })
        );
        assert_eq!(
            parse("oversize=10").map(|p| p.fault),
            Ok(Some(Fault::Oversize(10)))
        );
        let redirect = parse("slow=1,redirect=http://a.example/x?a=1,2");
        assert_eq!(
            redirect.map(|p| p.fault),
            Ok(Some(Fault::Redirect(HeaderValue::from_static(
                "http://a.example/x?a=1,2"
            ))))
        );
    }

    #[test]
    fn nonsense_is_an_error() {
        for bad in ["404", "slow=fast", "truncate,html", "redirect=", "oversize"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn chaos_at_zero_never_faults_and_at_one_always_does() {
        let never = Chaos::new(0.0, 1);
        let always = Chaos::new(1.0, 1);
        for _ in 0..100 {
            assert_eq!(never.draw(), None);
            assert!(always.draw().is_some());
        }
    }
}
