// The journeys Quorum's people make every week, each done by keyboard alone (Tab, Enter,
// Space, arrows and typing; every element passed shows a focus ring), with screenshots of
// the pages they see.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import {
  accessibilityViolations,
  accounts,
  addVirtualAuthenticator,
  chooseOption,
  chooseRadio,
  expectFocused,
  expectNone,
  expectNoProblems,
  namedUrl,
  openPage,
  press,
  screenshot,
  sharedBrowser,
  signedIn,
  signIn,
  submitByEnter,
  tabTo,
  tick,
  totpCode,
  typeInto,
} from "../lib/quorum.mjs";

const browser = sharedBrowser();

/** The flash message the last action left at the top of the page. */
async function flash(page) {
  return (await page.locator("main [role=status], main [role=alert]").first().textContent()).trim();
}

/** From anywhere, follows a link of the navigation (the main one, or the area's). */
async function navigate(page, label) {
  await press(page, page.getByRole("navigation").getByRole("link", { name: label, exact: true }).first());
}

/** On a request's page, a board member's vote with its comment. */
async function castVote(page, choice, comment) {
  await chooseRadio(page, "Your decision", choice);
  await typeInto(page, page.getByLabel("Comment (recorded with your vote)"), comment);
  await press(page, page.getByRole("button", { name: "Cast vote" }));
}

/** A board member opens a request from their requests list and votes on it. */
async function vote(page, title, choice, comment) {
  await navigate(page, "Requests");
  await press(page, page.getByRole("link", { name: title }).first());
  await castVote(page, choice, comment);
}

test("a board member reads a budget request, approves it with a comment, and finds the decision in the log", async () => {
  const page = await signedIn(browser(), accounts.board);
  await screenshot(page, "board-home");
  const title = "Vendor premium migration team";
  await navigate(page, "Requests");
  await screenshot(page, "board-requests");
  await press(page, page.getByRole("link", { name: title }).first());
  await assert.doesNotReject(page.getByRole("heading", { level: 1, name: title }).waitFor());
  await screenshot(page, "board-request");

  await castVote(page, "Approve", "The migration pays for itself within the year.");
  assert.match(await flash(page), /approved/i);

  // Two of the three members who may vote approved: the request is decided, and the
  // resolution is in the decision log with the comment.
  await navigate(page, "Decisions");
  await press(page, page.getByRole("row").filter({ hasText: title }).getByRole("link").first());
  const resolution = await page.locator("main").textContent();
  assert.match(resolution, /Approved/);
  assert.match(resolution, /pays for itself within the year/);
  await screenshot(page, "decision");
  expectNoProblems(page);
  await page.context().close();
});

test("an IT manager's status report with a mistake keeps what was typed, says what is wrong next to the field, then goes to the board", async () => {
  const page = await signedIn(browser(), accounts.manager);
  await screenshot(page, "manager-home");
  await press(page, page.locator("#due-now a").first());
  const form = page.locator("form.report-form");
  await typeInto(page, page.getByLabel("Percent complete"), "45");
  await chooseRadio(page, "Overall", "Amber");
  await chooseRadio(page, "Schedule", "Amber");
  await chooseRadio(page, "Budget", "Green");
  await chooseRadio(page, "Scope", "Green");
  // Amber needs an explanation: the one carried over from the last report is taken out.
  await typeInto(page, page.getByLabel("Why amber or red, and what is being done"), "");
  await typeInto(page, page.getByLabel("Spent to date"), "120000");
  await typeInto(page, page.getByLabel("Forecast at completion"), "480000");
  await typeInto(page, page.getByLabel("Highlights"), "Cut-over rehearsal passed.");
  await press(page, form.getByRole("button", { name: "Submit to the board" }));

  // The page says so at the top, puts the focus on the field in error, whose message is
  // tied to it, and keeps everything typed.
  assert.match(await flash(page), /could not be saved/);
  await expectFocused(page, "#rag_explanation");
  const explanation = page.getByLabel("Why amber or red, and what is being done");
  assert.equal(await explanation.getAttribute("aria-invalid"), "true");
  const message = page.locator(`#${await explanation.getAttribute("aria-describedby")}`);
  assert.match(await message.textContent(), /amber or red/i);
  assert.equal(await page.getByLabel("Percent complete").inputValue(), "45");
  assert.equal(await page.getByLabel("Highlights").inputValue(), "Cut-over rehearsal passed.");
  assert.ok(await page.getByRole("group", { name: "Schedule", exact: true }).getByRole("radio", { name: "Amber" }).isChecked());
  await screenshot(page, "report-with-error");

  // The focus is already in the field: type the explanation and send again.
  await page.keyboard.type("The vendor's migration tooling slipped two weeks; a second team starts Monday.");
  await press(page, form.getByRole("button", { name: "Submit to the board" }));
  assert.match(await flash(page), /submitted/i);
  const report = await page.locator("main").textContent();
  assert.match(report, /second team starts Monday/);
  assert.match(report, /Cut-over rehearsal passed/);
  expectNoProblems(page);
  await page.context().close();
});

test("an IT manager drafts a policy, the board approves its publication, the manager publishes it", async () => {
  const title = "Remote Access Standard";
  const manager = await signedIn(browser(), accounts.manager);
  await press(manager, manager.getByRole("main").getByRole("link", { name: "Policies", exact: true }));
  await press(manager, manager.getByRole("link", { name: "Write a policy" }));
  await typeInto(manager, manager.getByLabel("Title"), title);
  await typeInto(manager, manager.getByLabel("Scope (who and what it applies to)"), "Everyone who reaches company systems from outside the office.");
  await typeInto(manager, manager.getByLabel("Policy (Markdown)"), "## Rules\n\n- Connect through the company VPN only.\n- Use multi-factor authentication.");
  await typeInto(manager, manager.getByLabel("What changed in this version"), "First version.");
  await chooseOption(manager, manager.getByLabel("Category"), "Access control");
  await typeInto(manager, manager.getByLabel("Owner"), accounts.manager);
  await typeInto(manager, manager.getByLabel("Review every (months)"), "12");
  await press(manager, manager.getByRole("button", { name: "Save as draft version 1" }));
  await press(manager, manager.getByRole("button", { name: "Send version 1 to the board" }));
  assert.deepEqual(manager.dialogs, ["Send version 1 to the board?"]);
  const reference = (await manager.locator("h1").textContent()).match(/POL-\d+/)[0];

  // Three of the four board members who may decide approve: the outcome is certain.
  for (const member of [accounts.chair, accounts.board, "board2@example.com"]) {
    const page = await signedIn(browser(), member);
    await vote(page, `Publish ${reference} version 1`, "Approve", "Clear and proportionate.");
    expectNoProblems(page);
    await page.context().close();
  }

  // Back to the policy, from the register.
  await press(manager, manager.getByRole("main").getByRole("link", { name: "Policies", exact: true }).first());
  await press(manager, manager.getByRole("link", { name: reference, exact: true }));
  await press(manager, manager.getByRole("button", { name: "Publish version 1" }));
  const policy = await manager.locator("main").textContent();
  assert.match(policy, /Version 1, in force/);
  await screenshot(manager, "policy-published");
  expectNoProblems(manager);
  await manager.context().close();
});

test("an auditor filters the trail, verifies the chain and exports the compliance report in three formats, each found by its hash", async () => {
  const page = await signedIn(browser(), accounts.auditor);
  await screenshot(page, "auditor-home");
  await press(page, page.getByRole("link", { name: "Browse the trail" }));
  await typeInto(page, page.getByLabel("Action"), "vote.cast");
  await press(page, page.getByRole("button", { name: "Apply" }));
  assert.match(page.url(), /action=vote.cast/);
  const actions = await page.locator("main table tbody tr").allTextContents();
  assert.ok(actions.length > 0, "the filter found no vote");
  assert.ok(actions.every((row) => row.includes("vote.cast")), "the filter let other actions through");
  await screenshot(page, "audit-trail");

  await press(page, page.getByRole("link", { name: "Audit", exact: true }).first());
  await press(page, page.getByRole("link", { name: "Verify the whole chain" }));
  assert.match(await page.locator(".verdict").textContent(), /Intact/);

  for (const [format, extension] of [["CSV", "csv"], ["Excel (XLSX)", "xlsx"], ["PDF", "pdf"]]) {
    await press(page, page.getByRole("link", { name: "Audit", exact: true }).first());
    await press(page, page.getByRole("link", { name: "Exports", exact: true }));
    const form = page.locator("form[action='/audit/exports/compliance']");
    await chooseOption(page, form.getByLabel("Format"), format);
    await tabTo(page, form.getByRole("button", { name: "Export" }));
    const downloading = page.waitForEvent("download");
    await page.keyboard.press("Enter");
    const download = await downloading;
    assert.match(download.suggestedFilename(), new RegExp(`\\.${extension}$`));
    const file = await readFile(await download.path());
    assert.ok(file.length > 100, `the ${format} file is empty`);
    const sha256 = createHash("sha256").update(file).digest("hex");

    await typeInto(page, page.getByLabel("SHA-256 of a file"), sha256);
    await press(page, page.getByRole("button", { name: "Look up" }));
    const found = await page.locator("main").textContent();
    assert.ok(found.includes(sha256), `the ${format} file's hash is not on the exports page`);
    assert.ok(!found.includes("Quorum generated no file with this hash"));
  }
  await screenshot(page, "audit-exports");
  expectNoProblems(page);
  await page.context().close();
});

test("an administrator creates an account with two roles", async () => {
  const page = await signedIn(browser(), accounts.admin);
  await press(page, page.getByRole("link", { name: "New account" }));
  await typeInto(page, page.getByLabel("E-mail address"), "ines.ferreira@example.com");
  await typeInto(page, page.getByLabel("Name"), "Inês Ferreira");
  await typeInto(page, page.getByLabel("Initial password"), "copper meadow orbit 42");
  const roles = page.getByRole("group", { name: "Roles" });
  await tick(page, roles.getByRole("checkbox", { name: "Board" }));
  await tick(page, roles.getByRole("checkbox", { name: "Auditor" }));
  await press(page, page.getByRole("button", { name: "Create account" }));
  assert.match(await flash(page), /account for ines.ferreira@example.com has been created/);
  const granted = page.getByRole("group", { name: "Roles" });
  assert.ok(await granted.getByRole("checkbox", { name: "Board" }).isChecked());
  assert.ok(await granted.getByRole("checkbox", { name: "Auditor" }).isChecked());
  assert.ok(!(await granted.getByRole("checkbox", { name: "IT manager" }).isChecked()));

  await press(page, page.getByRole("link", { name: "Accounts", exact: true }).first());
  const roleText = await page.getByRole("row").filter({ hasText: "Inês Ferreira" }).textContent();
  assert.match(roleText, /Board/);
  assert.match(roleText, /Auditor/);
  await screenshot(page, "admin-accounts");
  expectNoProblems(page);
  await page.context().close();

  // The new account signs in with what the administrator gave it.
  const newcomer = await openPage(browser());
  await signIn(newcomer, "ines.ferreira@example.com", "copper meadow orbit 42");
  await newcomer.context().close();
});

test("a field naming several projects suggests the one being typed and keeps those before it", async () => {
  const page = await signedIn(browser(), accounts.manager);
  await press(page, page.getByRole("main").getByRole("link", { name: "Risk register" }));
  await press(page, page.getByRole("link", { name: "Record a risk" }));
  await typeInto(page, page.getByLabel("Projects it touches"), "PRJ-0001, secur");
  const suggestion = page.locator("#projects-suggestions option").first();
  await suggestion.waitFor({ state: "attached" });
  assert.equal(await suggestion.getAttribute("value"), "PRJ-0001, PRJ-0004");
  assert.match(await suggestion.textContent(), /Security operations centre/);
  expectNoProblems(page);
  await page.context().close();
});

test("an IT manager sets up two-step sign-in with an authenticator app, then signs in with its code", async () => {
  const email = "manager2@example.com";
  const page = await signedIn(browser(), email);
  await press(page, page.getByRole("link", { name: "Your account" }));
  await press(page, page.getByRole("link", { name: "Set up two-step sign-in" }));
  await press(page, page.getByRole("button", { name: "Set up an authenticator app" }));
  // No phone to scan with here: the key typed by hand instead, as the page offers.
  assert.ok(await page.getByRole("img", { name: /QR code/ }).isVisible());
  expectNone(await accessibilityViolations(page), "accessibility of the set-up page");
  const key = (await page.locator(".secret-key").textContent()).trim();
  const confirmedAt = Date.now();
  await typeInto(page, page.getByLabel("Code from the app"), totpCode(key, confirmedAt));
  await press(page, page.getByRole("button", { name: "Confirm" }));
  const codes = await page.getByRole("list", { name: "Recovery codes" }).getByRole("listitem").allTextContents();
  assert.equal(codes.length, 10);
  expectNone(await accessibilityViolations(page), "accessibility of the recovery codes");
  await screenshot(page, "two-step-recovery-codes");
  await press(page, page.getByRole("link", { name: "I have kept them" }));
  assert.match(await page.locator("main").textContent(), /10 of your recovery codes are left/);
  await press(page, page.getByRole("button", { name: "Sign out" }));
  expectNoProblems(page);

  // Next time the password leads to the code (the next one: each code works once).
  await signIn(page, email, undefined, { key, time: confirmedAt + 30_000 });
  await press(page, page.getByRole("link", { name: "Your account" }));
  assert.match(await page.locator("main").textContent(), /Password and authenticator code/);
  expectNoProblems(page);
  await page.context().close();
});

test("the CIO adds a passkey, then signs in with the password and the passkey, then with the passkey alone", async () => {
  const email = "cio@example.com";
  // At the server's name (a passkey is bound to it), with a fingerprint reader of sorts.
  const page = await openPage(browser(), undefined, namedUrl);
  await addVirtualAuthenticator(page);
  await signIn(page, email);
  await press(page, page.getByRole("link", { name: "Your account" }));
  await press(page, page.getByRole("link", { name: "Set up two-step sign-in" }));
  await typeInto(page, page.getByLabel("Name", { exact: true }), "This laptop");
  await press(page, page.getByRole("button", { name: "Add a passkey" }));
  // The first second factor comes with recovery codes.
  const codes = await page.getByRole("list", { name: "Recovery codes" }).getByRole("listitem").allTextContents();
  assert.equal(codes.length, 10);
  await press(page, page.getByRole("link", { name: "I have kept them" }));
  assert.match(await page.getByRole("table", { name: "Your passkeys" }).textContent(), /This laptop/);
  expectNone(await accessibilityViolations(page), "accessibility of the two-step page with a passkey");
  await screenshot(page, "two-step-passkeys");
  await press(page, page.getByRole("button", { name: "Sign out" }));

  // The password, then the passkey.
  await page.goto("/login");
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await page.keyboard.type(process.env.QUORUM_PASSWORD);
  await submitByEnter(page);
  assert.equal(new URL(page.url()).pathname, "/login/verify");
  expectNone(await accessibilityViolations(page), "accessibility of the second step with a passkey");
  await press(page, page.getByRole("button", { name: "Use a passkey" }));
  await press(page, page.getByRole("link", { name: "Your account" }));
  assert.match(await page.locator("main").textContent(), /Password and passkey/);
  await press(page, page.getByRole("button", { name: "Sign out" }));

  // The demo organisation allows a passkey alone: no e-mail address, no password.
  await page.goto("/login");
  await press(page, page.getByRole("button", { name: "Sign in with a passkey" }));
  await press(page, page.getByRole("link", { name: "Your account" }));
  const sessions = await page.getByRole("table", { name: /Sessions/ }).textContent();
  assert.match(sessions, /Passkey/);
  expectNoProblems(page);
  await page.context().close();
});
