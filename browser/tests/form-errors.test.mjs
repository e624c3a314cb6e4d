// Every form a role reaches announces its errors: sent with its fields emptied, a form
// that is refused comes back with each message tied to its field (aria-describedby) and
// the focus on the first field in error, which a screen reader then reads. Forms are found
// by following links from each role's home, so a new form is covered without a change
// here. This file has a database of its own: some emptied forms are accepted.

import { test } from "node:test";
import { accounts, baseUrl, crawl, expectNone, pageShape, sharedBrowser, signedIn } from "../lib/quorum.mjs";

/** Pages of one shape read per role, and a bound on one role's crawl. */
const PAGES_PER_SHAPE = 1;
const PAGES_PER_ROLE = 80;

const browser = sharedBrowser();

/**
 * The forms of the page that change something, by their place among its forms. A passkey
 * form answers in the page without loading another (passkeys.js): the journeys test it.
 */
async function postForms(page) {
  return page.$$eval("main form", (forms) =>
    forms
      // Attributes, not properties: a field named "action" hides the form's property.
      .map((form, index) => ({
        index,
        action: new URL(form.getAttribute("action") ?? "", document.baseURI).pathname,
        method: (form.getAttribute("method") ?? "get").toLowerCase(),
        passkey: form.hasAttribute("data-passkey"),
      }))
      .filter((form) => form.method === "post" && !form.passkey),
  );
}

/**
 * Empties the form's text fields and sends it, as a hurried person would. False when the
 * page no longer has that form (an earlier one changed what it shows).
 */
async function sendEmptied(page, index) {
  const emptied = await page.$$eval(
    "main form",
    (forms, index) => {
      const form = forms[index];
      if (!form) {
        return false;
      }
      for (const field of form.querySelectorAll("input[type=text], input[type=email], input[type=number], input[type=date], input[type=search], input:not([type]), textarea")) {
        field.value = "";
      }
      return true;
    },
    index,
  );
  if (!emptied) {
    return false;
  }
  const loaded = page.waitForEvent("load");
  await page.$$eval("main form", (forms, index) => forms[index].requestSubmit(), index);
  await loaded;
  return true;
}

/** What the page with the form's errors fails to announce. */
async function unannouncedErrors(page, action) {
  return page.evaluate((action) => {
    const problems = [];
    const messages = [...document.querySelectorAll("main .field-error")];
    if (messages.length === 0) {
      return problems;
    }
    for (const message of messages) {
      const tied = message.id && document.querySelector(`[aria-describedby~="${message.id}"]`);
      if (!tied) {
        problems.push(`${action}: the message "${message.textContent.trim()}" is tied to no field`);
      }
    }
    const firstInvalid = document.querySelector("main [aria-invalid='true']");
    if (!firstInvalid) {
      problems.push(`${action}: no field is marked aria-invalid`);
    } else if (document.activeElement !== firstInvalid) {
      const focused = document.activeElement;
      problems.push(`${action}: the focus is on <${focused?.tagName.toLowerCase()} ${focused?.id ?? ""}>, not the first field in error (${firstInvalid.id || firstInvalid.name})`);
    }
    return problems;
  }, action);
}

const crawled = { board: accounts.board, manager: accounts.manager, admin: accounts.admin };

for (const [role, email] of Object.entries(crawled)) {
  test(`every form ${role} reaches announces its errors`, async () => {
    const page = await signedIn(browser(), email);
    const formsSent = new Set();
    const problems = [];
    let refused = 0;
    const { read } = await crawl(page, { perShape: PAGES_PER_SHAPE, limit: PAGES_PER_ROLE }, async (url) => {
      for (const form of await postForms(page)) {
        const formShape = pageShape(new URL(form.action, baseUrl));
        if (form.action === "/logout" || formsSent.has(formShape)) {
          continue;
        }
        formsSent.add(formShape);
        if (page.url() !== url.href) {
          await page.goto(url.href);
        }
        if (!(await sendEmptied(page, form.index))) {
          continue;
        }
        if ((await page.locator("main .field-error").count()) > 0) {
          refused += 1;
        }
        problems.push(...(await unannouncedErrors(page, `${form.action} (from ${url.pathname})`)));
      }
    });
    console.log(`${role}: ${formsSent.size} forms sent emptied from ${read} pages, ${refused} came back with messages`);
    expectNone([...problems, ...page.problems], `forms ${role} reaches that do not announce their errors`);
    await page.context().close();
  });
}
