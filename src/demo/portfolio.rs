//! The demo portfolio: four objectives (one with no project behind it), twelve projects and
//! a year of status reports, some green, some amber, some red, two of them stale. Loaded
//! once; later `quorum demo` runs leave it as it is.

use serde_json::json;
use sqlx::{PgConnection, PgPool};
use time::{Duration, OffsetDateTime, Time};

use crate::audit::{self, Actor};
use crate::common::dates::today;
use crate::projects::model::{Cadence, Period, Phase, Rag};
use crate::projects::repo::{self, Milestone, ProjectFields, ReportFields};
use crate::users::repo as users_repo;

const OBJECTIVES: &[(&str, &str)] = &[
    (
        "Resilient and secure operations",
        "Services stay up and data stays safe: recovery within agreed times, threats detected and contained.",
    ),
    (
        "Digital customer experience",
        "Customers and field staff do what they need online, on any device, without calling us.",
    ),
    (
        "Data-driven decisions",
        "Managers decide on trusted, timely figures from one data platform.",
    ),
    (
        "Sustainable IT cost base",
        "IT run costs fall as a share of revenue while service levels hold.",
    ),
];

/// How a demo project's reports go over time.
#[derive(Clone, Copy)]
enum Story {
    Smooth,
    Recovering,
    Slipping,
    Troubled,
}

struct DemoProject {
    name: &'static str,
    sponsor: &'static str,
    objective: usize,
    manager: &'static str,
    cadence: Cadence,
    phase: Phase,
    started_months_ago: i64,
    months_long: i64,
    budget_thousands: i64,
    story: Story,
    /// Forecast at completion as a share of budget, in percent.
    forecast_percent: i64,
    /// Stop reporting this many periods before today (a stale project).
    silent_periods: u32,
    decision_needed: &'static str,
}

const PROJECTS: &[DemoProject] = &[
    DemoProject {
        name: "Data-centre exit to cloud",
        sponsor: "Chief Operating Officer",
        objective: 0,
        manager: "manager@example.com",
        cadence: Cadence::Monthly,
        phase: Phase::InDelivery,
        started_months_ago: 11,
        months_long: 20,
        budget_thousands: 2_400,
        story: Story::Slipping,
        forecast_percent: 108,
        silent_periods: 0,
        decision_needed: "Approve a second migration wave window in March, outside the year-end freeze.",
    },
    DemoProject {
        name: "Identity and access modernisation",
        sponsor: "Chief Information Security Officer",
        objective: 0,
        manager: "manager2@example.com",
        cadence: Cadence::Weekly,
        phase: Phase::InDelivery,
        started_months_ago: 9,
        months_long: 14,
        budget_thousands: 850,
        story: Story::Smooth,
        forecast_percent: 97,
        silent_periods: 0,
        decision_needed: "",
    },
    DemoProject {
        name: "Backup and disaster-recovery upgrade",
        sponsor: "Chief Operating Officer",
        objective: 0,
        manager: "cio@example.com",
        cadence: Cadence::Monthly,
        phase: Phase::InDelivery,
        started_months_ago: 12,
        months_long: 16,
        budget_thousands: 600,
        story: Story::Smooth,
        forecast_percent: 100,
        silent_periods: 3,
        decision_needed: "",
    },
    DemoProject {
        name: "Security operations centre",
        sponsor: "Chief Information Security Officer",
        objective: 0,
        manager: "manager@example.com",
        cadence: Cadence::Weekly,
        phase: Phase::InDelivery,
        started_months_ago: 8,
        months_long: 12,
        budget_thousands: 1_200,
        story: Story::Troubled,
        forecast_percent: 121,
        silent_periods: 0,
        decision_needed: "Decide between extending the managed-service contract or hiring two analysts; either needs 140k more this year.",
    },
    DemoProject {
        name: "Customer portal relaunch",
        sponsor: "Chief Commercial Officer",
        objective: 1,
        manager: "manager2@example.com",
        cadence: Cadence::Weekly,
        phase: Phase::InDelivery,
        started_months_ago: 7,
        months_long: 12,
        budget_thousands: 1_600,
        story: Story::Slipping,
        forecast_percent: 104,
        silent_periods: 0,
        decision_needed: "",
    },
    DemoProject {
        name: "Mobile field-service app",
        sponsor: "Head of Field Operations",
        objective: 1,
        manager: "manager@example.com",
        cadence: Cadence::Monthly,
        phase: Phase::InDelivery,
        started_months_ago: 10,
        months_long: 13,
        budget_thousands: 700,
        story: Story::Recovering,
        forecast_percent: 99,
        silent_periods: 0,
        decision_needed: "",
    },
    DemoProject {
        name: "Contact-centre telephony replacement",
        sponsor: "Head of Customer Service",
        objective: 1,
        manager: "cio@example.com",
        cadence: Cadence::Monthly,
        phase: Phase::InDelivery,
        started_months_ago: 9,
        months_long: 11,
        budget_thousands: 450,
        story: Story::Troubled,
        forecast_percent: 131,
        silent_periods: 0,
        decision_needed: "Accept a two-month delay, or fund the vendor's premium migration team (75k).",
    },
    DemoProject {
        name: "Enterprise data platform",
        sponsor: "Chief Financial Officer",
        objective: 2,
        manager: "manager2@example.com",
        cadence: Cadence::Monthly,
        phase: Phase::InDelivery,
        started_months_ago: 12,
        months_long: 24,
        budget_thousands: 2_000,
        story: Story::Recovering,
        forecast_percent: 102,
        silent_periods: 0,
        decision_needed: "",
    },
    DemoProject {
        name: "Management reporting rollout",
        sponsor: "Chief Financial Officer",
        objective: 2,
        manager: "manager@example.com",
        cadence: Cadence::Weekly,
        phase: Phase::InDelivery,
        started_months_ago: 6,
        months_long: 10,
        budget_thousands: 380,
        story: Story::Smooth,
        forecast_percent: 95,
        silent_periods: 5,
        decision_needed: "",
    },
    DemoProject {
        name: "Master-data clean-up",
        sponsor: "Chief Financial Officer",
        objective: 2,
        manager: "cio@example.com",
        cadence: Cadence::Monthly,
        phase: Phase::Closed,
        started_months_ago: 12,
        months_long: 8,
        budget_thousands: 250,
        story: Story::Smooth,
        forecast_percent: 96,
        silent_periods: 0,
        decision_needed: "",
    },
    DemoProject {
        name: "AI-assisted service desk pilot",
        sponsor: "Head of Customer Service",
        objective: 1,
        manager: "manager2@example.com",
        cadence: Cadence::Monthly,
        phase: Phase::Proposed,
        started_months_ago: -1,
        months_long: 6,
        budget_thousands: 0,
        story: Story::Smooth,
        forecast_percent: 100,
        silent_periods: 0,
        decision_needed: "",
    },
    DemoProject {
        name: "Branch network refresh",
        sponsor: "Chief Operating Officer",
        objective: 0,
        manager: "manager@example.com",
        cadence: Cadence::Monthly,
        phase: Phase::InDelivery,
        started_months_ago: 3,
        months_long: 9,
        budget_thousands: 900,
        story: Story::Smooth,
        forecast_percent: 100,
        silent_periods: 0,
        decision_needed: "",
    },
];

/// Loads the portfolio unless objectives exist already.
pub async fn load(pool: &PgPool) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    if !repo::list_objectives(&mut tx).await?.is_empty() {
        return Ok(());
    }
    let chair = users_repo::find_id_by_email(&mut tx, "chair@example.com")
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo accounts must exist first"))?;
    let mut objective_ids = Vec::new();
    for (title, description) in OBJECTIVES {
        let objective = repo::create_objective(&mut tx, title, description).await?;
        record(
            &mut tx,
            &Actor::account(chair, "chair@example.com"),
            "objective.created",
            "objective",
            &objective.reference,
            json!({ "title": title }),
        )
        .await?;
        objective_ids.push(objective.id);
    }
    for demo in PROJECTS {
        load_project(&mut tx, demo, objective_ids[demo.objective], chair).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    action: &str,
    entity_type: &str,
    entity_id: &str,
    after: serde_json::Value,
) -> sqlx::Result<i64> {
    audit::record(
        conn,
        actor,
        None,
        audit::Entry::new(action, entity_type, Some(entity_id.to_owned())).after(after),
    )
    .await
}

async fn load_project(
    conn: &mut PgConnection,
    demo: &DemoProject,
    objective_id: i64,
    chair: i64,
) -> anyhow::Result<()> {
    let today = today();
    let manager_id = users_repo::find_id_by_email(conn, demo.manager)
        .await?
        .ok_or_else(|| anyhow::anyhow!("missing demo manager {}", demo.manager))?;
    let manager = Actor::account(manager_id, demo.manager);
    let start = today - Duration::days(demo.started_months_ago * 30);
    let fields = ProjectFields {
        name: demo.name.to_owned(),
        description: format!("{} — sponsored by the {}.", demo.name, demo.sponsor),
        sponsor: demo.sponsor.to_owned(),
        manager_id,
        objective_id,
        start_date: start,
        planned_end_date: start + Duration::days(demo.months_long * 30),
        reporting_cadence: demo.cadence,
        phase: Phase::Proposed,
    };
    let id = repo::create_project(conn, &fields).await?;
    let reference = repo::get_project(conn, id)
        .await?
        .map(|p| p.reference)
        .unwrap_or_default();
    record(
        conn,
        &manager,
        "project.created",
        "project",
        &reference,
        json!({ "name": demo.name }),
    )
    .await?;
    if demo.phase == Phase::Proposed {
        return Ok(());
    }
    let budget = demo.budget_thousands * 100_000;
    repo::set_budget(
        conn,
        id,
        1,
        budget,
        "Business case approved at the board meeting.",
        chair,
    )
    .await?;
    record(
        conn,
        &Actor::account(chair, "chair@example.com"),
        "project.budget_set",
        "project",
        &reference,
        json!({ "approved_budget": budget }),
    )
    .await?;

    // Reports for every completed period since the start, bar the silent ones at the end.
    let mut periods = Vec::new();
    let mut period = Period::containing(demo.cadence, today).previous(demo.cadence);
    while period.start >= start {
        periods.push(period);
        period = period.previous(demo.cadence);
    }
    periods.reverse();
    let end_of_work = if demo.phase == Phase::Closed {
        periods.len().min(demo.months_long as usize)
    } else {
        periods.len().saturating_sub(demo.silent_periods as usize)
    };
    let planned_days = (fields.planned_end_date - start).whole_days().max(1) as f64;
    for (index, period) in periods.iter().take(end_of_work).enumerate() {
        let progress = if demo.phase == Phase::Closed {
            (index + 1) as f64 / end_of_work.max(1) as f64
        } else {
            ((period.end - start).whole_days() as f64 / planned_days).clamp(0.0, 1.0)
        };
        let rag = story_rag(demo.story, index, end_of_work);
        let is_latest = index + 1 == end_of_work;
        let forecast = budget
            * (100
                + (demo.forecast_percent - 100) * (index as i64 + 1) / end_of_work.max(1) as i64)
            / 100;
        // Whole currency units: nobody reports spend to the cent on a dashboard.
        let spend = (budget as f64 * progress * 0.95 / 100.0).round() as i64 * 100;
        let report = ReportFields {
            period_start: period.start,
            period_end: period.end,
            overall_rag: rag,
            schedule_rag: rag,
            budget_rag: if forecast > budget { Rag::Amber.max(rag) } else { Rag::Green },
            scope_rag: Rag::Green,
            rag_explanation: match rag {
                Rag::Green => String::new(),
                Rag::Amber => "Vendor deliveries are two weeks behind plan; recovery plan agreed with the supplier.".to_owned(),
                Rag::Red => "Critical path slipped: key integration failed acceptance testing. Escalated to the sponsor.".to_owned(),
            },
            percent_complete: (progress * 100.0).round() as i16,
            spend_to_date: spend,
            forecast_at_completion: forecast.max(spend),
            highlights: "Planned work for the period completed; stakeholders briefed.".to_owned(),
            issues: if rag == Rag::Green { String::new() } else { "See the RAG explanation.".to_owned() },
            decisions_needed: if is_latest { demo.decision_needed.to_owned() } else { String::new() },
            next_steps: "Continue with the next stage of the plan.".to_owned(),
            milestones: vec![
                Milestone { name: "Design signed off".to_owned(), planned_date: start + Duration::days(45), actual_date: (period.end >= start + Duration::days(50)).then_some(start + Duration::days(50)) },
                Milestone { name: "Go-live".to_owned(), planned_date: fields.planned_end_date - Duration::days(30), actual_date: None },
            ],
        };
        let report_id = repo::create_report(conn, id, manager_id, &report, None).await?;
        let submitted_at =
            OffsetDateTime::new_utc(period.end + Duration::days(1), Time::from_hms(16, 30, 0)?);
        repo::submit_at(conn, report_id, 1, Some(submitted_at)).await?;
        record(
            conn,
            &manager,
            "report.submitted",
            "status_report",
            &report_id.to_string(),
            json!({ "project": reference, "period_start": period.start, "overall_rag": rag }),
        )
        .await?;
    }
    if demo.phase != Phase::Approved {
        let version = repo::get_project(conn, id)
            .await?
            .map(|p| p.version)
            .unwrap_or(1);
        let mut fields = fields;
        fields.phase = Phase::InDelivery;
        repo::update_project(conn, id, version, &fields).await?;
        if demo.phase == Phase::Closed {
            fields.phase = Phase::Closed;
            repo::update_project(conn, id, version + 1, &fields).await?;
        }
        record(
            conn,
            &manager,
            "project.updated",
            "project",
            &reference,
            json!({ "phase": demo.phase }),
        )
        .await?;
    }
    Ok(())
}

/// The overall RAG of report `index` of `count` in a story.
fn story_rag(story: Story, index: usize, count: usize) -> Rag {
    let share = (index + 1) as f64 / count.max(1) as f64;
    match story {
        Story::Smooth => {
            if index % 9 == 4 {
                Rag::Amber
            } else {
                Rag::Green
            }
        }
        Story::Recovering => {
            if share < 0.35 {
                Rag::Green
            } else if share < 0.7 {
                Rag::Amber
            } else {
                Rag::Green
            }
        }
        Story::Slipping => {
            if share < 0.5 {
                Rag::Green
            } else {
                Rag::Amber
            }
        }
        Story::Troubled => {
            if share < 0.3 {
                Rag::Green
            } else if share < 0.6 {
                Rag::Amber
            } else {
                Rag::Red
            }
        }
    }
}
