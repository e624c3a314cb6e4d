//! Compliance: the catalogues, controls mapped to requirements, coverage and the Statement
//! of Applicability, the report as of a past date, and evidence files.

use quorum::users::Role;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use sha2::{Digest, Sha256};

use crate::helpers::{
    PASSWORD, TestApp, TestClient, assert_redirects_to, extract_field_value, location,
};

async fn requirement(app: &TestApp, framework: &str, identifier: &str) -> String {
    let id: i64 = sqlx::query_scalar(
        "SELECT r.id FROM framework_requirements r JOIN frameworks f ON f.id = r.framework_id
         WHERE f.code = $1 AND r.identifier = $2",
    )
    .bind(framework)
    .bind(identifier)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    id.to_string()
}

/// Records a control implementing the given requirements; returns its page's path.
async fn record_control(
    manager: &TestClient,
    implementation: &str,
    requirements: &[String],
) -> String {
    let mut fields = vec![
        ("title", "Multi-factor authentication"),
        ("description", "MFA on every remote and privileged access."),
        ("owner", "manager@example.com"),
        ("frequency", "quarterly"),
        ("implementation", implementation),
        ("na_justification", ""),
    ];
    for requirement in requirements {
        fields.push(("requirement_ids", requirement));
    }
    let response = manager.post_form("/manage/controls", &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    location(response.headers())
}

async fn record_test(manager: &TestClient, control: &str, result: &str) {
    let today = quorum::common::dates::today().to_string();
    let response = manager
        .post_form(
            &format!("{control}/tests"),
            &[
                ("result", result),
                ("tested_on", &today),
                ("notes", "Sampled 25 accounts."),
            ],
        )
        .await;
    assert_redirects_to(&response, control);
}

/// The numbers of a framework's row on the overview: requirements, n/a, mapped,
/// implemented, tested, covered, gaps.
async fn overview_numbers(client: &TestClient, code: &str) -> Vec<String> {
    let (_, page) = client.page("/compliance").await;
    let row = page
        .split(&format!(r#"data-framework="{code}""#))
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap()
        .to_owned();
    row.split(r#"<td class="num">"#)
        .skip(1)
        .map(|cell| {
            let text = cell.split('<').next().unwrap();
            let text = if text.trim().is_empty() {
                cell.split('>').nth(1).unwrap().split('<').next().unwrap()
            } else {
                text
            };
            text.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_catalogues_load_with_their_public_counts() {
    let app = TestApp::spawn().await;
    let count = |framework: &str, condition: String| {
        let sql = format!(
            "SELECT count(*) FROM framework_requirements r JOIN frameworks f ON f.id = r.framework_id
             WHERE f.code = '{framework}' AND {condition}"
        );
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(&sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let in_group = |group: &str| format!("r.parent_identifier = '{group}'");
    assert_eq!(count("cobit2019", "r.assessable".into()).await, 40);
    for (domain, objectives) in [("EDM", 5), ("APO", 14), ("BAI", 11), ("DSS", 6), ("MEA", 4)] {
        assert_eq!(
            count("cobit2019", in_group(domain)).await,
            objectives,
            "{domain}"
        );
    }
    assert_eq!(count("iso27001_2022", "r.assessable".into()).await, 93);
    for (theme, controls) in [("A.5", 37), ("A.6", 8), ("A.7", 14), ("A.8", 34)] {
        assert_eq!(
            count("iso27001_2022", in_group(theme)).await,
            controls,
            "{theme}"
        );
    }
    assert_eq!(count("nist_csf_2", "r.level = 1".into()).await, 6);
    assert_eq!(count("nist_csf_2", "r.level = 2".into()).await, 22);
    assert_eq!(
        count("nist_csf_2", "r.level = 3 AND r.assessable".into()).await,
        106
    );

    let auditor = app.signed_in("auditor@example.com", &[Role::Auditor]).await;
    assert_eq!(overview_numbers(&auditor, "cobit2019").await[0], "40");
    assert_eq!(overview_numbers(&auditor, "iso27001_2022").await[0], "93");
    assert_eq!(overview_numbers(&auditor, "nist_csf_2").await[0], "106");
}

#[tokio::test]
async fn coverage_and_the_statement_of_applicability_follow_controls_tests_and_decisions() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let board = app.signed_in("board@example.com", &[Role::Board]).await;
    let access = requirement(&app, "iso27001_2022", "A.5.15").await;
    let authentication = requirement(&app, "iso27001_2022", "A.8.5").await;
    let nist = requirement(&app, "nist_csf_2", "PR.AA-05").await;

    // Not applicable without saying why: refused next to the field, input kept.
    let owner = "manager@example.com".to_owned();
    let refused = manager
        .post_form(
            "/manage/controls",
            &[
                ("title", "Badge readers"),
                ("owner", &owner),
                ("frequency", "annual"),
                ("implementation", "not_applicable"),
                ("requirement_ids", &access),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(page.contains("Say why the control does not apply."));
    assert!(page.contains(r#"value="Badge readers""#));
    assert!(page.contains(&format!(r#"<option value="{access}" selected>"#)));

    let control = record_control(
        &manager,
        "implemented",
        &[access.clone(), authentication.clone(), nist.clone()],
    )
    .await;
    let (_, page) = manager.page(&control).await;
    assert!(page.contains("CTL-0001"));
    assert!(page.contains("ISO 27001 A.5.15"));
    // Implemented but untested: mapped, implemented, not covered.
    assert_eq!(
        overview_numbers(&board, "iso27001_2022").await,
        ["93", "0", "2", "2", "0", "0", "93"]
    );

    // A test in the future is refused; an effective test covers both requirements.
    let tomorrow = (quorum::common::dates::today() + time::Duration::days(1)).to_string();
    let future = manager
        .post_form(
            &format!("{control}/tests"),
            &[("result", "effective"), ("tested_on", &tomorrow)],
        )
        .await;
    assert_eq!(future.status(), StatusCode::UNPROCESSABLE_ENTITY);
    record_test(&manager, &control, "effective").await;
    assert_eq!(
        overview_numbers(&board, "iso27001_2022").await,
        ["93", "0", "2", "2", "2", "2", "91"]
    );
    assert_eq!(
        overview_numbers(&board, "nist_csf_2").await,
        ["106", "0", "1", "1", "1", "1", "105"]
    );

    // The SoA: a requirement declared not applicable leaves the gaps.
    let perimeter = requirement(&app, "iso27001_2022", "A.7.1").await;
    let no_reason = manager
        .post_form(
            &format!("/manage/applicability/{perimeter}"),
            &[("applicable", "no"), ("justification", " ")],
        )
        .await;
    assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        no_reason
            .text()
            .await
            .unwrap()
            .contains(&format!(r#"id="justification-{perimeter}-error""#))
    );
    let decided = manager
        .post_form(
            &format!("/manage/applicability/{perimeter}"),
            &[
                ("applicable", "no"),
                ("justification", "No premises: a fully remote company."),
            ],
        )
        .await;
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        overview_numbers(&board, "iso27001_2022").await,
        ["93", "1", "2", "2", "2", "2", "90"]
    );
    let (_, soa) = board.page("/compliance/soa").await;
    assert!(soa.contains("92 applicable, 1 not applicable"));
    let row = soa
        .split(&format!(r#"id="req-{access}""#))
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    assert!(row.contains("CTL-0001"));
    let row = soa
        .split(&format!(r#"id="req-{perimeter}""#))
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    assert!(row.contains("No premises: a fully remote company."));
    let (_, gaps) = board
        .page("/compliance/frameworks/iso27001_2022?gaps=1")
        .await;
    assert!(!gaps.contains("<strong>A.5.15</strong>") && gaps.contains("<strong>A.5.1</strong>"));

    let actions = app.audit_actions().await;
    for expected in ["control.created", "control.tested", "soa.decided"] {
        assert!(actions.iter().any(|a| a == expected), "{expected}");
    }
}

#[tokio::test]
async fn the_compliance_report_as_of_a_past_date_is_rebuilt_from_history() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let auditor = app.signed_in("auditor@example.com", &[Role::Auditor]).await;
    let access = requirement(&app, "iso27001_2022", "A.5.15").await;
    let control = record_control(&manager, "partial", std::slice::from_ref(&access)).await;
    // All that happened ten days ago...
    for table in [
        "control_status_history SET changed_at",
        "control_requirements SET mapped_at",
    ] {
        let (table, column) = table.split_once(" SET ").unwrap();
        sqlx::query(&format!(
            "UPDATE {table} SET {column} = {column} - interval '10 days'"
        ))
        .execute(&app.pool)
        .await
        .unwrap();
    }
    // ...and today it is implemented and tested effective.
    let owner = "manager@example.com".to_owned();
    let edited = manager
        .post_form(
            &format!("{control}/edit"),
            &[
                ("title", "Multi-factor authentication"),
                ("owner", &owner),
                ("frequency", "quarterly"),
                ("implementation", "implemented"),
                ("requirement_ids", &access),
                ("version", "1"),
            ],
        )
        .await;
    assert_redirects_to(&edited, &control);
    record_test(&manager, &control, "effective").await;

    let (_, today) = auditor.page("/compliance/frameworks/iso27001_2022").await;
    assert!(today.contains("<strong>1</strong> of 93 applicable requirements covered"));
    let five_days_ago = (quorum::common::dates::today() - time::Duration::days(5)).to_string();
    let (status, then) = auditor
        .page(&format!(
            "/compliance/frameworks/iso27001_2022?date={five_days_ago}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let summary = then.split(r#"id="coverage-summary""#).nth(1).unwrap();
    assert!(summary.contains(&format!("As of {five_days_ago}")));
    assert!(summary.contains("<strong>0</strong> of 93 applicable requirements covered"));
    assert!(summary.contains("1 mapped to a control, 0 with an implemented control"));
    // A requirement declared not applicable today was still a gap then.
    let perimeter = requirement(&app, "iso27001_2022", "A.7.1").await;
    let decided = manager
        .post_form(
            &format!("/manage/applicability/{perimeter}"),
            &[("applicable", "no"), ("justification", "Fully remote.")],
        )
        .await;
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);
    let (_, today) = auditor.page("/compliance/frameworks/iso27001_2022").await;
    assert!(today.contains("<strong>1</strong> of 92 applicable requirements covered"));
    let (_, then) = auditor
        .page(&format!(
            "/compliance/frameworks/iso27001_2022?date={five_days_ago}"
        ))
        .await;
    assert!(then.contains("<strong>0</strong> of 93 applicable requirements covered"));
    let (status, _) = auditor
        .page("/compliance/frameworks/iso27001_2022?date=yesterday")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// An upload of evidence about two months ago, valid until yesterday.
fn upload_form(token: &str, title: &str, file_name: &str, bytes: &[u8]) -> Form {
    let today = quorum::common::dates::today();
    Form::new()
        .text("csrf_token", token.to_owned())
        .text("title", title.to_owned())
        .text("about_date", (today - time::Duration::days(60)).to_string())
        .text("valid_until", (today - time::Duration::days(1)).to_string())
        .part(
            "file",
            Part::bytes(bytes.to_vec()).file_name(file_name.to_owned()),
        )
}

#[tokio::test]
async fn evidence_is_checked_hashed_kept_and_downloaded_as_an_attachment() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let auditor = app.signed_in("auditor@example.com", &[Role::Auditor]).await;
    let control = record_control(&manager, "implemented", &[]).await;
    let upload = format!("{control}/evidence");
    let token = manager.csrf_token().await;
    let pdf = b"%PDF-1.7\nQuarterly access review, signed.\n%%EOF\n".to_vec();

    // Without the token: refused, nothing stored.
    let no_token = manager
        .http
        .post(manager.url(&upload))
        .multipart(Form::new().part("file", Part::bytes(pdf.clone()).file_name("review.pdf")))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);

    // A file whose content is not what its extension says: refused, the title kept.
    let disguised = manager
        .http
        .post(manager.url(&upload))
        .multipart(upload_form(
            &token,
            "Q3 access review",
            "review.pdf",
            b"<html><script>alert(1)</script>",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(disguised.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = disguised.text().await.unwrap();
    assert!(page.contains("not what its .pdf extension says"));
    assert!(page.contains(r#"value="Q3 access review""#));
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM evidence")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);

    let accepted = manager
        .http
        .post(manager.url(&upload))
        .multipart(upload_form(
            &token,
            "Q3 access review",
            "../../Q3 \"review\".pdf",
            &pdf,
        ))
        .send()
        .await
        .unwrap();
    assert_redirects_to(&accepted, &control);
    let (id, name, sha256, about): (i64, String, String, time::Date) =
        sqlx::query_as("SELECT id, original_name, sha256, about_date FROM evidence")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(name, "Q3 review.pdf");
    assert_eq!(sha256, hex::encode(Sha256::digest(&pdf)));
    assert_eq!(
        about,
        quorum::common::dates::today() - time::Duration::days(60)
    );

    let download = auditor.get(&format!("/compliance/evidence/{id}")).await;
    assert_eq!(download.status(), StatusCode::OK);
    let disposition = download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(disposition, r#"attachment; filename="Q3 review.pdf""#);
    assert_eq!(download.headers()["content-type"], "application/pdf");
    assert_eq!(download.bytes().await.unwrap().to_vec(), pdf);

    // Past its valid-until date it is flagged; it can be neither changed nor removed.
    let (_, page) = auditor
        .page(&format!(
            "/compliance/controls/{}",
            control.rsplit('/').next().unwrap()
        ))
        .await;
    let yesterday = quorum::common::dates::today() - time::Duration::days(1);
    assert!(page.contains(&format!("Expired {yesterday}")));
    assert!(page.contains("1 evidence file(s) expired"));
    let mut owner = app.owner_connection().await;
    for statement in ["UPDATE evidence SET title = 'x'", "DELETE FROM evidence"] {
        assert!(
            sqlx::query(statement).execute(&mut owner).await.is_err(),
            "{statement}"
        );
    }
    assert!(
        app.audit_actions()
            .await
            .contains(&"evidence.uploaded".to_owned())
    );
}

#[tokio::test]
async fn the_demo_control_library_shows_coverage_gaps_and_expired_evidence() {
    let app = TestApp::spawn().await;
    quorum::demo::load(&app.pool, crate::helpers::PASSWORD)
        .await
        .unwrap();
    let rule = crate::helpers::demo_rule();
    quorum::demo::risks::load(&app.pool, rule).await.unwrap();
    quorum::demo::policies::load(&app.pool, rule).await.unwrap();
    quorum::demo::compliance::load(&app.pool).await.unwrap();
    quorum::demo::compliance::load(&app.pool).await.unwrap();
    let controls: i64 = sqlx::query_scalar("SELECT count(*) FROM controls")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(controls, 18, "loaded once");
    let board = app.signed_in("reader@example.com", &[Role::Board]).await;
    let iso = overview_numbers(&board, "iso27001_2022").await;
    let covered: usize = iso[5].parse().unwrap();
    let not_applicable: usize = iso[1].parse().unwrap();
    assert!(covered >= 10, "{iso:?}");
    assert_eq!(not_applicable, 2);
    // The overview reads the current state in one statement; each framework's report
    // rebuilds the same moment from the history: they agree on every framework.
    let mut conn = app.pool.acquire().await.unwrap();
    let summaries = quorum::compliance::repo::summaries_now(&mut conn)
        .await
        .unwrap();
    let frameworks = quorum::compliance::repo::frameworks(&mut conn)
        .await
        .unwrap();
    assert!(frameworks.len() >= 3);
    for framework in frameworks {
        let rows = quorum::compliance::repo::coverage(
            &mut conn,
            framework.id,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
        let from_history = quorum::compliance::repo::CoverageSummary::of(&rows);
        assert_eq!(summaries[&framework.id], from_history, "{}", framework.code);
    }
    let (_, gaps) = board
        .page("/compliance/frameworks/iso27001_2022?gaps=1")
        .await;
    assert!(
        gaps.contains("Gap: found ineffective"),
        "the backup restore test failed"
    );
    assert!(gaps.contains("Gap: not implemented"));
    let backups: i64 =
        sqlx::query_scalar("SELECT id FROM controls WHERE title LIKE 'Daily backups%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let (_, page) = board.page(&format!("/compliance/controls/{backups}")).await;
    assert!(page.contains("1 evidence file(s) expired"));
}

fn import_form(token: &str, code: &str, csv: &str) -> Form {
    Form::new()
        .text("csrf_token", token.to_owned())
        .text("code", code.to_owned())
        .text("name", "Acme IT Controls")
        .text("short_name", "ACME")
        .text("version", "2026")
        .text("publisher", "Acme Corp")
        .part(
            "file",
            Part::bytes(csv.as_bytes().to_vec()).file_name("acme.csv"),
        )
}

#[tokio::test]
async fn an_administrator_imports_a_framework_from_csv_all_or_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", &[Role::Admin]).await;
    let token = admin.csrf_token().await;
    let post = |form: Form| {
        admin
            .http
            .post(admin.url("/admin/frameworks"))
            .multipart(form)
            .send()
    };

    // Bad rows: every one named, the typed fields kept, nothing imported.
    let bad = "identifier,title,parent,assessable\nGOV,Governance,,no\nGOV-1,,GOV,\nGOV-1,Twice,GOV,\nOPS-1,Orphan,OPS,\n";
    let refused = post(import_form(&token, "acme_2026", bad)).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    let rows = page.split(r#"id="row-errors""#).nth(1).unwrap();
    for expected in [
        "Row 3:",
        "Row 4:",
        "Row 5:",
        "title is empty",
        "appears twice",
        "parent OPS",
    ] {
        assert!(rows.contains(expected), "{expected}");
    }
    assert!(page.contains(r#"value="Acme IT Controls""#));
    let frameworks: i64 = sqlx::query_scalar("SELECT count(*) FROM frameworks")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(frameworks, 3, "nothing half-imported");

    let good = "identifier,title,parent,assessable\nGOV,Governance,,no\nGOV-1,Board oversight of IT,GOV,\nGOV-2,IT strategy approved yearly,GOV,yes\nOPS,Operations,,no\nOPS-1,\"Backups, tested\",OPS,\n";
    let imported = post(import_form(&token, "acme_2026", good)).await.unwrap();
    assert_eq!(imported.status(), StatusCode::SEE_OTHER);
    let auditor = app.signed_in("auditor@example.com", &[Role::Auditor]).await;
    assert_eq!(overview_numbers(&auditor, "acme_2026").await[0], "3");
    let (_, page) = auditor.page("/compliance/frameworks/acme_2026").await;
    assert!(page.contains("Backups, tested"));

    // The same code again is refused next to the field.
    let again = post(import_form(&token, "acme_2026", good)).await.unwrap();
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("A framework already has this code.")
    );
    assert!(
        app.audit_actions()
            .await
            .contains(&"framework.imported".to_owned())
    );
}

#[tokio::test]
async fn evidence_kept_in_a_directory_is_named_by_its_hash_and_checked_on_the_way_out() {
    let directory = tempfile::tempdir().unwrap();
    let configured = directory.path().to_owned();
    let app = TestApp::spawn_with(move |config| config.evidence_dir = Some(configured)).await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let auditor = app.signed_in("auditor@example.com", &[Role::Auditor]).await;
    let control = record_control(&manager, "implemented", &[]).await;
    let token = manager.csrf_token().await;
    let csv = b"account,reviewed\nalice,yes\n".to_vec();
    let uploaded = manager
        .http
        .post(manager.url(&format!("{control}/evidence")))
        .multipart(upload_form(&token, "Access review", "review.csv", &csv))
        .send()
        .await
        .unwrap();
    assert_redirects_to(&uploaded, &control);
    let (id, stored_in, in_database): (i64, String, bool) =
        sqlx::query_as("SELECT id, stored_in, content IS NOT NULL FROM evidence")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((stored_in.as_str(), in_database), ("directory", false));
    let sha256 = hex::encode(Sha256::digest(&csv));
    let file = directory.path().join(&sha256);
    assert_eq!(std::fs::read(&file).unwrap(), csv);

    let download = auditor.get(&format!("/compliance/evidence/{id}")).await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.bytes().await.unwrap().to_vec(), csv);

    // A file changed behind Quorum's back is refused, never handed out as evidence.
    std::fs::write(&file, b"account,reviewed\nmallory,yes\n").unwrap();
    let tampered = auditor.get(&format!("/compliance/evidence/{id}")).await;
    assert_eq!(tampered.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!tampered.text().await.unwrap().contains("mallory"));
}

#[tokio::test]
async fn a_control_names_its_policies_and_risks_by_reference_whatever_the_register_size() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let manager = app.client();
    manager.login("manager@example.com", PASSWORD).await;
    // Past what a list of choices used to hold (the first 1,000 by reference).
    sqlx::query(
        "INSERT INTO risks (reference, title, description, category_id, owner_id, likelihood,
                            impact, residual_likelihood, residual_impact, treatment,
                            treatment_plan, next_review_date)
         SELECT 'RSK-' || lpad(n::text, 4, '0'), 'Generated risk ' || n, '', category_id,
                owner_id, 2, 2, 1, 1, treatment, '', next_review_date
           FROM generate_series(41, 1500) AS n, (SELECT * FROM risks LIMIT 1) AS first",
    )
    .execute(&app.pool)
    .await
    .unwrap();

    // Suggestions for the reference being typed, by reference or by name.
    let suggestions = async |path: &str| -> serde_json::Value {
        serde_json::from_str(&manager.get(path).await.text().await.unwrap()).unwrap()
    };
    let suggested = suggestions("/manage/suggest/policies?q=backup").await;
    assert!(
        suggested.to_string().contains("Backup and Recovery Policy"),
        "{suggested}"
    );
    let suggested = suggestions("/manage/suggest/projects?q=prj-0001").await;
    assert_eq!(suggested[0]["value"], "PRJ-0001");

    let mut fields = vec![
        ("title", "Generated-risk monitoring"),
        ("description", ""),
        ("owner", "manager@example.com"),
        ("frequency", "quarterly"),
        ("implementation", "partial"),
        ("na_justification", ""),
        ("policies", "pol-0007, POL-0404"),
        ("risks", "RSK-1499 RSK-0003"),
    ];
    let refused = manager.post_form("/manage/controls", &fields).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(page.contains(r#"id="policies-error""#) && page.contains("POL-0404"));
    assert!(!page.contains(r#"id="risks-error""#), "both risks exist");

    fields[6] = ("policies", "pol-0007");
    let response = manager.post_form("/manage/controls", &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let control = location(response.headers());
    let linked: Vec<String> = sqlx::query_scalar(
        "SELECT r.reference FROM control_risks cr JOIN risks r ON r.id = cr.risk_id
          ORDER BY r.reference",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(linked.contains(&"RSK-1499".to_owned()) && linked.contains(&"RSK-0003".to_owned()));
    let (_, form) = manager.page(&format!("{control}/edit")).await;
    assert_eq!(extract_field_value(&form, "policies").unwrap(), "POL-0007");
    assert_eq!(
        extract_field_value(&form, "risks").unwrap(),
        "RSK-0003, RSK-1499"
    );
}
