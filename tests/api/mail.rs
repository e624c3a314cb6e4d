//! E-mail notifications, sent to a real SMTP server listening on loopback.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use quorum::users::Role;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::helpers::TestApp;

/// A received mail: its recipients and its raw content.
#[derive(Debug, Clone)]
struct Received {
    recipients: Vec<String>,
    data: String,
}

/// A minimal SMTP server: enough of RFC 5321 for a client to deliver plain mails.
async fn smtp_server() -> (u16, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let inbox = Arc::new(Mutex::new(Vec::new()));
    let store = inbox.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 localhost test SMTP\r\n").await.ok();
                let mut recipients = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let command = line.to_ascii_uppercase();
                    let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO")
                    {
                        b"250 localhost\r\n"
                    } else if command.starts_with("MAIL FROM") {
                        recipients.clear();
                        b"250 OK\r\n"
                    } else if command.starts_with("RCPT TO") {
                        recipients.push(line[8..].trim().trim_matches(['<', '>', ':']).to_owned());
                        b"250 OK\r\n"
                    } else if command == "DATA" {
                        write
                            .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                            .await
                            .ok();
                        let mut data = String::new();
                        while let Ok(Some(line)) = lines.next_line().await {
                            if line == "." {
                                break;
                            }
                            data.push_str(&line);
                            data.push('\n');
                        }
                        store.lock().unwrap().push(Received {
                            recipients: recipients.clone(),
                            data,
                        });
                        b"250 OK: queued\r\n"
                    } else if command == "QUIT" {
                        write.write_all(b"221 Bye\r\n").await.ok();
                        break;
                    } else {
                        b"250 OK\r\n"
                    };
                    if write.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (port, inbox)
}

async fn wait_for(
    inbox: &Arc<Mutex<Vec<Received>>>,
    what: impl Fn(&[Received]) -> bool,
) -> Vec<Received> {
    for _ in 0..100 {
        let mails = inbox.lock().unwrap().clone();
        if what(&mails) {
            return mails;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the expected e-mails did not arrive: {:?}",
        inbox.lock().unwrap()
    );
}

#[tokio::test]
async fn the_board_is_mailed_when_a_request_opens_changes_and_is_decided() {
    let (port, inbox) = smtp_server().await;
    let app = TestApp::spawn_with(|config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    })
    .await;
    let manager_id = app
        .create_user("manager@example.com", &[Role::ItManager])
        .await;
    let member = app.signed_in("member@example.com", &[Role::Board]).await;
    let member2 = app.signed_in("member2@example.com", &[Role::Board]).await;
    let seeded = app
        .seed_project(manager_id, app.user_id("member@example.com").await)
        .await;
    let manager = app.client();
    manager
        .login("manager@example.com", crate::helpers::PASSWORD)
        .await;

    let project = seeded.project_id.to_string();
    let year = quorum::common::dates::today().year().to_string();
    let due = (quorum::common::dates::today() + time::Duration::days(5)).to_string();
    let fields = |amount: &'static str, action: &'static str| {
        vec![
            ("title", "Second wave".to_owned()),
            ("project_id", project.clone()),
            ("amount", amount.to_owned()),
            ("spend_type", "opex".to_owned()),
            ("fiscal_year", year.clone()),
            ("due_date", due.clone()),
            ("benefits", "B".to_owned()),
            ("costs", "C".to_owned()),
            ("action", action.to_owned()),
        ]
    };
    let submit_fields = fields("1000", "submit");
    let submit: Vec<(&str, &str)> = submit_fields
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let response = manager.post_form("/manage/requests", &submit).await;
    let path = crate::helpers::location(response.headers());
    let id = path.rsplit('/').next().unwrap().to_owned();

    let mails = wait_for(&inbox, |mails| mails.len() >= 2).await;
    let asked: Vec<&str> = mails
        .iter()
        .flat_map(|m| m.recipients.iter().map(String::as_str))
        .collect();
    assert!(
        asked.contains(&"member@example.com") && asked.contains(&"member2@example.com"),
        "{asked:?}"
    );
    assert!(
        !asked.contains(&"manager@example.com"),
        "the requester does not vote"
    );
    assert!(mails[0].data.contains("Your vote: REQ-"));
    assert!(mails[0].data.contains(&format!("/board/requests/{id}")));

    // A vote, then a change: the voter is told to vote again.
    member
        .post_form(
            &format!("/board/requests/{id}/vote"),
            &[("choice", "approve")],
        )
        .await;
    let mut change = fields("2000", "save");
    change.push(("version", "2".to_owned()));
    let change: Vec<(&str, &str)> = change.iter().map(|(k, v)| (*k, v.as_str())).collect();
    manager.post_form(&path, &change).await;
    let mails = wait_for(&inbox, |mails| {
        mails.iter().any(|m| m.data.contains("Vote again"))
    })
    .await;
    let again = mails
        .iter()
        .find(|m| m.data.contains("Vote again"))
        .unwrap();
    assert_eq!(again.recipients, ["member@example.com"]);

    // Both approve: decided; the requester and the board hear it.
    member
        .post_form(
            &format!("/board/requests/{id}/vote"),
            &[("choice", "approve")],
        )
        .await;
    member2
        .post_form(
            &format!("/board/requests/{id}/vote"),
            &[("choice", "approve")],
        )
        .await;
    let mails = wait_for(&inbox, |mails| {
        mails.iter().filter(|m| m.data.contains("approved")).count() >= 3
    })
    .await;
    let told: Vec<&str> = mails
        .iter()
        .filter(|m| m.data.contains("approved"))
        .flat_map(|m| m.recipients.iter().map(String::as_str))
        .collect();
    assert!(told.contains(&"manager@example.com"), "{told:?}");
    // The sender marks a mail sent just after the server received it: wait for that.
    let mut pending: i64 = -1;
    for _ in 0..100 {
        pending = sqlx::query_scalar("SELECT count(*) FROM mail_outbox WHERE sent_at IS NULL")
            .fetch_one(&app.pool)
            .await
            .unwrap();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(pending, 0, "every queued mail was sent");
}

#[tokio::test]
async fn without_smtp_nothing_is_queued() {
    let app = TestApp::spawn().await;
    let manager_id = app
        .create_user("manager@example.com", &[Role::ItManager])
        .await;
    let member = app.signed_in("member@example.com", &[Role::Board]).await;
    let seeded = app
        .seed_project(manager_id, app.user_id("member@example.com").await)
        .await;
    let id = app.seed_request(seeded.project_id, manager_id, 5).await;
    member
        .post_form(
            &format!("/board/requests/{id}/vote"),
            &[("choice", "approve")],
        )
        .await;
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(queued, 0);
    let decided: i64 = sqlx::query_scalar("SELECT count(*) FROM decisions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(decided, 1, "the vote itself went through");
}
