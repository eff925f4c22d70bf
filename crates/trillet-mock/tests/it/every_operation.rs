//! Every operation of the spec the mock is given is served, with no code for it:
//! a spec that is the bundled one plus a few operations (an agent by id with an
//! example, a call flow by id with named `examples`, a list with no example, a
//! create with a request body, a status endpoint with `security: []`), served by
//! a real mock over HTTP.

use crate::common;

use common::{assert_envelope, client, start};
use serde_json::{Value, json};
use trillet_mock::{FAULT_HEADER, MOCK_API_KEY, MOCK_WORKSPACE_ID, MockConfig, MockServer};
use trillet_spec::Spec;

const AGENT_ID: &str = "65a7f3c2e4b0a1d2c3f40001";

/// The error responses every added operation documents, as the bundled ones do.
fn documented_errors() -> Value {
    json!({
        "400": {"$ref": "#/components/responses/BadRequest"},
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "403": {"$ref": "#/components/responses/Forbidden"},
        "404": {"$ref": "#/components/responses/NotFound"},
        "429": {"$ref": "#/components/responses/RateLimited"},
        "5XX": {"$ref": "#/components/responses/ServerError"},
    })
}

fn with_errors(success: Value) -> Value {
    let mut responses = documented_errors();
    for (status, response) in success.as_object().expect("the test spec is well formed") {
        responses[status] = response.clone();
    }
    responses
}

fn credentials() -> Value {
    json!([{"apiKey": [], "workspaceId": []}])
}

/// The bundled spec with the operations above added, as JSON text.
fn extended_spec() -> String {
    let mut document = Spec::bundled()
        .expect("the test spec is well formed")
        .document()
        .clone();
    let schemas = document["components"]["schemas"]
        .as_object_mut()
        .expect("the test spec is well formed");
    schemas.insert(
        "Agent".into(),
        json!({
            "type": "object",
            "description": "A call agent.",
            "required": ["_id", "name"],
            "additionalProperties": {},
            "properties": {
                "_id": {"type": "string", "pattern": "^[0-9a-f]{24}$", "example": AGENT_ID, "description": "Its id."},
                "name": {"type": "string", "minLength": 1, "description": "Its name."},
                "voice": {"type": "string", "enum": ["alloy", "verse"], "description": "Its voice."},
                "createdAt": {"type": "string", "format": "date-time", "description": "When."},
                "phoneNumber": {"type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$", "description": "E.164."},
                "maxConcurrentCalls": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 10, "description": "Limit."},
                "tags": {"type": "array", "items": {"type": "string"}, "description": "Tags."},
                "parent": {"$ref": "#/components/schemas/Agent"},
            },
        }),
    );
    schemas.insert(
        "CallFlow".into(),
        json!({
            "type": "object",
            "description": "A call flow.",
            "properties": {
                "_id": {"type": "string", "description": "Its id."},
                "name": {"type": "string", "description": "Its name."},
                "steps": {"type": "array", "items": {"type": "string"}, "description": "Steps."},
            },
        }),
    );
    schemas.insert(
        "AgentInput".into(),
        json!({
            "type": "object",
            "description": "A new agent.",
            "required": ["name"],
            "properties": {"name": {"type": "string", "minLength": 1, "description": "Its name."}},
        }),
    );
    let paths = document["paths"]
        .as_object_mut()
        .expect("the test spec is well formed");
    paths.insert(
        "/v2/api/agents/{agentId}".into(),
        json!({"get": {
            "operationId": "get_agent",
            "security": credentials(),
            "parameters": [
                {"name": "agentId", "in": "path", "required": true,
                 "schema": {"type": "string", "pattern": "^[0-9a-f]{24}$"}, "example": AGENT_ID},
                {"name": "include", "in": "query",
                 "schema": {"type": "string", "enum": ["voice", "flows"]}},
            ],
            "responses": with_errors(json!({"200": {
                "description": "The agent.",
                "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Agent"},
                    "example": {"_id": AGENT_ID, "name": "Reception", "voice": "alloy",
                                "createdAt": "2025-01-01T10:00:00Z", "tags": ["front-desk"]},
                }},
            }})),
        }}),
    );
    paths.insert(
        "/v2/api/agents".into(),
        json!({
            "get": {
                "operationId": "list_agents",
                "security": credentials(),
                "parameters": [{"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}],
                "responses": with_errors(json!({"200": {
                    "description": "The agents (no example: the mock makes one).",
                    "content": {"application/json": {"schema": {
                        "type": "array", "items": {"$ref": "#/components/schemas/Agent"},
                    }}},
                }})),
            },
            "post": {
                "operationId": "create_agent",
                "security": credentials(),
                "requestBody": {"required": true, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/AgentInput"},
                }}},
                "responses": with_errors(json!({"201": {
                    "description": "Created.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Agent"}}},
                }})),
            },
        }),
    );
    paths.insert(
        "/v2/api/call-flows/{callFlowId}".into(),
        json!({"get": {
            "operationId": "get_call_flow",
            "security": credentials(),
            "parameters": [{"name": "callFlowId", "in": "path", "required": true,
                            "schema": {"type": "string"}, "example": "flow-a"}],
            "responses": with_errors(json!({"200": {
                "description": "The call flow.",
                "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/CallFlow"},
                    "examples": {
                        "flow-a": {"value": {"_id": "flow-a", "name": "Front desk", "steps": ["greet"]}},
                        "flow-b": {"value": {"_id": "flow-b", "name": "After hours", "steps": ["voicemail"]}},
                    },
                }},
            }})),
        }}),
    );
    paths.insert(
        "/v2/api/status".into(),
        json!({"get": {
            "operationId": "get_status",
            "security": [],
            "responses": {"200": {
                "description": "Up.",
                "content": {"application/json": {
                    "schema": {"type": "object", "properties": {"status": {"type": "string"}}},
                    "example": {"status": "ok"},
                }},
            }},
        }}),
    );
    serde_json::to_string(&document).expect("the test spec is well formed")
}

async fn server() -> MockServer {
    start(MockConfig {
        rate_limit_per_minute: None,
        ..MockConfig::default().with_spec(extended_spec())
    })
    .await
}

fn authed(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    request
        .header("x-api-key", MOCK_API_KEY)
        .header("x-workspace-id", MOCK_WORKSPACE_ID)
}

async fn get(server: &MockServer, path: &str) -> reqwest::Response {
    authed(client().get(format!("{}{path}", server.url())))
        .send()
        .await
        .expect("the test spec is well formed")
}

/// The example of `components/responses/<name>` in the spec.
fn documented_example(name: &str) -> Value {
    Spec::bundled()
        .expect("the test spec is well formed")
        .document()
        .pointer(&format!(
            "/components/responses/{name}/content/application~1json/example"
        ))
        .cloned()
        .expect("the test spec is well formed")
}

fn assert_valid(spec: &Spec, schema: &Value, body: &Value) {
    let problems = spec
        .validator_of("body", schema)
        .expect("the test spec is well formed")
        .problems(body);
    assert!(problems.is_empty(), "{body}: {problems:?}");
}

#[tokio::test]
async fn the_example_is_served_with_the_requested_id() {
    let server = server().await;
    let wanted = "65a7f3c2e4b0a1d2c3f4abcd";
    let response = get(&server, &format!("/v2/api/agents/{wanted}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"_id": wanted, "name": "Reception", "voice": "alloy",
               "createdAt": "2025-01-01T10:00:00Z", "tags": ["front-desk"]})
    );
    // The parameter's own example id gets the example as written.
    let same: Value = get(&server, &format!("/v2/api/agents/{AGENT_ID}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(same["_id"], AGENT_ID);
    let spec = Spec::parse(&extended_spec()).unwrap();
    assert_valid(&spec, &json!({"$ref": "#/components/schemas/Agent"}), &body);
}

#[tokio::test]
async fn a_named_example_is_served_for_its_id_and_the_first_otherwise() {
    let server = server().await;
    let b: Value = get(&server, "/v2/api/call-flows/flow-b")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        b,
        json!({"_id": "flow-b", "name": "After hours", "steps": ["voicemail"]})
    );
    let other: Value = get(&server, "/v2/api/call-flows/zz%20top")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        other,
        json!({"_id": "zz top", "name": "Front desk", "steps": ["greet"]})
    );
    // The operation documents a 404: `missing*` ids get it, with the spec's example body.
    let missing = get(&server, "/v2/api/call-flows/missing-3").await;
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body, documented_example("NotFound"));
}

#[tokio::test]
async fn without_an_example_a_generated_instance_valid_against_the_schema_is_served() {
    let server = server().await;
    let spec = Spec::parse(&extended_spec()).unwrap();
    let schema = spec
        .operation("list_agents")
        .unwrap()
        .success()
        .and_then(|r| r.schema.clone())
        .unwrap();
    let response = get(&server, "/v2/api/agents?page=2").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_valid(&spec, &schema, &body);
    let items = body.as_array().unwrap();
    assert!(!items.is_empty(), "{body}");
    assert!(
        items[0]["name"].is_string() && items[0]["_id"].is_string(),
        "{body}"
    );
    // It is the generator's instance, the same on every request and every run.
    assert_eq!(body, spec.instance_of(&schema).unwrap());
    let again: Value = get(&server, "/v2/api/agents").await.json().await.unwrap();
    assert_eq!(again, body);
}

#[tokio::test]
async fn credentials_are_required_except_where_security_is_empty() {
    let server = server().await;
    let client = client();
    for path in [
        "/v2/api/agents/65a7f3c2e4b0a1d2c3f40001",
        "/v2/api/agents",
        "/v2/api/call-flows/flow-a",
        "/v2/api/call-history/1234567890abcdef",
        "/v2/api/call-history",
    ] {
        let response = client
            .get(format!("{}{path}", server.url()))
            .header("x-workspace-id", "w")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
        let body = response.text().await.unwrap();
        assert_envelope(&body, "unauthorized");
        if path.starts_with("/v2/api/call-history") {
            // The call-history operations answer exactly as before.
            assert!(body.contains("Missing API key"), "{body}");
        } else {
            // A generic operation answers with the spec's documented example.
            let body: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body, documented_example("Unauthorized"), "{path}");
        }
        // A key alone is not enough: the workspace is checked too (403).
        let response = client
            .get(format!("{}{path}", server.url()))
            .header("x-api-key", "k")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{path}");
    }
    let status = client
        .get(format!("{}/v2/api/status", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
    assert_eq!(
        status.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );
}

#[tokio::test]
async fn configured_credentials_are_enforced_on_generic_operations() {
    let server = start(
        MockConfig {
            rate_limit_per_minute: None,
            api_key: Some("right-key".into()),
            ..Default::default()
        }
        .with_spec(extended_spec()),
    )
    .await;
    let url = format!("{}/v2/api/agents", server.url());
    let wrong = client()
        .get(&url)
        .header("x-api-key", "wrong-key")
        .header("x-workspace-id", "w")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = client()
        .get(&url)
        .header("x-api-key", "right-key")
        .header("x-workspace-id", "w")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
}

#[tokio::test]
async fn a_bad_parameter_is_400_naming_it() {
    let server = server().await;
    for (path, name) in [
        ("/v2/api/agents/not-an-agent-id", "agentId"),
        (
            "/v2/api/agents/65a7f3c2e4b0a1d2c3f40001?include=everything",
            "include",
        ),
        ("/v2/api/agents?page=0", "page"),
        ("/v2/api/agents?page=one", "page"),
    ] {
        let response = get(&server, path).await;
        assert_eq!(response.status(), 400, "{path}");
        let body = response.text().await.unwrap();
        let envelope = assert_envelope(&body, "bad_request");
        let message = envelope["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(name), "{path}: {message}");
    }
}

#[tokio::test]
async fn a_request_body_is_checked_against_its_schema() {
    let server = server().await;
    let url = format!("{}/v2/api/agents", server.url());
    let post = |body: &'static str| {
        authed(client().post(&url))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let created = post(r#"{"name": "Night desk"}"#).await.unwrap();
    assert_eq!(created.status(), 201);
    let spec = Spec::parse(&extended_spec()).unwrap();
    assert_valid(
        &spec,
        &json!({"$ref": "#/components/schemas/Agent"}),
        &created.json().await.unwrap(),
    );
    for (body, needle) in [
        ("", "required"),
        ("{not json", "not JSON"),
        (r#"{"name": ""}"#, "/name"),
        (r#"{"title": "x"}"#, "name"),
    ] {
        let response = post(body).await.unwrap();
        assert_eq!(response.status(), 400, "{body:?}");
        let envelope = assert_envelope(&response.text().await.unwrap(), "bad_request");
        let message = envelope["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{body:?}: {message}");
    }
}

#[tokio::test]
async fn faults_reach_generic_operations_with_the_documented_bodies() {
    let server = server().await;
    let faulted = |path: &'static str, fault: &'static str| {
        authed(client().get(format!("{}{path}", server.url())))
            .header(FAULT_HEADER, fault)
            .send()
    };
    let limited = faulted("/v2/api/agents/65a7f3c2e4b0a1d2c3f40001", "429=7")
        .await
        .unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "7");
    let body = assert_envelope(&limited.text().await.unwrap(), "rate_limit_exceeded");
    let reset_at =
        chrono::DateTime::parse_from_rfc3339(body["error"]["reset_at"].as_str().unwrap()).unwrap();
    // The example's `reset_at` is in 2024: the mock puts in the real one.
    assert!(reset_at > chrono::Utc::now(), "{body}");
    assert_eq!(
        body["error"]["message"],
        documented_example("RateLimited")["error"]["message"]
    );

    for (fault, status) in [("500", 500), ("503", 503)] {
        let response = faulted("/v2/api/agents", fault).await.unwrap();
        assert_eq!(response.status(), status);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, documented_example("ServerError"));
    }
    let status = faulted("/v2/api/status", "502").await.unwrap();
    assert_eq!(
        status.status(),
        502,
        "an operation that documents no 5XX still gets the fault"
    );
    assert_envelope(&status.text().await.unwrap(), "bad_gateway");

    let cut = faulted("/v2/api/agents/65a7f3c2e4b0a1d2c3f40001", "truncate")
        .await
        .unwrap();
    assert_eq!(cut.status(), 200);
    assert!(serde_json::from_str::<Value>(&cut.text().await.unwrap()).is_err());
    let bad = faulted("/v2/api/agents", "404").await.unwrap();
    assert_eq!(bad.status(), 400);
    let stats = server.stats();
    assert_eq!(stats.faults_injected, 5, "{stats:?}");
}

#[tokio::test]
async fn the_rate_limit_covers_generic_operations() {
    let server = start(
        MockConfig {
            rate_limit_per_minute: Some(2),
            ..Default::default()
        }
        .with_spec(extended_spec()),
    )
    .await;
    for _ in 0..2 {
        assert_eq!(get(&server, "/v2/api/agents").await.status(), 200);
    }
    let limited = get(&server, "/v2/api/call-flows/flow-a").await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert_envelope(&limited.text().await.unwrap(), "rate_limit_exceeded");
    assert_eq!(server.stats().rate_limited, 1);
}

#[tokio::test]
async fn a_wrong_method_is_405_with_the_path_s_methods() {
    let server = server().await;
    let client = client();
    for (method, path, allow) in [
        (reqwest::Method::DELETE, "/v2/api/agents", "GET, POST"),
        (
            reqwest::Method::PUT,
            "/v2/api/agents/65a7f3c2e4b0a1d2c3f40001",
            "GET",
        ),
        (reqwest::Method::POST, "/v2/api/status", "GET"),
        (
            reqwest::Method::POST,
            "/v2/api/call-history/1234567890abcdef",
            "GET",
        ),
    ] {
        let response = authed(client.request(method.clone(), format!("{}{path}", server.url())))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{method} {path}");
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        assert_envelope(&response.text().await.unwrap(), "method_not_allowed");
    }
    let unknown = get(&server, "/v2/api/agents/a/b").await;
    assert_eq!(unknown.status(), 404);
    assert_envelope(&unknown.text().await.unwrap(), "not_found");
}

#[tokio::test]
async fn the_call_history_operations_are_unchanged_in_a_larger_spec() {
    let server = server().await;
    let seed = get(&server, "/v2/api/call-history/1234567890abcdef").await;
    assert_eq!(seed.status(), 200);
    assert_eq!(
        seed.text().await.unwrap(),
        include_str!("../../../../spec/examples/call-history.seed.json")
    );
    let missing = get(&server, "/v2/api/call-history/missing-1").await;
    assert_eq!(missing.status(), 404);
    let envelope = assert_envelope(&missing.text().await.unwrap(), "not_found");
    assert_eq!(envelope["error"]["message"], "Call history not found.");
    let page: Vec<Value> = get(&server, "/v2/api/call-history?limit=3")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page.len(), 3);
    assert_eq!(page[0]["_id"].as_str().map(|s| s.len()), Some(24));
    let stats = server.stats();
    assert_eq!(stats.requests, 3);
}

#[tokio::test]
async fn a_spec_the_mock_cannot_serve_is_an_error_at_start_not_a_panic() {
    let unsatisfiable = json!({
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {"/codes": {"get": {
            "operationId": "get_code",
            "responses": {"200": {"description": "A code.", "content": {"application/json": {
                "schema": {"type": "string", "pattern": "^[0-9]{4}$"},
            }}}},
        }}},
    });
    let error = MockServer::start(MockConfig::default().with_spec(unsatisfiable.to_string()))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("GET /codes") && error.contains("pattern"),
        "{error}"
    );

    let conflicting = json!({
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/a/{x}": {"get": {"operationId": "a", "responses": {"204": {"description": "-"}}}},
            "/a/{y}": {"get": {"operationId": "b", "responses": {"204": {"description": "-"}}}},
        },
    });
    let error = MockServer::start(MockConfig::default().with_spec(conflicting.to_string()))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("/a/{y}"), "{error}");

    let error = MockServer::start(MockConfig::default().with_spec("- not a spec"))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("spec"), "{error}");
}

#[tokio::test]
async fn an_operation_with_no_body_answers_its_status_empty() {
    let spec = json!({
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {"/ping/{n}": {"get": {
            "operationId": "ping",
            "security": [],
            "parameters": [{"name": "n", "in": "path", "required": true, "schema": {"type": "integer"}}],
            "responses": {"204": {"description": "Pong."}},
        }}},
    });
    let server = start(MockConfig::default().with_spec(spec.to_string())).await;
    let response = client()
        .get(format!("{}/ping/3", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert!(response.text().await.unwrap().is_empty());
    let bad = client()
        .get(format!("{}/ping/three", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    // Not valid UTF-8 once decoded: 400, not a panic.
    let bytes = client()
        .get(format!("{}/ping/%FF", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(bytes.status(), 400);
}
