//! The auditor reads everything and changes nothing.

use quorum::users::Role;
use reqwest::StatusCode;

use crate::helpers::TestApp;

/// The forms of a page that would change something (signing out aside).
fn changing_forms(page: &str) -> Vec<String> {
    page.split(r#"<form method="post" action=""#)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or_default().to_owned())
        .filter(|action| action != "/logout")
        .collect()
}

/// The first link on `page` that starts with `prefix` and continues with a number.
fn first_link(page: &str, prefix: &str) -> String {
    page.split(&format!(r#"href="{prefix}"#))
        .skip(1)
        .find_map(|rest| {
            let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
            (!id.is_empty()).then(|| format!("{prefix}{id}"))
        })
        .unwrap_or_else(|| panic!("no link to {prefix}… on the page"))
}

#[tokio::test]
async fn the_auditor_reads_every_record_and_finds_nothing_to_change() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let auditor = app.signed_in("reader@example.com", &[Role::Auditor]).await;

    let (_, home) = auditor.page("/audit").await;
    assert!(home.contains(r#"id="audit-areas""#));
    for (list, detail) in [
        ("/audit/requests", "/audit/requests/"),
        ("/audit/policies", "/audit/policies/"),
        ("/audit/risks", "/audit/risks/"),
        ("/audit/projects", "/audit/projects/"),
        ("/audit/controls", "/audit/controls/"),
        ("/decisions", "/decisions/"),
    ] {
        let (status, page) = auditor.page(list).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(changing_forms(&page), Vec::<String>::new(), "{list}");
        let path = first_link(&page, detail);
        let (status, page) = auditor.page(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(changing_forms(&page), Vec::<String>::new(), "{path}");
    }
    // Decided requests show their votes; the policy register shows every stage.
    let (_, requests) = auditor.page("/audit/requests").await;
    assert!(requests.contains("Approved") && requests.contains("Rejected"));
    let (_, policies) = auditor.page("/audit/policies").await;
    assert!(policies.contains("In review by the board") && policies.contains("Retired"));

    // Every state-changing route refuses the auditor, whatever the form carries.
    for path in [
        "/manage/policies",
        "/manage/risks",
        "/manage/controls",
        "/board/requests/1/vote",
        "/admin/users",
        "/manage/applicability/1",
    ] {
        let response = auditor.post_form(path, &[("title", "x")]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
}
