//! Fields that name a person: an email or a name typed in full, resolved on the server
//! among the active holders of the role, with suggestions from `/suggest/it-managers`.

use reqwest::StatusCode;

use quorum::common::dates::today;
use quorum::risks::model::{RiskStatus, Treatment};
use quorum::users::Role;

use crate::helpers::{TestApp, TestClient, assert_redirects_to};

/// What a suggestion route answers `client` for `q`: (value, label) pairs, in order.
async fn suggestions(client: &TestClient, route: &str, q: &str) -> Vec<(String, String)> {
    let query: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let response = client.get(&format!("{route}?q={query}")).await;
    assert_eq!(response.status(), StatusCode::OK, "{route} {q:?}");
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    body.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let text = |key: &str| s[key].as_str().unwrap().to_owned();
            (text("value"), text("label"))
        })
        .collect()
}

/// An IT manager called `name` (as an administrator would name them).
async fn it_manager(app: &TestApp, email: &str, name: &str, roles: &[Role]) -> i64 {
    let id = app.create_user(email, roles).await;
    sqlx::query("UPDATE users SET display_name = $1 WHERE id = $2")
        .bind(name)
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    id
}

/// A risk owned by `owner_id`; returns its id.
async fn risk(app: &TestApp, owner_id: i64) -> i64 {
    titled_risk(app, owner_id, "Supplier outage").await
}

async fn titled_risk(app: &TestApp, owner_id: i64, title: &str) -> i64 {
    let mut conn = app.pool.acquire().await.unwrap();
    let fields = quorum::risks::repo::RiskFields {
        title: title.to_owned(),
        description: String::new(),
        category_id: 1,
        owner_id,
        project_ids: vec![],
        objective_ids: vec![],
        likelihood: 3,
        impact: 3,
        controls: String::new(),
        residual_likelihood: 2,
        residual_impact: 2,
        treatment: Treatment::Mitigate,
        treatment_plan: "Watched closely.".to_owned(),
        next_review_date: today(),
        status: RiskStatus::Open,
    };
    quorum::risks::repo::create(&mut conn, &fields, owner_id)
        .await
        .unwrap()
        .0
}

#[tokio::test]
async fn a_person_is_named_by_email_or_unique_name_and_anything_else_is_refused_by_the_field() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let manager_id = app.user_id("manager@example.com").await;
    let it = [Role::ItManager];
    let ann = it_manager(&app, "ann@example.com", "Ann Smith", &it).await;
    it_manager(&app, "bob1@example.com", "Bob Jones", &it).await;
    let bob2 = it_manager(&app, "bob2@example.com", "Bob Jones", &it).await;
    let carl = it_manager(&app, "carl@example.com", "Carl Gone", &it).await;
    sqlx::query("UPDATE users SET is_active = false WHERE id = $1")
        .bind(carl)
        .execute(&app.pool)
        .await
        .unwrap();
    it_manager(&app, "dana@example.com", "Dana Board", &[Role::Board]).await;
    let risk_id = risk(&app, manager_id).await;
    let path = format!("/manage/risks/{risk_id}");
    let due = (today() + time::Duration::days(30)).to_string();
    let add = async |owner: &str| {
        manager
            .post_form(
                &format!("{path}/actions"),
                &[
                    ("description", "Sign the second supplier"),
                    ("owner", owner),
                    ("due_date", &due),
                ],
            )
            .await
    };
    // The risk page offers its owner first.
    let (_, page) = manager.page(&path).await;
    assert!(page.contains(r#"name="owner" value="manager@example.com""#));

    for (typed, owner) in [
        ("ANN@example.com ", ann),
        ("ann smith", ann),
        ("bob2@example.com", bob2),
    ] {
        let response = add(typed).await;
        assert_redirects_to(&response, &path);
        let last: i64 =
            sqlx::query_scalar("SELECT owner_id FROM risk_actions ORDER BY id DESC LIMIT 1")
                .fetch_one(&app.pool)
                .await
                .unwrap();
        assert_eq!(last, owner, "{typed}");
    }
    for (typed, message) in [
        (
            "Bob Jones",
            "Several people have this name: type their email instead.",
        ),
        (
            "carl@example.com",
            "No active IT manager has this email or name.",
        ),
        ("Carl Gone", "No active IT manager has this email or name."),
        (
            "dana@example.com",
            "No active IT manager has this email or name.",
        ),
        ("nobody", "No active IT manager has this email or name."),
        ("ann\0smith", "No active IT manager has this email or name."),
        ("", "Say who carries the action out."),
    ] {
        let response = add(typed).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{typed:?}"
        );
        let page = response.text().await.unwrap();
        assert!(page.contains(message), "{typed:?}");
        assert!(page.contains(r#"aria-invalid="true" aria-describedby="owner-error""#));
        if !typed.contains('\0') {
            let kept = format!(r#"name="owner" value="{}""#, typed);
            assert!(page.contains(&kept), "{typed:?} kept");
        }
    }
    let actions: i64 = sqlx::query_scalar("SELECT count(*) FROM risk_actions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(actions, 3, "only the accepted ones were saved");
}

#[tokio::test]
async fn suggestions_are_active_it_managers_by_name_word_or_email() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let it = [Role::ItManager];
    it_manager(&app, "ann@example.com", "Ann Smith", &it).await;
    it_manager(&app, "annabel@example.com", "Annabel Lee", &it).await;
    it_manager(&app, "bob@example.com", "Bob Annan", &it).await;
    it_manager(&app, "zoe@example.com", "Zoe Quill", &it).await;
    let gone = it_manager(&app, "ann.old@example.com", "Ann Old", &it).await;
    sqlx::query("UPDATE users SET is_active = false WHERE id = $1")
        .bind(gone)
        .execute(&app.pool)
        .await
        .unwrap();
    it_manager(&app, "ann.board@example.com", "Ann Board", &[Role::Board]).await;
    for n in 0..12 {
        it_manager(
            &app,
            &format!("many{n}@example.com"),
            &format!("Many {n:02}"),
            &it,
        )
        .await;
    }
    let suggest = async |q: &str| suggestions(&manager, "/suggest/it-managers", q).await;
    let values = |found: Vec<(String, String)>| -> Vec<String> {
        found.into_iter().map(|(value, _)| value).collect()
    };
    assert_eq!(
        suggest("ann").await,
        [
            ("ann@example.com".to_owned(), "Ann Smith".to_owned()),
            ("annabel@example.com".to_owned(), "Annabel Lee".to_owned()),
            ("bob@example.com".to_owned(), "Bob Annan".to_owned()),
        ]
    );
    assert_eq!(values(suggest("ZOE@").await), ["zoe@example.com"]);
    assert_eq!(suggest("many").await.len(), 10, "ten at most");
    for nothing in ["%", "_", "", "   "] {
        assert!(suggest(nothing).await.is_empty(), "{nothing:?}");
    }
    // The board and auditors read who runs what too; an administrator alone does not.
    let auditor = app.signed_in("auditor@example.com", &[Role::Auditor]).await;
    let response = auditor.get("/suggest/it-managers?q=ann").await;
    assert_eq!(response.status(), StatusCode::OK);
    let admin = app.signed_in("admin@example.com", &[Role::Admin]).await;
    let response = admin.get("/suggest/it-managers?q=ann").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_project_list_filters_by_a_manager_typed_as_email_or_name() {
    let app = TestApp::spawn().await;
    let board = app.signed_in("board@example.com", &[Role::Board]).await;
    let board_id = app.user_id("board@example.com").await;
    let it = [Role::ItManager];
    let ann = it_manager(&app, "ann@example.com", "Ann Smith", &it).await;
    let bob = it_manager(&app, "bob@example.com", "Bob Jones", &it).await;
    let anns = app.seed_project(ann, board_id).await.project_id;
    let bobs = app.seed_project(bob, board_id).await.project_id;
    let link = |id: i64| format!(r#"href="/board/projects/{id}""#);
    for typed in ["ann@example.com", "Ann%20Smith"] {
        let (status, page) = board
            .page(&format!("/board/projects?manager={typed}"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(&link(anns)), "{typed}");
        assert!(!page.contains(&link(bobs)), "{typed}");
    }
    let (status, page) = board.page("/board/projects").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&link(anns)) && page.contains(&link(bobs)));
    let (status, page) = board.page("/board/projects?manager=nobody").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No active IT manager has this email or name."));
    assert!(page.contains(r#"value="nobody""#));
    assert!(!page.contains(&link(anns)) && !page.contains(&link(bobs)));
}

#[tokio::test]
async fn risk_suggestions_find_a_reference_or_the_words_of_a_title() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let owner = app.user_id("manager@example.com").await;
    for title in [
        "Supplier outage",
        "Second supplier fails",
        "Ransomware on file servers",
    ] {
        titled_risk(&app, owner, title).await;
    }
    let references: Vec<String> = sqlx::query_scalar("SELECT reference FROM risks ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let suggest = async |q: &str| -> Vec<String> {
        let found = suggestions(&manager, "/manage/suggest/risks", q).await;
        found.into_iter().map(|(value, _)| value).collect()
    };
    assert_eq!(
        suggest(&references[2].to_lowercase()).await,
        [references[2].clone()]
    );
    assert_eq!(
        suggest("suppl").await,
        [references[0].clone(), references[1].clone()]
    );
    assert_eq!(suggest("second SUPP").await, [references[1].clone()]);
    for nothing in ["zebra", "!!", "'&|"] {
        assert!(suggest(nothing).await.is_empty(), "{nothing:?}");
    }
    // The board does not link risks to policies.
    let board = app.signed_in("board@example.com", &[Role::Board]).await;
    let response = board.get("/manage/suggest/risks?q=suppl").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}
