//! The decision log: management decisions with their ADR lifecycle, board resolutions,
//! readable by every role.

use quorum::users::Role;
use reqwest::StatusCode;
use sqlx::Executor;

use crate::helpers::{TestApp, assert_redirects_to, location};

const ADR: &[(&str, &str)] = &[
    ("title", "Standardise on one cloud provider"),
    ("context", "Two providers double the skills we need."),
    ("options", "Stay on two; move to A; move to B."),
    ("decision", "Move to A by the end of next year."),
    ("consequences", "Retrain the B team; exit fees."),
];

#[tokio::test]
async fn a_management_decision_is_proposed_edited_accepted_then_superseded() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;

    let refused = manager
        .post_form(
            "/manage/decisions",
            &[("title", ""), ("context", "Kept context")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = refused.text().await.unwrap();
    assert!(body.contains("Kept context"));
    assert!(body.contains("This cannot be empty."));

    let response = manager.post_form("/manage/decisions", ADR).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let path = location(response.headers());
    let id = path.rsplit('/').next().unwrap().to_owned();
    let (_, page) = manager.page(&path).await;
    assert!(page.contains("proposed"));
    assert!(page.contains("Move to A by the end of next year."));

    let mut edited = ADR.to_vec();
    edited.retain(|(name, _)| *name != "decision");
    edited.push(("decision", "Move to A within two years."));
    edited.push(("version", "1"));
    assert_redirects_to(
        &manager
            .post_form(&format!("/manage/decisions/{id}/edit"), &edited)
            .await,
        &path,
    );
    assert_redirects_to(
        &manager
            .post_form(
                &format!("/manage/decisions/{id}/status"),
                &[("to", "accepted"), ("version", "2")],
            )
            .await,
        &path,
    );
    let (_, page) = manager.page(&path).await;
    assert!(page.contains("accepted"));
    assert!(page.contains("Move to A within two years."));

    // Accepted: a record. The page refuses edits and so does the database.
    assert_eq!(
        manager
            .get(&format!("/manage/decisions/{id}/edit"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let error = app
        .pool
        .execute("UPDATE decisions SET decision = 'Rewritten'")
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("cannot be changed or removed"),
        "{error}"
    );
    let error = app.pool.execute("DELETE FROM decisions").await.unwrap_err();
    assert!(
        error.to_string().contains("cannot be changed or removed"),
        "{error}"
    );

    // An unknown successor is refused, the typed reference kept.
    let refused = manager
        .post_form(
            &format!("/manage/decisions/{id}/status"),
            &[
                ("to", "superseded"),
                ("successor", "DEC-1999-0404"),
                ("version", "3"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = refused.text().await.unwrap();
    assert!(body.contains("Name another decision that supersedes it"));
    assert!(body.contains(r#"value="DEC-1999-0404""#));

    // A newer decision supersedes it, and the old one links to it.
    let response = manager.post_form("/manage/decisions", ADR).await;
    let successor_path = location(response.headers());
    let successor_ref: String =
        sqlx::query_scalar("SELECT reference FROM decisions ORDER BY id DESC LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let response = manager
        .post_form(
            &format!("/manage/decisions/{id}/status"),
            &[
                ("to", "superseded"),
                ("successor", &successor_ref),
                ("version", "3"),
            ],
        )
        .await;
    assert_redirects_to(&response, &path);
    let (_, page) = manager.page(&path).await;
    assert!(page.contains("superseded"));
    assert!(page.contains(&format!(r#"href="{successor_path}">{successor_ref}</a>"#)));
    // Superseded is final.
    manager
        .post_form(
            &format!("/manage/decisions/{id}/status"),
            &[("to", "deprecated"), ("version", "4")],
        )
        .await;
    let (_, page) = manager.page(&path).await;
    assert!(page.contains("it cannot become deprecated"));
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"decision.proposed".to_owned()));
    assert!(actions.contains(&"decision.status_changed".to_owned()));
}

#[tokio::test]
async fn only_the_author_moves_a_decision_on() {
    let app = TestApp::spawn().await;
    let author = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let other = app
        .signed_in("manager2@example.com", &[Role::ItManager])
        .await;
    let path = location(author.post_form("/manage/decisions", ADR).await.headers());
    let id = path.rsplit('/').next().unwrap().to_owned();
    assert_eq!(
        other
            .get(&format!("/manage/decisions/{id}/edit"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let response = other
        .post_form(
            &format!("/manage/decisions/{id}/status"),
            &[("to", "accepted"), ("version", "1")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let status: String = sqlx::query_scalar("SELECT status FROM decisions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "proposed");
}

#[tokio::test]
async fn every_role_reads_the_log_with_filters_and_pages() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    for i in 0..55 {
        let title = format!("Decision number {i}");
        let mut fields = ADR.to_vec();
        fields.retain(|(name, _)| *name != "title");
        fields.push(("title", &title));
        manager.post_form("/manage/decisions", &fields).await;
    }
    // One accepted, to filter on.
    let first: i64 = sqlx::query_scalar("SELECT min(id) FROM decisions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    manager
        .post_form(
            &format!("/manage/decisions/{first}/status"),
            &[("to", "accepted"), ("version", "1")],
        )
        .await;

    for role in [Role::Board, Role::Auditor, Role::Admin] {
        let reader = app
            .signed_in(&format!("{}@example.com", role.as_str()), &[role])
            .await;
        let (status, page) = reader.page("/decisions").await;
        assert_eq!(status, StatusCode::OK, "{role:?}");
        assert!(page.contains("Decision number 54"), "newest first");
        assert!(
            !page.contains("Decision number 4<"),
            "the oldest are on the next page"
        );
        let next = page
            .split("/decisions?before=")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        let (_, older) = reader.page(&format!("/decisions?before={next}")).await;
        assert!(older.contains("Decision number 1<"));
        assert!(!older.contains("Decision number 54"));
        let (status, _) = reader.page(&format!("/decisions/{first}")).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (_, accepted) = manager.page("/decisions?state=accepted").await;
    assert!(accepted.contains("Decision number 0<"));
    assert!(!accepted.contains("Decision number 1<"));
    let (_, resolutions) = manager.page("/decisions?kind=resolution").await;
    assert!(resolutions.contains("No decision matches."));
    let (status, bad_date) = manager.page("/decisions?from=yesterday").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_date.contains("Enter a date as YYYY-MM-DD"));
    let today = quorum::common::dates::today();
    let (_, future) = manager
        .page(&format!(
            "/decisions?from={}",
            today + time::Duration::days(1)
        ))
        .await;
    assert!(future.contains("No decision matches."));
}
