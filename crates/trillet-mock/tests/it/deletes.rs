//! What the mock deletes stays deleted: after a `DELETE`, the resource and what
//! is below it answer 404 (each operation documents one), in the real API's
//! envelope; the rest of the workspace is untouched.

use crate::common;

use common::{assert_envelope, client, unlimited};
use trillet_mock::{MOCK_API_KEY, MOCK_WORKSPACE_ID};

#[tokio::test]
async fn a_deleted_folder_is_gone_with_what_is_below_it_and_others_stay() {
    let server = unlimited().await;
    let http = client();
    let send = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{}{path}", server.url()))
            .header("x-api-key", MOCK_API_KEY)
            .header("x-workspace-id", MOCK_WORKSPACE_ID)
    };
    let folder = "/v1/api/flow-folders/665a1b2c3d4e5f6a7b8c9d0e";
    let other = "/v1/api/flow-folders/665a1b2c3d4e5f6a7b8c9d0f";
    for path in [folder, other] {
        let before = send(reqwest::Method::GET, path).send().await.unwrap();
        assert_eq!(before.status(), 200, "{path}");
    }

    let deleted = send(reqwest::Method::DELETE, folder).send().await.unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());

    for (method, path) in [
        (reqwest::Method::GET, folder.to_owned()),
        (reqwest::Method::PATCH, folder.to_owned()),
        (reqwest::Method::DELETE, folder.to_owned()),
        (reqwest::Method::DELETE, format!("{folder}/flows/p1")),
    ] {
        let mut request = send(method.clone(), &path);
        if method == reqwest::Method::PATCH {
            request =
                request.json(&serde_json::json!({"name": "n", "color": "blue", "icon": "folder"}));
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 404, "{method} {path}");
        assert_envelope(&response.text().await.unwrap(), "not_found");
    }
    let untouched = send(reqwest::Method::GET, other).send().await.unwrap();
    assert_eq!(untouched.status(), 200);
}
