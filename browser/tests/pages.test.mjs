// Every page each role reaches from its home, found by following links: no serious or
// critical axe-core violation, a focus ring on every focusable element, no error in the
// browser's console (a CSP refusal among them), and at a phone's width nothing wider
// than the screen.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  accessibilityViolations,
  accounts,
  baseUrl,
  elementsWithoutFocusRing,
  expectNone,
  horizontalOverflow,
  launch,
  phone,
  screenshot,
  signedIn,
} from "../lib/quorum.mjs";

/** Pages kept as screenshots (docs/screenshots), by role: path to file name. */
const screenshots = {
  board: { "/board/portfolio": "board-portfolio", "/board/risks": "board-risks", "/compliance": "compliance" },
  manager: { "/manage/risks": "manager-risks", "/manage/policies": "manager-policies" },
  auditor: {},
  admin: {},
};

/** Pages of one shape (the same path with other ids, the same filters) read per role. */
const PAGES_PER_SHAPE = 2;
/** A bound on one role's crawl, whatever links the pages grow. */
const PAGES_PER_ROLE = 120;

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** A path with its ids and references replaced, and only the names of its query's keys. */
function shape(url) {
  const path = url.pathname
    .split("/")
    .map((segment) => (/\d/.test(segment) ? ":id" : segment))
    .join("/");
  const keys = [...new Set(url.searchParams.keys())].sort().join("&");
  return keys ? `${path}?${keys}` : path;
}

/** Links a crawl should not follow: signing out, files, and downloads. */
function followable(url) {
  if (url.origin !== new URL(baseUrl).origin) {
    return false;
  }
  const path = url.pathname;
  return !(
    path.startsWith("/static/") ||
    path === "/logout" ||
    /\/(download|file|export)s?(\/|$)/.test(path) ||
    /\.(csv|xlsx|pdf|json)$/.test(path) ||
    url.searchParams.has("format")
  );
}

/** Opens a page; a link that answers with a file (evidence, say) is no page. */
async function visit(page, url) {
  try {
    return await page.goto(url.href);
  } catch (error) {
    if (error.message.includes("Download is starting")) {
      return "download";
    }
    throw error;
  }
}

async function linksOn(page) {
  const hrefs = await page.$$eval("a[href]:not([download])", (links) => links.map((link) => link.href));
  return hrefs.map((href) => new URL(href)).filter(followable);
}

// The chair and the CIO see the pages of these roles (plus a button or two the journeys use).
const crawled = { board: accounts.board, manager: accounts.manager, auditor: accounts.auditor, admin: accounts.admin };

for (const [role, email] of Object.entries(crawled)) {
  test(`every page ${role} reaches is accessible, keyboard-usable and fits a phone`, async () => {
    const page = await signedIn(browser, email);
    const phonePage = await signedIn(browser, email, phone);
    const seen = new Set();
    const perShape = new Map();
    const queue = [new URL("/", baseUrl)];
    const failures = [];
    let read = 0;
    while (queue.length > 0 && read < PAGES_PER_ROLE) {
      const url = queue.shift();
      url.hash = "";
      const key = url.pathname + url.search;
      const kind = shape(url);
      if (seen.has(key) || (perShape.get(kind) ?? 0) >= PAGES_PER_SHAPE) {
        continue;
      }
      seen.add(key);
      perShape.set(kind, (perShape.get(kind) ?? 0) + 1);
      read += 1;

      const response = await visit(page, url);
      if (response === "download") {
        continue;
      }
      if (!response.ok()) {
        failures.push(`${url.pathname}${url.search}: answered ${response.status()}`);
        continue;
      }
      const name = screenshots[role][url.pathname];
      if (name && !url.search) {
        await screenshot(page, name);
      }
      failures.push(...(await accessibilityViolations(page)), ...(await elementsWithoutFocusRing(page)));
      queue.push(...(await linksOn(page)));

      // At a phone's width too: a table that scrolls there must be reachable by keyboard.
      await visit(phonePage, url);
      if (read === 1) {
        await screenshot(phonePage, `${role}-home-phone`);
      }
      failures.push(await horizontalOverflow(phonePage), ...(await accessibilityViolations(phonePage)));
    }
    failures.push(...page.problems, ...phonePage.problems);
    console.log(`${role}: ${read} pages of ${perShape.size} kinds read`);
    assert.ok(read >= 5, `${role} reached only ${read} pages`);
    expectNone(failures, `problems on the pages ${role} reaches`);
    await page.context().close();
    await phonePage.context().close();
  });
}
