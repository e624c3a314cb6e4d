//! The risk register: ratings with their history, the heat map, the board's appetite.

use quorum::users::Role;
use reqwest::StatusCode;

use crate::helpers::{TestApp, TestClient, assert_redirects_to, extract_field_value, location};

async fn category(app: &TestApp, name: &str) -> String {
    let id: i64 = sqlx::query_scalar("SELECT id FROM risk_categories WHERE name = $1")
        .bind(name)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    id.to_string()
}

/// Records a risk through the form; returns its page.
async fn record(client: &TestClient, fields: &[(&str, &str)]) -> reqwest::Response {
    client.post_form("/manage/risks", fields).await
}

fn risk_fields<'a>(
    category: &'a str,
    owner: &'a str,
    rating: [&'a str; 4],
    title: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("title", title),
        ("description", "Ransomware encrypts the file servers."),
        ("category_id", category),
        ("owner", owner),
        ("likelihood", rating[0]),
        ("impact", rating[1]),
        ("residual_likelihood", rating[2]),
        ("residual_impact", rating[3]),
        ("controls", "Offline backups."),
        ("treatment", "mitigate"),
        ("treatment_plan", "Segment the network."),
        ("next_review_date", "2030-01-31"),
        ("status", "open"),
    ]
}

#[tokio::test]
async fn a_risk_is_recorded_and_every_rating_change_is_kept() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let owner = "manager@example.com".to_owned();
    let security = category(&app, "Security").await;

    // Residual worse than inherent, and no plan for a mitigation: refused, input kept.
    let mut bad = risk_fields(&security, &owner, ["2", "2", "5", "5"], "Ransomware");
    bad.retain(|(name, _)| *name != "treatment_plan");
    let refused = record(&manager, &bad).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = refused.text().await.unwrap();
    assert!(body.contains("Controls cannot make a risk worse"));
    assert!(body.contains("Say how the risk is mitigated"));
    assert!(body.contains(r#"value="Ransomware""#));
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM risks")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);

    let response = record(
        &manager,
        &risk_fields(&security, &owner, ["4", "5", "3", "4"], "Ransomware"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let path = location(response.headers());
    let (_, page) = manager.page(&path).await;
    assert!(page.contains("RSK-0001"));
    assert!(page.contains("= <span class=\"score score-critical\">20</span>"));

    // A re-rating adds to the history; a text edit does not.
    let mut rerated = risk_fields(&security, &owner, ["4", "5", "2", "4"], "Ransomware");
    rerated.push(("version", "1"));
    assert_redirects_to(
        &manager.post_form(&format!("{path}/edit"), &rerated).await,
        &path,
    );
    let mut reworded = risk_fields(
        &security,
        &owner,
        ["4", "5", "2", "4"],
        "Ransomware on file servers",
    );
    reworded.push(("version", "2"));
    assert_redirects_to(
        &manager.post_form(&format!("{path}/edit"), &reworded).await,
        &path,
    );
    let history: Vec<i16> =
        sqlx::query_scalar("SELECT residual_likelihood FROM risk_assessments ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(history, [3, 2]);
    let (_, page) = manager.page(&path).await;
    let history_table = page.split(r#"id="rating-history""#).nth(1).unwrap();
    assert_eq!(history_table.matches("<tr><td").count(), 2);

    // A stale form is refused with the input kept.
    let mut stale = risk_fields(&security, &owner, ["1", "1", "1", "1"], "Stale title");
    stale.push(("version", "1"));
    let response = manager.post_form(&format!("{path}/edit"), &stale).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains(r#"value="Stale title""#)
    );

    // Found by full-text search.
    let (_, found) = manager.page("/manage/risks?q=encrypts").await;
    assert!(found.contains("RSK-0001"));
    let (_, none) = manager.page("/manage/risks?q=earthquake").await;
    assert!(none.contains("No risk matches."));
}

#[tokio::test]
async fn the_heat_map_counts_match_the_register_and_appetite_flags_risks() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let board = app.signed_in("board@example.com", &[Role::Board]).await;
    let owner = "manager@example.com".to_owned();
    let security = category(&app, "Security").await;
    let vendor = category(&app, "Vendor").await;
    for (category, rating, title) in [
        (&security, ["5", "4", "3", "4"], "A"),
        (&security, ["5", "4", "3", "4"], "B"),
        (&vendor, ["3", "3", "2", "2"], "C"),
        (&vendor, ["2", "2", "1", "1"], "D"),
    ] {
        assert_eq!(
            record(&manager, &risk_fields(category, &owner, rating, title))
                .await
                .status(),
            StatusCode::SEE_OTHER
        );
    }
    // A closed risk is not on the map.
    let mut closed = risk_fields(&vendor, &owner, ["5", "5", "5", "5"], "Closed one");
    closed.retain(|(name, _)| *name != "status");
    closed.push(("status", "closed"));
    record(&manager, &closed).await;

    let (_, page) = board.page("/board/risks").await;
    let residual = page
        .split(r#"id="heat-residual""#)
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap();
    let cells: Vec<(String, i64)> = sqlx::query_as(
        "SELECT residual_likelihood || '-' || residual_impact, count(*) FROM risks WHERE status <> 'closed' GROUP BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for (cell, count) in &cells {
        assert!(
            residual.contains(&format!(r#"data-cell="{cell}">{count}</a>"#)),
            "cell {cell} should show {count}"
        );
    }
    assert_eq!(residual.matches("data-cell=").count(), cells.len());
    let inherent = page
        .split(r#"id="heat-inherent""#)
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap();
    assert!(inherent.contains(r#"data-cell="5-4">2</a>"#));

    // A cell links to its risks.
    let (_, listed) = board
        .page("/board/risks/register?l=3&i=4&residual=true")
        .await;
    assert!(listed.contains("RSK-0001") && listed.contains("RSK-0002"));
    assert!(!listed.contains("RSK-0003"));

    // The board sets the Security appetite at 10: residual 12 is above it.
    let refused = board
        .post_form(
            &format!("/board/risks/appetite/{security}"),
            &[("appetite", "30"), ("version", "1")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(page.contains("The appetite is a residual score from 1 to 25"));
    assert!(page.contains(r#"value="30""#), "what was typed is kept");
    board
        .post_form(
            &format!("/board/risks/appetite/{security}"),
            &[("appetite", "10"), ("version", "1")],
        )
        .await;
    let (_, page) = board.page("/board/risks").await;
    let above = page
        .split(r#"id="above-appetite""#)
        .nth(1)
        .unwrap()
        .split("</ul>")
        .next()
        .unwrap();
    assert!(above.contains("RSK-0001") && above.contains("RSK-0002"));
    assert!(!above.contains("RSK-0003"));
    let (_, register) = manager.page("/manage/risks?above=1").await;
    assert!(register.contains("RSK-0002") && !register.contains("RSK-0004"));
    assert!(
        app.audit_actions()
            .await
            .contains(&"risk.appetite_set".to_owned())
    );
}

#[tokio::test]
async fn the_demo_register_has_forty_risks_some_above_appetite() {
    let app = TestApp::spawn().await;
    quorum::demo::load(&app.pool, crate::helpers::PASSWORD)
        .await
        .unwrap();
    let rule = crate::helpers::demo_rule();
    quorum::demo::risks::load(&app.pool, rule).await.unwrap();
    quorum::demo::risks::load(&app.pool, rule).await.unwrap();
    let waiting: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM approval_requests WHERE kind = 'risk_acceptance' AND status = 'open'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(waiting, 1, "one acceptance awaits the board");
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM risks")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(total, 40, "loaded once");
    let above: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM risks r JOIN risk_categories c ON c.id = r.category_id
         WHERE r.residual_likelihood * r.residual_impact > c.appetite",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(above >= 5, "{above} above appetite");
    let categories: i64 = sqlx::query_scalar("SELECT count(DISTINCT category_id) FROM risks")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(categories, 6);
    let board = app.client();
    board
        .login("chair@example.com", crate::helpers::PASSWORD)
        .await;
    let (_, page) = board.page("/board/risks").await;
    assert!(
        page.contains("Ransomware encrypts file servers"),
        "above appetite on the board's page"
    );
    assert!(
        !page.contains("Every review is on time."),
        "some reviews are overdue"
    );
}

#[tokio::test]
async fn the_register_is_reconstructed_as_of_a_past_date_and_movement_is_shown() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let board = app.signed_in("board@example.com", &[Role::Board]).await;
    let owner = "manager@example.com".to_owned();
    let security = category(&app, "Security").await;
    let path = location(
        record(
            &manager,
            &risk_fields(&security, &owner, ["4", "5", "2", "3"], "Old risk"),
        )
        .await
        .headers(),
    );
    // It was recorded, rated 2 × 3, long ago, when the board's Security appetite was 5.
    board
        .post_form(
            &format!("/board/risks/appetite/{security}"),
            &[("appetite", "5"), ("version", "1")],
        )
        .await;
    sqlx::query("UPDATE risk_assessments SET assessed_at = now() - interval '200 days'")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE risk_appetite_history SET set_at = now() - interval '200 days'")
        .execute(&app.pool)
        .await
        .unwrap();
    // Today the board tolerates more.
    board
        .post_form(
            &format!("/board/risks/appetite/{security}"),
            &[("appetite", "20"), ("version", "2")],
        )
        .await;
    // Today it is re-rated 4 × 4 and closed for treatment; a second risk is new.
    let mut rerated = risk_fields(&security, &owner, ["4", "5", "4", "4"], "Old risk");
    rerated.push(("version", "1"));
    assert_redirects_to(
        &manager.post_form(&format!("{path}/edit"), &rerated).await,
        &path,
    );
    record(
        &manager,
        &risk_fields(&security, &owner, ["2", "2", "1", "1"], "New risk"),
    )
    .await;

    let long_ago = (quorum::common::dates::today() - time::Duration::days(100)).to_string();
    let (status, then) = board
        .page(&format!("/board/risks/as-of?date={long_ago}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let table = then.split(r#"id="as-of-register""#).nth(1).unwrap();
    assert!(table.contains("Old risk"));
    assert!(
        table.contains(r#"<span class="score score-medium">6</span>"#),
        "the rating then"
    );
    assert!(!table.contains("New risk"), "not recorded yet");
    assert!(
        table.contains("Above (5)"),
        "judged against the appetite then"
    );
    let (_, now) = board
        .page(&format!(
            "/board/risks/as-of?date={}",
            quorum::common::dates::today()
        ))
        .await;
    assert!(now.contains(r#"<span class="score score-high">16</span>"#));
    assert!(now.contains("Within (20)"));
    assert!(now.contains("New risk"));
    let (status, bad) = board.page("/board/risks/as-of?date=last-tuesday").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains("Enter a date as YYYY-MM-DD"));

    let (_, page) = board.page("/board/risks").await;
    let movement = page
        .split(r#"id="movement""#)
        .nth(1)
        .unwrap()
        .split("</ul>")
        .next()
        .unwrap();
    assert!(movement.contains("Old risk</a> — 6 → 16"), "{movement}");
    assert!(movement.contains("New risk</a> — new, 1"));
}

#[tokio::test]
async fn actions_have_owners_and_due_dates_and_overdue_ones_reach_the_board() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let board = app.signed_in("board@example.com", &[Role::Board]).await;
    let owner = "manager@example.com".to_owned();
    let security = category(&app, "Security").await;
    let path = location(
        record(
            &manager,
            &risk_fields(&security, &owner, ["4", "4", "3", "3"], "Phishing"),
        )
        .await
        .headers(),
    );

    let refused = manager
        .post_form(
            &format!("{path}/actions"),
            &[
                ("description", "Kept text"),
                ("owner", &owner),
                ("due_date", "soon"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(page.contains("Enter a date as YYYY-MM-DD"));
    assert!(
        page.contains(r#"value="Kept text""#),
        "what was typed is kept"
    );

    let yesterday = (quorum::common::dates::today() - time::Duration::days(1)).to_string();
    manager
        .post_form(
            &format!("{path}/actions"),
            &[
                ("description", "Run a phishing drill"),
                ("owner", &owner),
                ("due_date", &yesterday),
            ],
        )
        .await;
    manager
        .post_form(
            &format!("{path}/actions"),
            &[
                ("description", "Enforce MFA"),
                ("owner", &owner),
                ("due_date", "2199-01-01"),
            ],
        )
        .await;
    let (_, page) = manager.page(&path).await;
    let actions = page.split(r#"id="risk-actions""#).nth(1).unwrap();
    assert!(actions.contains("Run a phishing drill") && actions.contains("Overdue"));

    let (_, overview) = board.page("/board/risks").await;
    let overdue = overview
        .split(r#"id="overdue-actions""#)
        .nth(1)
        .unwrap()
        .split("</ul>")
        .next()
        .unwrap();
    assert!(overdue.contains("Run a phishing drill"));
    assert!(!overdue.contains("Enforce MFA"));

    let action: i64 = sqlx::query_scalar(
        "SELECT id FROM risk_actions WHERE description = 'Run a phishing drill'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    // Another IT manager neither carries it out nor owns the risk: no button, and refused.
    let other = app
        .signed_in("manager2@example.com", &[Role::ItManager])
        .await;
    let (_, page) = other.page(&path).await;
    assert!(!page.contains(&format!("/actions/{action}/done")));
    other
        .post_form(&format!("{path}/actions/{action}/done"), &[])
        .await;
    let (_, page) = other.page(&path).await;
    assert!(
        page.contains("Only whoever carries an open action out"),
        "{page}"
    );
    let (_, overview) = board.page("/board/risks").await;
    assert!(overview.contains("Run a phishing drill"), "still open");
    assert_redirects_to(
        &manager
            .post_form(&format!("{path}/actions/{action}/done"), &[])
            .await,
        &path,
    );
    let (_, overview) = board.page("/board/risks").await;
    assert!(overview.contains("No action is overdue."));
    assert!(
        app.audit_actions()
            .await
            .contains(&"risk.action_done".to_owned())
    );
}

#[tokio::test]
async fn accepting_a_risk_above_appetite_needs_the_board_and_expires() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let board = app.signed_in("board@example.com", &[Role::Board]).await;
    let owner = "manager@example.com".to_owned();
    let vendor = category(&app, "Vendor").await;
    sqlx::query("UPDATE risk_categories SET appetite = 6 WHERE name = 'Vendor'")
        .execute(&app.pool)
        .await
        .unwrap();
    let mut fields = risk_fields(&vendor, &owner, ["4", "4", "3", "3"], "SOC provider fails");
    fields.retain(|(name, _)| !matches!(*name, "treatment" | "status"));
    fields.push(("treatment", "accept"));
    fields.push(("status", "accepted"));
    let path = location(record(&manager, &fields).await.headers());

    // Accepted above appetite with no board decision: an unapproved exception.
    let (_, page) = manager.page(&path).await;
    assert!(page.contains("Unapproved exception"));
    let (_, overview) = board.page("/board/risks").await;
    assert!(
        overview
            .split(r#"id="unapproved-exceptions""#)
            .nth(1)
            .unwrap()
            .contains("SOC provider fails")
    );

    let refused = manager
        .post_form(
            &format!("{path}/acceptance"),
            &[
                ("justification", "Typed reasons"),
                ("expires_on", "2001-01-01"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = refused.text().await.unwrap();
    assert!(body.contains("a date after today"));
    assert!(body.contains("Typed reasons"), "what was typed is kept");
    let until = (quorum::common::dates::today() + time::Duration::days(180)).to_string();
    let response = manager
        .post_form(
            &format!("{path}/acceptance"),
            &[
                (
                    "justification",
                    "Cheaper than the alternatives until the tender.",
                ),
                ("expires_on", &until),
            ],
        )
        .await;
    assert_redirects_to(&response, &path);
    let again = manager
        .post_form(
            &format!("{path}/acceptance"),
            &[("justification", "Again"), ("expires_on", &until)],
        )
        .await;
    assert_redirects_to(&again, &path);
    let (_, page) = manager.page(&path).await;
    assert!(page.contains("The board already has REQ-"), "{page}");

    // The board votes on that exact rating; one eligible member settles it.
    let request_id: i64 = sqlx::query_scalar("SELECT request_id FROM risk_acceptances")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (_, request_page) = board.page(&format!("/board/requests/{request_id}")).await;
    let facts = request_page
        .split(r#"id="acceptance-request""#)
        .nth(1)
        .unwrap();
    assert!(facts.contains("3 × 3 = 9"));
    board
        .post_form(
            &format!("/board/requests/{request_id}/vote"),
            &[("choice", "approve")],
        )
        .await;
    let (_, page) = manager.page(&path).await;
    assert!(page.contains(&format!("Accepted by the board until {until}")));
    let (_, overview) = board.page("/board/risks").await;
    assert!(overview.contains("No unapproved exception."));
    let (_, decision) = board.page("/decisions?kind=resolution").await;
    assert!(decision.contains("Accept RSK-0001 above appetite"));

    // Once expired, it is an unapproved exception again.
    app.rewrite("UPDATE risks SET accepted_until = current_date - 1")
        .await;
    let (_, page) = manager.page(&path).await;
    assert!(page.contains("Unapproved exception"));

    // A re-rating also needs a new acceptance.
    app.rewrite("UPDATE risks SET accepted_until = current_date + 100")
        .await;
    let mut rerated = fields.clone();
    rerated.retain(|(name, _)| *name != "residual_impact");
    rerated.push(("residual_impact", "4"));
    rerated.push(("version", "2"));
    assert_redirects_to(
        &manager.post_form(&format!("{path}/edit"), &rerated).await,
        &path,
    );
    let (_, page) = manager.page(&path).await;
    assert!(
        page.contains("Unapproved exception"),
        "the acceptance covered 3 × 3, not 3 × 4"
    );
}

#[tokio::test]
async fn a_risk_touches_several_projects_and_objectives() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let manager_id = app.user_id("manager@example.com").await;
    let board_id = app.create_user("board@example.com", &[Role::Board]).await;
    let first = app.seed_project(manager_id, board_id).await;
    let second = app.seed_project(manager_id, board_id).await;
    let security = category(&app, "Security").await;
    let owner = "manager@example.com".to_owned();
    let reference = |id: i64| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT reference FROM projects WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let (first_ref, second_ref) = (
        reference(first.project_id).await,
        reference(second.project_id).await,
    );
    let objective = first.objective_id.to_string();

    // Projects are named by reference, in any case; one that does not exist is named in
    // the message and what was typed is kept.
    let typed = format!("{}, {} ; PRJ-99999", first_ref.to_lowercase(), second_ref);
    let mut fields = risk_fields(&security, &owner, ["3", "3", "2", "2"], "Shared vendor");
    fields.push(("projects", &typed));
    fields.push(("objective_ids", &objective));
    let refused = record(&manager, &fields).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    let message = page.split(r#"id="projects-error""#).nth(1).unwrap();
    assert!(message.split("</p>").next().unwrap().contains("PRJ-99999"));
    assert!(page.contains(&typed), "what was typed is kept");

    let both = format!("{first_ref}, {second_ref}");
    fields.retain(|(name, _)| *name != "projects");
    fields.push(("projects", &both));
    let path = location(record(&manager, &fields).await.headers());
    let (_, page) = manager.page(&path).await;
    let projects = page.split(r#"id="risk-projects""#).nth(1).unwrap();
    let projects = projects.split("</dd>").next().unwrap();
    assert_eq!(
        projects.matches("/manage/projects/").count(),
        2,
        "{projects}"
    );

    // The edit form names them by reference; editing to one project drops the other.
    let (_, form) = manager.page(&format!("{path}/edit")).await;
    assert_eq!(
        extract_field_value(&form, "projects").unwrap(),
        format!("{first_ref}, {second_ref}")
    );
    let mut edited = risk_fields(&security, &owner, ["3", "3", "2", "2"], "Shared vendor");
    edited.push(("projects", &second_ref));
    edited.push(("version", "1"));
    assert_redirects_to(
        &manager.post_form(&format!("{path}/edit"), &edited).await,
        &path,
    );
    let linked: Vec<i64> = sqlx::query_scalar("SELECT project_id FROM risk_projects")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(linked, [second.project_id]);
    let objectives: i64 = sqlx::query_scalar("SELECT count(*) FROM risk_objectives")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(objectives, 0);
}

#[tokio::test]
async fn it_managers_keep_the_list_of_risk_categories() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let added = manager
        .post_form(
            "/manage/risks/categories",
            &[("name", "Artificial intelligence")],
        )
        .await;
    assert_redirects_to(&added, "/manage/risks/categories");
    let (_, form) = manager.page("/manage/risks/new").await;
    assert!(form.contains("Artificial intelligence"));

    // A name already taken, or empty: refused next to the field, nothing changed.
    let taken = manager
        .post_form("/manage/risks/categories", &[("name", "Security")])
        .await;
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = taken.text().await.unwrap();
    assert!(page.contains("A category already has this name."));
    assert!(page.contains(r#"id="name-error""#));
    let vendor = category(&app, "Vendor").await;
    let renamed_to_taken = manager
        .post_form(
            &format!("/manage/risks/categories/{vendor}"),
            &[("name", "Data"), ("version", "1")],
        )
        .await;
    assert_eq!(renamed_to_taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        renamed_to_taken
            .text()
            .await
            .unwrap()
            .contains(r#"value="Data""#)
    );

    let renamed = manager
        .post_form(
            &format!("/manage/risks/categories/{vendor}"),
            &[("name", "Suppliers and cloud"), ("version", "1")],
        )
        .await;
    assert_redirects_to(&renamed, "/manage/risks/categories");
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM risk_categories ORDER BY position")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert!(names.contains(&"Suppliers and cloud".to_owned()));
    assert!(!names.contains(&"Vendor".to_owned()));
    assert_eq!(
        names.last().map(String::as_str),
        Some("Artificial intelligence")
    );
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"risk.category_added".to_owned()));
    assert!(actions.contains(&"risk.category_renamed".to_owned()));
}

#[tokio::test]
async fn the_ten_thousandth_risk_is_numbered_rsk_10000() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let owner = "manager@example.com".to_owned();
    let security = category(&app, "Security").await;
    let mut conn = app.owner_connection().await;
    sqlx::query("SELECT setval('risk_reference_seq', 9999)")
        .execute(&mut conn)
        .await
        .unwrap();
    let fields = risk_fields(&security, &owner, ["3", "3", "2", "2"], "Ransomware");
    let response = record(&manager, &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = manager.page(&location(response.headers())).await;
    assert!(page.contains("RSK-10000"), "{page}");
}

/// A risk above the Vendor appetite, owned by the IT manager with the email `owner`,
/// touching `projects`: recorded by `client`; returns its page's path.
async fn risk_above_appetite(
    app: &TestApp,
    client: &TestClient,
    owner: &str,
    projects: &[i64],
) -> String {
    let vendor = category(app, "Vendor").await;
    sqlx::query("UPDATE risk_categories SET appetite = 6 WHERE name = 'Vendor'")
        .execute(&app.pool)
        .await
        .unwrap();
    let mut references = Vec::new();
    for id in projects {
        let reference: String = sqlx::query_scalar("SELECT reference FROM projects WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        references.push(reference);
    }
    let references = references.join(", ");
    let mut fields = risk_fields(&vendor, owner, ["4", "4", "3", "3"], "SOC provider fails");
    fields.retain(|(name, _)| !matches!(*name, "treatment" | "status"));
    fields.push(("treatment", "accept"));
    fields.push(("status", "accepted"));
    fields.push(("projects", &references));
    let response = record(client, &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    location(response.headers())
}

#[tokio::test]
async fn nobody_votes_on_a_risk_they_own_or_whose_projects_they_manage() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let both = [Role::Board, Role::ItManager];
    let owner = app.signed_in("cio@example.com", &both).await;
    let second_manager = app.signed_in("cto@example.com", &both).await;
    let board = app.signed_in("board@example.com", &[Role::Board]).await;
    let manager_id = app.user_id("manager@example.com").await;
    let cto_id = app.user_id("cto@example.com").await;
    let board_id = app.user_id("board@example.com").await;
    // The risk touches the manager's project first and the CTO's second.
    let first = app.seed_project(manager_id, board_id).await;
    let second = app.seed_project(cto_id, board_id).await;
    let path = risk_above_appetite(
        &app,
        &manager,
        "cio@example.com",
        &[first.project_id, second.project_id],
    )
    .await;

    let until = (quorum::common::dates::today() + time::Duration::days(90)).to_string();
    let response = manager
        .post_form(
            &format!("{path}/acceptance"),
            &[
                ("justification", "Cheaper than the alternatives."),
                ("expires_on", &until),
            ],
        )
        .await;
    assert_redirects_to(&response, &path);
    let request_id: i64 = sqlx::query_scalar("SELECT request_id FROM risk_acceptances")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let request_path = format!("/board/requests/{request_id}");

    for (client, reason) in [
        (&owner, "You own the risk it is about."),
        (&second_manager, "You manage a project the risk touches."),
    ] {
        let (_, waiting) = client.page("/board/requests").await;
        let waiting = waiting.split("Waiting for your vote").nth(1).unwrap();
        let waiting = waiting.split("</section>").next().unwrap();
        assert!(!waiting.contains(&request_path), "{waiting}");
        let (_, page) = client.page(&request_path).await;
        assert!(page.contains(reason), "{page}");
        let response = client
            .post_form(&format!("{request_path}/vote"), &[("choice", "approve")])
            .await;
        assert_redirects_to(&response, &request_path);
        let (_, page) = client.page(&request_path).await;
        assert!(page.contains("You cannot vote on this request."));
    }
    let votes: i64 = sqlx::query_scalar("SELECT count(*) FROM votes")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(votes, 0);

    // Others read each reason about the person, not as if it were theirs.
    let (_, waiting) = board.page("/board/requests").await;
    assert!(waiting.contains(&request_path));
    let (_, page) = board.page(&request_path).await;
    let not_voting = page.split("Not voting").nth(1).unwrap();
    let not_voting = not_voting.split("</ul>").next().unwrap();
    assert!(
        not_voting.contains("Test cio: Owns the risk it is about"),
        "{not_voting}"
    );
    assert!(
        not_voting.contains("Test cto: Manages a project the risk touches"),
        "{not_voting}"
    );
    assert!(!not_voting.contains("You "), "{not_voting}");
    // The board member who may vote settles it alone (one eligible member).
    let response = board
        .post_form(&format!("{request_path}/vote"), &[("choice", "approve")])
        .await;
    assert_redirects_to(&response, &request_path);
    let (_, page) = board.page(&request_path).await;
    assert!(page.contains("Decided:"), "{page}");
}

#[tokio::test]
async fn a_double_submitted_acceptance_opens_one_request() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    app.create_user("board@example.com", &[Role::Board]).await;
    let path = risk_above_appetite(&app, &manager, "manager@example.com", &[]).await;
    let until = (quorum::common::dates::today() + time::Duration::days(90)).to_string();
    let acceptance = format!("{path}/acceptance");
    let fields = [
        ("justification", "Cheaper than the alternatives."),
        ("expires_on", until.as_str()),
    ];
    let submits: Vec<_> = (0..4)
        .map(|_| manager.post_form(&acceptance, &fields))
        .collect();
    for response in futures_util::future::join_all(submits).await {
        assert_redirects_to(&response, &path);
    }
    let requests: i64 = sqlx::query_scalar("SELECT count(*) FROM risk_acceptances")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(requests, 1);

    // The database holds the line too, whatever the code above it does.
    let mut owner = app.owner_connection().await;
    let error = sqlx::query(
        "INSERT INTO approval_requests (reference, kind, title, requester_id, due_date,
                                        quorum_percent, majority_percent, subject_key)
         SELECT 'REQ-TEST', kind, title, requester_id, due_date, quorum_percent,
                majority_percent, subject_key FROM approval_requests",
    )
    .execute(&mut owner)
    .await
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("approval_requests_one_live_per_subject"),
        "{error}"
    );
}

#[tokio::test]
async fn a_database_failure_while_filing_shows_a_plain_page_never_its_text() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    app.create_user("board@example.com", &[Role::Board]).await;
    let path = risk_above_appetite(&app, &manager, "manager@example.com", &[]).await;
    // The database refuses the subject's row, as a failing disk or a bug would.
    let mut owner = app.owner_connection().await;
    sqlx::query(
        "ALTER TABLE risk_acceptances ADD CONSTRAINT refuse_everything CHECK (false) NOT VALID",
    )
    .execute(&mut owner)
    .await
    .unwrap();
    let until = (quorum::common::dates::today() + time::Duration::days(90)).to_string();
    let response = manager
        .post_form(
            &format!("{path}/acceptance"),
            &[
                ("justification", "Cheaper than the alternatives."),
                ("expires_on", &until),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let page = response.text().await.unwrap();
    assert!(page.contains("Request id"), "{page}");
    let (_, risk_page) = manager.page(&path).await;
    for text in [&page, &risk_page] {
        assert!(!text.contains("refuse_everything"), "{text}");
        assert!(!text.contains("violates"), "{text}");
    }
    let requests: i64 = sqlx::query_scalar("SELECT count(*) FROM approval_requests")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(requests, 0, "nothing half-written");
}

#[tokio::test]
async fn a_corrupt_stored_state_is_an_error_never_read_as_a_default() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let security = category(&app, "Security").await;
    let fields = risk_fields(
        &security,
        "manager@example.com",
        ["3", "3", "2", "2"],
        "Ransomware",
    );
    let path = location(record(&manager, &fields).await.headers());
    let (status, _) = manager.page(&path).await;
    assert_eq!(status, StatusCode::OK);
    // Behind the application's back, a status no code knows.
    let mut owner = app.owner_connection().await;
    for statement in [
        "ALTER TABLE risks DROP CONSTRAINT risks_status_check",
        "UPDATE risks SET status = 'bogus'",
    ] {
        sqlx::query(statement).execute(&mut owner).await.unwrap();
    }
    app.mark_changed(&mut app.pool.acquire().await.unwrap())
        .await;
    let (status, page) = manager.page(&path).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{page}");
    assert!(!page.contains("bogus"), "{page}");
}

/// A NUL in any filter, search or page position is refused with a 400 before anything
/// reads it (PostgreSQL's text cannot hold one); the register as of the calendar's last
/// day is read, not a crash.
#[tokio::test]
async fn a_nul_in_an_address_is_refused_and_a_date_past_the_calendar_gets_a_message() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let auditor = app.signed_in("auditor@example.com", &[Role::Auditor]).await;
    for (client, path) in [
        (&manager, "/manage/risks?q=%00"),
        (&manager, "/manage/risks?q=RSK-1%00"),
        (&manager, "/manage/risks?after=%00&after_ref=x"),
        (&manager, "/manage/policies?q=POL-1%00"),
        (&manager, "/manage/controls?q=a%00b"),
        (&auditor, "/audit/events?actor=%00"),
        (&auditor, "/audit/events?action=x%00"),
        (&auditor, "/audit/risks/as-of?date=2026-01-01&%00=x"),
    ] {
        let (status, page) = client.page(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(page.contains("NUL character"), "{path}");
    }
    // Past the calendar Quorum keeps: a message next to the date, not a register read.
    let (status, page) = auditor.page("/audit/risks/as-of?date=9999-12-31").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Enter a date between 1900-01-01 and 2200-12-31."));
    assert!(
        page.contains(r#"value="9999-12-31""#),
        "what was typed is kept"
    );
    let (status, _) = auditor.page("/audit/risks/as-of?date=2200-12-31").await;
    assert_eq!(status, StatusCode::OK);
}
