//! Hostile input, sent as an outside tester would: every form and filter each role can
//! reach on the demo organisation, found by following the pages' links (a new form is
//! covered without editing this suite), submitted with malformed and hostile values.
//! Nothing may answer 5xx, no payload may come back as markup, and every POST route in the
//! route table must have been reached by some form.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use quorum::users::Role;
use reqwest::StatusCode;
use scraper::{ElementRef, Html, Selector};

use crate::helpers::{PASSWORD, TestApp, TestClient, location};
use crate::passkeys;
use crate::route_roles::ROUTES;

const SCRIPT: &str = "<script>alert('quorum')</script>";
const IMAGE: &str = "<img src=x onerror=alert(1)>";

/// Pages of one kind of address (its path with ids as `{n}` and its query's names) read
/// without meeting a new form before the crawl stops reading that kind: records in other
/// states show other forms, but the suite need not read every record.
const BARREN_PAGES_PER_SHAPE: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Date,
    Number,
    Hidden,
    Choice,
    Checkbox,
    File,
    Submit,
}

#[derive(Debug, Clone)]
struct Field {
    name: String,
    kind: Kind,
    /// What the page filled in (or the first real option of a choice).
    value: String,
}

#[derive(Debug, Clone)]
struct FoundForm {
    /// The page it was found on.
    page: String,
    action: String,
    post: bool,
    multipart: bool,
    fields: Vec<Field>,
}

impl FoundForm {
    fn shape(&self) -> String {
        let names: BTreeSet<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
        format!("{} {} {names:?}", self.post, path_shape(&self.action))
    }
}

/// A path with each numeric segment as `{n}`, and the names in its query.
fn path_shape(address: &str) -> String {
    let (path, query) = address.split_once('?').unwrap_or((address, ""));
    let segments: Vec<&str> = path
        .split('/')
        .map(|s| {
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
                "{n}"
            } else {
                s
            }
        })
        .collect();
    let names: BTreeSet<String> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, _)| k.into_owned())
        .collect();
    format!("{}?{names:?}", segments.join("/"))
}

fn selector(css: &str) -> Selector {
    Selector::parse(css).unwrap()
}

/// The same-site addresses a page links to, and its forms.
fn read_page(page: &str, html: &str) -> (Vec<String>, Vec<FoundForm>) {
    let document = Html::parse_document(html);
    let links = document
        .select(&selector("a[href]"))
        .filter_map(|a| a.value().attr("href"))
        .filter(|href| href.starts_with('/') && !href.starts_with("//"))
        .map(|href| href.split('#').next().unwrap().to_owned())
        .collect();
    let forms = document
        .select(&selector("form"))
        .flat_map(|form| {
            let found = read_form(page, form);
            // A passkey form's script first POSTs to its challenge route, with the form's
            // CSRF token.
            let challenge = form
                .value()
                .attr("data-passkey-challenge")
                .map(|route| FoundForm {
                    action: route.to_owned(),
                    fields: found
                        .fields
                        .iter()
                        .filter(|field| field.name == "csrf_token")
                        .cloned()
                        .collect(),
                    ..found.clone()
                });
            std::iter::once(found).chain(challenge)
        })
        .collect();
    (links, forms)
}

fn read_form(page: &str, form: ElementRef) -> FoundForm {
    let attr = |name| form.value().attr(name).unwrap_or("");
    let page_path = page.split('?').next().unwrap();
    let action = match attr("action") {
        "" => page_path.to_owned(),
        action => action.to_owned(),
    };
    let mut fields = Vec::new();
    let mut radios_seen = BTreeSet::new();
    for element in form.select(&selector(
        "input[name], select[name], textarea[name], button[name]",
    )) {
        let element_attr = |name| element.value().attr(name).unwrap_or("");
        let name = element_attr("name").to_owned();
        let value = element_attr("value").to_owned();
        let field = match element.value().name() {
            "textarea" => Field {
                name,
                kind: Kind::Text,
                value: element.text().collect(),
            },
            "select" => {
                let options: Vec<String> = element
                    .select(&selector("option"))
                    .map(|o| {
                        o.value()
                            .attr("value")
                            .map(str::to_owned)
                            .unwrap_or_else(|| o.text().collect())
                    })
                    .collect();
                let selected = element
                    .select(&selector("option[selected]"))
                    .next()
                    .and_then(|o| o.value().attr("value"))
                    .map(str::to_owned);
                let value = selected
                    .or_else(|| options.iter().find(|o| !o.is_empty()).cloned())
                    .unwrap_or_default();
                Field {
                    name,
                    kind: Kind::Choice,
                    value,
                }
            }
            "button" => Field {
                name,
                kind: Kind::Submit,
                value,
            },
            _ => match element_attr("type") {
                "hidden" => Field {
                    name,
                    kind: Kind::Hidden,
                    value,
                },
                "date" => Field {
                    name,
                    kind: Kind::Date,
                    value,
                },
                "number" => Field {
                    name,
                    kind: Kind::Number,
                    value,
                },
                "checkbox" => Field {
                    name,
                    kind: Kind::Checkbox,
                    value,
                },
                "radio" => {
                    if !radios_seen.insert(name.clone()) {
                        continue;
                    }
                    Field {
                        name,
                        kind: Kind::Choice,
                        value,
                    }
                }
                "file" => Field {
                    name,
                    kind: Kind::File,
                    value,
                },
                "submit" => Field {
                    name,
                    kind: Kind::Submit,
                    value,
                },
                _ => Field {
                    name,
                    kind: Kind::Text,
                    value,
                },
            },
        };
        fields.push(field);
    }
    // One submit button: the first named one.
    let mut seen_submit = false;
    fields.retain(|f| f.kind != Kind::Submit || !std::mem::replace(&mut seen_submit, true));
    FoundForm {
        page: page.to_owned(),
        action,
        post: attr("method").eq_ignore_ascii_case("post"),
        multipart: attr("enctype") == "multipart/form-data",
        fields,
    }
}

/// Follows `client`'s links from `start`; returns the pages read and the forms found on
/// them whose shape is not in `known` (which gains them).
async fn crawl(
    client: &TestClient,
    start: &str,
    known: &mut BTreeSet<String>,
) -> (Vec<String>, Vec<FoundForm>) {
    let mut queue = VecDeque::from([start.to_owned()]);
    let mut seen = BTreeSet::new();
    let mut barren: BTreeMap<String, usize> = BTreeMap::new();
    let mut pages = Vec::new();
    let mut forms = Vec::new();
    while let Some(address) = queue.pop_front() {
        if !seen.insert(address.clone()) || skipped(&address) {
            continue;
        }
        let barren = barren.entry(path_shape(&address)).or_default();
        if *barren >= BARREN_PAGES_PER_SHAPE {
            continue;
        }
        let response = client.get(&address).await;
        let status = response.status();
        assert!(!status.is_server_error(), "GET {address}: {status}");
        let is_html = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
        if status != StatusCode::OK || !is_html {
            *barren += 1;
            continue;
        }
        let body = response.text().await.unwrap();
        pages.push(address.clone());
        let (links, found) = read_page(&address, &body);
        queue.extend(links);
        let before = forms.len();
        forms.extend(found.into_iter().filter(|form| known.insert(form.shape())));
        if forms.len() == before {
            *barren += 1;
        }
    }
    (pages, forms)
}

/// Addresses the crawl leaves alone: files, signing out, and the documents that are
/// rendered (their size limits have tests of their own).
fn skipped(address: &str) -> bool {
    address.starts_with("/static/")
        || address == "/logout"
        || address.contains("pdf")
        || address.contains("xlsx")
}

/// One way of filling a form.
#[derive(Clone, Copy)]
enum Case {
    /// What a careful person would type: creates the drafts and records whose own forms
    /// the second round attacks.
    /// (Dates `days` from today: some forms take only past dates, others only future ones.)
    Valid { days: i64 },
    /// Every text field holds `text`; dates and numbers stay valid.
    Text(&'static str, fn() -> String),
    /// Every date field holds the value; the rest stays valid.
    Date(&'static str),
    /// Every number field (and every field whose name says amount) holds the value.
    Number(&'static str),
    /// Choices, hidden ids and checkboxes hold a value that is none of theirs.
    ForeignChoice(&'static str),
    /// Only the CSRF token.
    Missing,
    /// Every field twice, with different values.
    Repeated,
    /// A body that is not UTF-8.
    InvalidUtf8,
    /// The token of another session.
    ForgedToken,
    /// No token at all.
    NoToken,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Case::Text(name, _) => write!(f, "text: {name}"),
            Case::Date(date) => write!(f, "date {date}"),
            Case::Number(number) => write!(f, "number {number}"),
            Case::ForeignChoice(value) => write!(f, "choice {value}"),
            Case::Valid { days } => write!(f, "valid values, dates {days:+} days"),
            Case::Missing => f.write_str("missing fields"),
            Case::Repeated => f.write_str("repeated fields"),
            Case::InvalidUtf8 => f.write_str("invalid UTF-8"),
            Case::ForgedToken => f.write_str("forged CSRF token"),
            Case::NoToken => f.write_str("no CSRF token"),
        }
    }
}

fn cases() -> Vec<Case> {
    vec![
        Case::Valid { days: -20 },
        Case::Valid { days: 40 },
        Case::Text("NUL", || "before\0after".to_owned()),
        Case::Text("control characters", || {
            "bell\u{7} escape\u{1b}[31m del\u{7f} c1\u{85}".to_owned()
        }),
        Case::Text("bidirectional overrides", || {
            "\u{202e}gnp.exe\u{202c} \u{2066}x\u{2069}".to_owned()
        }),
        Case::Text("100 kB", || "x".repeat(100_000)),
        Case::Text("SQL", || "' OR '1'='1'; DROP TABLE users; --".to_owned()),
        Case::Text("markup", || {
            format!("{SCRIPT}{IMAGE}[link](javascript:alert(1))")
        }),
        Case::Text("Unicode", || "Zürich 東京 👩‍💻 Ŝ̷".to_owned()),
        Case::Text("empty", String::new),
        Case::Text("only spaces", || " \t \u{a0} ".to_owned()),
        Case::Date("9999-12-31"),
        Case::Date("0001-01-01"),
        Case::Date("2026-02-30"),
        Case::Date("+10000-01-01"),
        Case::Date("-0044-03-15"),
        Case::Date("31/12/2026"),
        Case::Number("-1"),
        Case::Number("0"),
        Case::Number("99999999999999999999"),
        Case::Number("1.5"),
        Case::Number("1e400"),
        Case::Number("NaN"),
        Case::Number("1,000,000,000,000,000.001"),
        Case::ForeignChoice("99999999999"),
        Case::ForeignChoice("-1"),
        Case::ForeignChoice("'; SELECT 1; --"),
        Case::Missing,
        Case::Repeated,
        Case::InvalidUtf8,
        Case::ForgedToken,
        Case::NoToken,
    ]
}

fn looks_like_money(name: &str) -> bool {
    ["amount", "budget", "cost", "spend", "forecast", "value"]
        .iter()
        .any(|word| name.contains(word))
}

/// The fields of `form` filled for `case` (the CSRF token as the page gave it).
fn fill(form: &FoundForm, case: Case) -> Vec<(String, String)> {
    let valid = |field: &Field| match field.kind {
        Kind::Text if field.value.is_empty() => {
            if field.name.contains("email") {
                "someone@example.com".to_owned()
            } else if looks_like_money(&field.name) {
                "1000".to_owned()
            } else {
                "Hostile test".to_owned()
            }
        }
        Kind::Date if field.value.is_empty() => {
            let days = match case {
                Case::Valid { days } => days,
                _ => 40,
            };
            (quorum::common::dates::today() + time::Duration::days(days)).to_string()
        }
        Kind::Number if field.value.is_empty() => "3".to_owned(),
        _ => field.value.clone(),
    };
    let mut filled = Vec::new();
    for field in &form.fields {
        if field.kind == Kind::File {
            continue;
        }
        let is_token = field.name == "csrf_token";
        let value = match case {
            _ if is_token => field.value.clone(),
            Case::Text(_, text) if field.kind == Kind::Text => text(),
            Case::Date(date) if field.kind == Kind::Date => date.to_owned(),
            Case::Number(number)
                if field.kind == Kind::Number
                    || (field.kind == Kind::Text && looks_like_money(&field.name)) =>
            {
                number.to_owned()
            }
            Case::ForeignChoice(value)
                if matches!(field.kind, Kind::Choice | Kind::Hidden | Kind::Checkbox) =>
            {
                value.to_owned()
            }
            Case::Missing => continue,
            _ => valid(field),
        };
        if let Case::Repeated = case {
            filled.push((field.name.clone(), value.clone()));
            filled.push((field.name.clone(), format!("{value}2")));
            continue;
        }
        filled.push((field.name.clone(), value));
    }
    match case {
        Case::ForgedToken => {
            for (name, value) in &mut filled {
                if name == "csrf_token" {
                    *value = "forged".repeat(8);
                }
            }
        }
        Case::NoToken => filled.retain(|(name, _)| name != "csrf_token"),
        _ => {}
    }
    filled
}

/// Sends `form` filled for `case`; an error when it could not be sent at all.
async fn submit(client: &TestClient, form: &FoundForm, case: Case) -> Result<Answer, String> {
    let fields = fill(form, case);
    let request = if !form.post {
        // Addresses stay within what browsers and proxies carry (about 8 kB).
        let fields: Vec<(String, String)> = fields
            .into_iter()
            .map(|(name, value)| (name, value.chars().take(2_000).collect()))
            .collect();
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&fields)
            .finish();
        let separator = if form.action.contains('?') { '&' } else { '?' };
        client
            .http
            .get(client.url(&format!("{}{separator}{query}", form.action)))
    } else if form.multipart {
        let mut multipart = reqwest::multipart::Form::new();
        for (name, value) in fields {
            multipart = multipart.text(name, value);
        }
        for field in form.fields.iter().filter(|f| f.kind == Kind::File) {
            let content = match case {
                Case::Text(_, text) => text().into_bytes(),
                _ => b"\xff\xfe\x00not,a,file\n".to_vec(),
            };
            let part = reqwest::multipart::Part::bytes(content)
                .file_name("../../etc/passwd\u{202e}vsc.csv");
            multipart = multipart.part(field.name.clone(), part);
        }
        client
            .http
            .post(client.url(&form.action))
            .multipart(multipart)
    } else {
        let mut body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&fields)
            .finish();
        if let Case::InvalidUtf8 = case {
            for field in form.fields.iter().filter(|f| f.kind == Kind::Text) {
                body.push_str(&format!("&{}=%FF%FE%C0%AF", field.name));
            }
            body = body.replace("=Hostile+test", "=%E2%28%A1");
        }
        client
            .http
            .post(client.url(&form.action))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    };
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => return Err(format!("not sent: {error:.200}")),
    };
    let status = response.status();
    let location = location(response.headers());
    let body = response.text().await.unwrap_or_default();
    Ok(Answer {
        status,
        location,
        body: body.chars().take(300).collect(),
    })
}

/// What a submission got back; the body's start for a failure report.
struct Answer {
    status: StatusCode,
    location: String,
    body: String,
}

/// A route table row's stand-in for an id: `{name}`, or a number it chose.
fn is_parameter(segment: &str) -> bool {
    segment.starts_with('{') || (!segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `address` (a path, perhaps with a query) is served by the route `pattern`.
fn route_matches(pattern: &str, address: &str) -> bool {
    let path = address.split('?').next().unwrap();
    let pattern: Vec<&str> = pattern.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    pattern.len() == path.len()
        && pattern
            .iter()
            .zip(&path)
            .all(|(p, s)| p == s || is_parameter(p) && !s.is_empty())
}

struct Tally {
    requests: usize,
    failures: Vec<String>,
    posted: BTreeSet<String>,
    pages: BTreeSet<String>,
}

/// Signs in afresh; the sign-in throttle is emptied first (wrong current passwords sent to
/// the password form count against the test's one address).
async fn signed_in(app: &TestApp, email: &str) -> TestClient {
    sqlx::query("DELETE FROM login_throttle")
        .execute(&mut app.owner_connection().await)
        .await
        .unwrap();
    let client = app.client();
    let response = client.login(email, PASSWORD).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "sign-in of {email}"
    );
    client
}

/// Crawls as `email` and sends every case to every form found; then once more, for the
/// forms of what the first round created (drafts and the like).
async fn attack_as(app: &TestApp, email: &str, tally: &mut Tally) {
    // Signed in on a second device too, so "Your account" offers to end that session.
    let _other_device = signed_in(app, email).await;
    let mut client = signed_in(app, email).await;
    let home = match location(client.get("/").await.headers()) {
        home if home.starts_with('/') => home,
        _ => "/".to_owned(),
    };
    let mut known = BTreeSet::new();
    for _round in 0..2 {
        let (pages, forms) = crawl(&client, &home, &mut known).await;
        tally.requests += pages.len();
        tally.pages.extend(pages);
        client = attack_forms(app, email, client, &forms, tally).await;
    }
}

/// Sends every case to `forms` as `email`; returns the client, signed in again if a change
/// ended its session.
async fn attack_forms(
    app: &TestApp,
    email: &str,
    mut client: TestClient,
    forms: &[FoundForm],
    tally: &mut Tally,
) -> TestClient {
    for form in forms.iter().filter(|f| f.action != "/logout") {
        if form.post {
            tally.posted.insert(form.action.clone());
        }
        for case in cases() {
            tally.requests += 1;
            let Answer {
                status,
                location,
                body,
            } = match submit(&client, form, case).await {
                Ok(answer) => answer,
                Err(error) => {
                    tally
                        .failures
                        .push(format!("{email}: {} with {case:?}: {error}", form.action));
                    continue;
                }
            };
            if status.is_server_error() {
                tally.failures.push(format!(
                    "{email}: {} {} (from {}) with {case:?}: {status}\n{body}",
                    if form.post { "POST" } else { "GET" },
                    form.action,
                    form.page
                ));
            }
            let has_date = form.fields.iter().any(|f| f.kind == Kind::Date);
            if form.post
                && has_date
                && matches!(case, Case::Date("9999-12-31" | "0001-01-01"))
                && !status.is_client_error()
            {
                tally.failures.push(format!(
                    "{email}: POST {} took {case:?} ({status}), outside the calendar Quorum keeps",
                    form.action
                ));
            }
            if form.post
                && matches!(case, Case::ForgedToken | Case::NoToken)
                && status != StatusCode::FORBIDDEN
            {
                tally.failures.push(format!(
                    "{email}: POST {} with {case:?} answered {status}, not 403",
                    form.action
                ));
            }
            // A change may end the session (a password changed): sign in again.
            if location.starts_with("/login") {
                client = signed_in(app, email).await;
            }
        }
    }
    client
}

#[tokio::test]
async fn every_form_and_filter_survives_hostile_input_from_every_role() {
    // A single sign-on provider that does not answer: its button is a form too.
    let app = TestApp::spawn_with(|config| {
        config.sso_providers = vec![quorum::auth::sso::ProviderConfig {
            id: "corp".to_owned(),
            issuer: "http://127.0.0.1:9".to_owned(),
            client_id: "quorum".to_owned(),
            client_secret: "secret".to_owned(),
            label: "Sign in with Corp".to_owned(),
        }];
    })
    .await;
    app.load_demo().await;
    // Every change a form makes must be audited (the read cache relies on it).
    app.require_audited_changes().await;
    let mut tally = Tally {
        requests: 0,
        failures: Vec::new(),
        posted: BTreeSet::new(),
        pages: BTreeSet::new(),
    };
    // The administrator last: deactivating accounts must not cut the others' crawls short.
    for email in [
        "manager@example.com",
        "chair@example.com",
        "cio@example.com",
        "auditor@example.com",
        "admin@example.com",
    ] {
        attack_as(&app, email, &mut tally).await;
    }
    // The forms of an account with a passkey and an authenticator app, and its second
    // sign-in step.
    let client = app.signed_in("two.step@example.com", &[Role::Board]).await;
    let response =
        passkeys::add_passkey(&app, &client, &mut passkeys::authenticator(), "Laptop").await;
    assert_eq!(response.status(), StatusCode::OK);
    sqlx::query(
        "INSERT INTO totp_authenticators (user_id, secret, confirmed_at)
         SELECT id, decode(repeat('07', 20), 'hex'), now() FROM users
         WHERE email = 'two.step@example.com'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    // And a notice about it in the inbox, to dismiss.
    sqlx::query(
        "INSERT INTO account_notices (user_id, kind, detail)
         SELECT id, 'new_device', 'Firefox on Linux' FROM users
         WHERE email = 'two.step@example.com'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let (pages, forms) = crawl(&client, "/account/two-step", &mut BTreeSet::new()).await;
    tally.requests += pages.len();
    tally.pages.extend(pages);
    attack_forms(&app, "two.step@example.com", client, &forms, &mut tally).await;
    // (Wrong codes for new recovery codes are throttled: start the sign-in afresh.)
    sqlx::query("DELETE FROM login_throttle")
        .execute(&mut app.owner_connection().await)
        .await
        .unwrap();
    let halfway = app.client();
    let response = halfway.login("two.step@example.com", PASSWORD).await;
    assert!(location(response.headers()).starts_with("/login/verify"));
    let (_, forms) = crawl(&halfway, "/login/verify", &mut BTreeSet::new()).await;
    attack_forms(&app, "two.step@example.com", halfway, &forms, &mut tally).await;
    // An account with passkeys only (its recovery codes are renewed with one).
    let email = "passkey.only@example.com";
    let client = app.signed_in(email, &[Role::ItManager]).await;
    passkeys::add_passkey(&app, &client, &mut passkeys::authenticator(), "Laptop").await;
    let (pages, forms) = crawl(&client, "/account/two-step", &mut BTreeSet::new()).await;
    tally.requests += pages.len();
    tally.pages.extend(pages);
    attack_forms(&app, email, client, &forms, &mut tally).await;

    // The sign-in forms, anonymous (their failures are throttled, so they go last), with
    // a passkey alone allowed (the administrator's crawl may have turned it off).
    sqlx::query("UPDATE sign_in_policy SET passkey_without_password = true")
        .execute(&mut app.owner_connection().await)
        .await
        .unwrap();
    let anonymous = app.client();
    let (_, forms) = crawl(&anonymous, "/login", &mut BTreeSet::new()).await;
    for form in &forms {
        tally.posted.insert(form.action.clone());
        for case in cases() {
            tally.requests += 1;
            match submit(&anonymous, form, case).await {
                Ok(Answer { status, body, .. }) if status.is_server_error() => tally.failures.push(
                    format!("anonymous: {} with {case:?}: {status}\n{body}", form.action),
                ),
                Ok(_) => {}
                Err(error) => tally
                    .failures
                    .push(format!("anonymous: {} with {case:?}: {error}", form.action)),
            }
        }
    }

    // No payload comes back as markup, on any page read before (read by new accounts: the
    // administrator's forms may have changed the demo accounts' passwords).
    sqlx::query("DELETE FROM login_throttle")
        .execute(&mut app.owner_connection().await)
        .await
        .unwrap();
    let readers = [
        app.signed_in("after-board@example.com", &[Role::Board])
            .await,
        app.signed_in("after-manager@example.com", &[Role::ItManager])
            .await,
        app.signed_in("after-auditor@example.com", &[Role::Auditor])
            .await,
        app.signed_in("after-admin@example.com", &[Role::Admin])
            .await,
    ];
    for page in &tally.pages {
        for client in &readers {
            let (status, body) = client.page(page).await;
            tally.requests += 1;
            if status.is_server_error() {
                tally
                    .failures
                    .push(format!("GET {page} afterwards: {status}"));
            }
            for payload in [SCRIPT, IMAGE, "href=\"javascript:"] {
                if body.contains(payload) {
                    tally
                        .failures
                        .push(format!("GET {page} shows {payload} as markup"));
                }
            }
        }
    }

    // Every POST route of the route table was reached by a form the crawl found.
    let unreached: Vec<&str> = ROUTES
        .iter()
        .filter(|(method, _, _)| *method == "POST")
        .map(|(_, pattern, _)| *pattern)
        .filter(|pattern| *pattern != "/logout")
        .filter(|pattern| {
            !tally
                .posted
                .iter()
                .any(|action| route_matches(pattern, action))
        })
        .collect();
    eprintln!(
        "hostile input: {} requests, {} forms' routes, {} failures",
        tally.requests,
        tally.posted.len(),
        tally.failures.len()
    );
    assert!(
        tally.failures.is_empty(),
        "{} failures:\n{}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
    assert!(unreached.is_empty(), "no form found for POST {unreached:?}");
}
