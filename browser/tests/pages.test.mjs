// Every page each role reaches from its home, found by following links: no serious or
// critical axe-core violation, a focus ring on every focusable element, no error in the
// browser's console (a CSP refusal among them), and at a phone's width nothing wider
// than the screen.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  accessibilityViolations,
  accounts,
  crawl,
  elementsWithoutFocusRing,
  expectNone,
  horizontalOverflow,
  phone,
  screenshot,
  sharedBrowser,
  signedIn,
  visit,
} from "../lib/quorum.mjs";

/** Pages kept as screenshots (docs/screenshots), by role: path to file name. */
const screenshots = {
  board: { "/board/portfolio": "board-portfolio", "/board/risks": "board-risks", "/compliance": "compliance" },
  manager: { "/manage/risks": "manager-risks", "/manage/policies": "manager-policies" },
  auditor: {},
  admin: {},
};

/** Pages of one shape read per role, and a bound on one role's crawl. */
const PAGES_PER_SHAPE = 2;
const PAGES_PER_ROLE = 120;

const browser = sharedBrowser();

// The chair and the CIO see the pages of these roles (plus a button or two the journeys use).
const crawled = { board: accounts.board, manager: accounts.manager, auditor: accounts.auditor, admin: accounts.admin };

for (const [role, email] of Object.entries(crawled)) {
  test(`every page ${role} reaches is accessible, keyboard-usable and fits a phone`, async () => {
    const page = await signedIn(browser(), email);
    const phonePage = await signedIn(browser(), email, phone);
    const failures = [];
    const { read, shapes } = await crawl(page, { perShape: PAGES_PER_SHAPE, limit: PAGES_PER_ROLE }, async (url, response, count) => {
      if (!response.ok()) {
        failures.push(`${url.pathname}${url.search}: answered ${response.status()}`);
        return;
      }
      const name = screenshots[role][url.pathname];
      if (name && !url.search) {
        await screenshot(page, name);
      }
      failures.push(...(await accessibilityViolations(page)), ...(await elementsWithoutFocusRing(page)));

      // At a phone's width too: a table that scrolls there must be reachable by keyboard.
      await visit(phonePage, url);
      if (count === 1) {
        await screenshot(phonePage, `${role}-home-phone`);
      }
      failures.push(await horizontalOverflow(phonePage), ...(await accessibilityViolations(phonePage)));
    });
    failures.push(...page.problems, ...phonePage.problems);
    console.log(`${role}: ${read} pages of ${shapes} kinds read`);
    assert.ok(read >= 5, `${role} reached only ${read} pages`);
    expectNone(failures, `problems on the pages ${role} reaches`);
    await page.context().close();
    await phonePage.context().close();
  });
}
