// What every browser test needs: the server under test, a Chromium, signing in, driving a
// page by keyboard, and the checks every page must pass (accessibility, phone width).
// tests/browser.rs starts Quorum on a fresh database with the demo organisation and runs
// these tests with QUORUM_URL, QUORUM_PASSWORD, QUORUM_CHROMIUM and QUORUM_ARTIFACTS set.

import { createHmac } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import assert from "node:assert/strict";
import { after, before } from "node:test";
import { chromium } from "playwright-core";

export const baseUrl = required("QUORUM_URL");
/** The same server by name: passkeys (WebAuthn) need a domain name, never an IP address. */
export const namedUrl = baseUrl.replace("://127.0.0.1:", "://localhost:");
export const password = required("QUORUM_PASSWORD");
/** Where screenshots go (docs/screenshots when refreshing the set kept in the repository). */
export const artifacts = process.env.QUORUM_ARTIFACTS ?? path.join(import.meta.dirname, "../../target/browser");
/** Where printed PDFs go, to look at: never into the repository. */
export const printouts = path.join(import.meta.dirname, "../../target/browser/print");
mkdirSync(artifacts, { recursive: true });
mkdirSync(printouts, { recursive: true });

/** The demo accounts, by what they do. */
export const accounts = {
  chair: "chair@example.com",
  board: "board@example.com",
  manager: "manager@example.com",
  auditor: "auditor@example.com",
  admin: "admin@example.com",
};

export const desktop = { width: 1280, height: 900 };
export const phone = { width: 390, height: 844 };

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: these tests are run by \`cargo test --test browser\``);
  }
  return value;
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/**
 * Debian's Chromium, headless. Without the background-networking flags it keeps trying to
 * reach Google's hosts, which a closed network refuses.
 */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.QUORUM_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** One Chromium for a test file: launched before its tests, closed after them. */
export function sharedBrowser() {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });
  return () => browser;
}

/**
 * A new browser context (its own cookies) with one page on it. Every message the page
 * logs as an error (a script error, a style or script refused by the CSP) is collected in
 * `page.problems`, which `expectNoProblems` checks.
 */
export async function openPage(browser, viewport = desktop, base = baseUrl) {
  const context = await browser.newContext({ viewport, acceptDownloads: true, baseURL: base });
  const page = await context.newPage();
  page.problems = [];
  page.on("console", (message) => {
    // A form sent back with its errors is answered 4xx, which Chromium logs too.
    const refusedForm = /status of 4\d\d/.test(message.text());
    if (message.type() === "error" && !refusedForm) {
      page.problems.push(`${page.url()}: ${message.text()}`);
    }
  });
  page.on("pageerror", (error) => page.problems.push(`${page.url()}: ${error.message}`));
  // A form that asks "are you sure?" (data-confirm) is answered yes, as with Enter.
  page.dialogs = [];
  page.on("dialog", async (dialog) => {
    page.dialogs.push(dialog.message());
    await dialog.accept();
  });
  return page;
}

export function expectNoProblems(page) {
  assert.deepEqual(page.problems, [], "the browser reported errors (a script, or the CSP refusing something)");
}

/**
 * Signs in through the form, by keyboard (a demo account, unless told the password). An
 * account with an authenticator app is asked for its code next: `twoStep` holds the key
 * (the demo member's by default) and the moment whose code to type.
 */
export async function signIn(page, email, secret = password, twoStep = {}) {
  await page.goto("/login");
  // The e-mail field has autofocus.
  await expectFocused(page, "#email");
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await page.keyboard.type(secret);
  await submitByEnter(page);
  if (new URL(page.url()).pathname === "/login/verify") {
    // The code field has the focus.
    await expectFocused(page, "#code");
    expectNone(await accessibilityViolations(page), "accessibility of the second step");
    const key = twoStep.key ?? process.env.QUORUM_TWO_STEP_KEY;
    await page.keyboard.type(totpCode(key, twoStep.time ?? Date.now()));
    await submitByEnter(page);
  }
  assert.ok(!new URL(page.url()).pathname.startsWith("/login"), `${email} could not sign in`);
}

/**
 * A passkey authenticator built into the page's browser (Chromium's virtual one, through
 * the DevTools protocol): it keeps discoverable passkeys and verifies its user (as a
 * fingerprint would) without being asked.
 */
export async function addVirtualAuthenticator(page) {
  const devtools = await page.context().newCDPSession(page);
  await devtools.send("WebAuthn.enable");
  await devtools.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
}

export async function submitByEnter(page) {
  const loaded = page.waitForEvent("load");
  await page.keyboard.press("Enter");
  await loaded;
}

/** What an authenticator app holding `key` (base32, as Quorum shows it) shows now (RFC 6238). */
export function totpCode(key, time = Date.now()) {
  assert.ok(key, "QUORUM_TWO_STEP_KEY names the demo member's authenticator key");
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const char of key.replace(/\s/g, "").toUpperCase()) {
    bits += alphabet.indexOf(char).toString(2).padStart(5, "0");
  }
  const secret = Buffer.from(bits.match(/.{8}/g).map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(time / 1000 / 30)));
  const mac = createHmac("sha1", secret).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, "0");
}

export async function signedIn(browser, email, viewport = desktop) {
  const page = await openPage(browser, viewport);
  await signIn(page, email);
  return page;
}

export async function expectFocused(page, selector) {
  const matches = await page.evaluate((selector) => document.activeElement?.matches(selector) ?? false, selector);
  assert.ok(matches, `expected ${selector} to have the focus on ${page.url()}, found ${await describeFocus(page)}`);
}

async function describeFocus(page) {
  return page.evaluate(() => {
    const element = document.activeElement;
    if (!element || element === document.body) {
      return "nothing";
    }
    const name = element.getAttribute("name") ?? element.id ?? "";
    return `<${element.tagName.toLowerCase()}${name ? ` ${name}` : ""}> "${(element.textContent ?? "").trim().slice(0, 60)}"`;
  });
}

/**
 * Presses Tab until an element `locator` matches has the focus, as someone without a mouse
 * would, and checks that every element passed on the way shows a focus ring.
 */
export async function tabTo(page, locator, limit = 250) {
  assert.ok((await locator.count()) > 0, `nothing on ${page.url()} matches ${locator}`);
  for (let presses = 0; presses < limit; presses++) {
    await page.keyboard.press("Tab");
    await expectFocusRing(page);
    if (await locator.evaluateAll((elements) => elements.includes(document.activeElement))) {
      return;
    }
  }
  assert.fail(`Tab never reached ${locator} on ${page.url()} in ${limit} presses`);
}

/** Tabs to a link or button, activates it with Enter and waits for the page it brings. */
export async function press(page, locator) {
  await tabTo(page, locator);
  const loaded = page.waitForEvent("load");
  await page.keyboard.press("Enter");
  await loaded;
}

/** Tabs to a field and types into it, replacing what it held. */
export async function typeInto(page, locator, text) {
  await tabTo(page, locator);
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.press("Delete");
  await page.keyboard.type(text);
}

/**
 * Chooses a radio button as a keyboard does: Tab enters the group (at its checked or first
 * button), the arrow keys move the choice.
 */
export async function chooseRadio(page, group, label) {
  const radios = page.getByRole("group", { name: group, exact: true }).getByRole("radio");
  const target = radios.and(page.getByRole("radio", { name: label }));
  await tabTo(page, radios);
  for (let presses = 0; presses < 10; presses++) {
    if (await target.evaluate((element) => element === document.activeElement)) {
      await page.keyboard.press("Space");
      assert.ok(await target.isChecked(), `${group}: ${label} is not chosen`);
      return;
    }
    await page.keyboard.press("ArrowDown");
  }
  assert.fail(`${group} has no choice ${label}`);
}

/** Tabs to a checkbox and ticks it with Space. */
export async function tick(page, locator) {
  await tabTo(page, locator);
  await page.keyboard.press("Space");
  assert.ok(await locator.isChecked(), `${locator} is not ticked`);
}

/** Chooses an option of a closed <select> by typing the start of its text. */
export async function chooseOption(page, locator, text) {
  await tabTo(page, locator);
  await page.keyboard.type(text);
  const chosen = await locator.evaluate((select) => select.selectedOptions[0]?.textContent ?? "");
  assert.ok(chosen.startsWith(text), `chose "${chosen}" instead of "${text}"`);
}

/** The focused element draws a visible outline or ring around itself. */
export async function expectFocusRing(page) {
  const ring = await page.evaluate(focusRingOfActiveElement);
  if (ring.element !== "nothing") {
    assert.ok(ring.visible, `${ring.element} on ${page.url()} shows no focus ring`);
  }
}

// Runs in the page.
function focusRingOfActiveElement() {
  const element = document.activeElement;
  if (!element || element === document.body) {
    return { element: "nothing", visible: false };
  }
  const style = getComputedStyle(element);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
  const ring = style.boxShadow !== "none";
  const label = `<${element.tagName.toLowerCase()} ${element.getAttribute("type") ?? ""}> "${(element.textContent || element.getAttribute("name") || "").trim().slice(0, 50)}"`;
  return { element: label, visible: outline || ring };
}

/**
 * Focusable elements of the page that show no focus ring when reached by keyboard: one
 * Tab puts the page in keyboard mode, then each element is focused in turn.
 */
export async function elementsWithoutFocusRing(page) {
  await page.keyboard.press("Tab");
  const missing = await page.evaluate(() => {
    const focusable = document.querySelectorAll(
      "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])",
    );
    const missing = [];
    for (const element of focusable) {
      if (element.getClientRects().length === 0) {
        continue; // not rendered (inside a closed <details>, display: none)
      }
      element.focus();
      if (document.activeElement !== element) {
        continue;
      }
      const style = getComputedStyle(element);
      const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
      if (!outline && style.boxShadow === "none") {
        missing.push(`<${element.tagName.toLowerCase()}> "${(element.textContent || element.getAttribute("name") || "").trim().slice(0, 50)}"`);
      }
    }
    return missing;
  });
  return missing.map((element) => `${page.url()}: ${element} shows no focus ring`);
}

/** Serious or critical axe-core violations of WCAG 2.2 A/AA on the page as it is. */
export async function accessibilityViolations(page) {
  const hasAxe = await page.evaluate(() => typeof window.axe !== "undefined");
  if (!hasAxe) {
    // Evaluated through the DevTools protocol, which the page's CSP does not govern.
    await page.evaluate(axeSource);
  }
  const violations = await page.evaluate(async () => {
    const results = await window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] },
      resultTypes: ["violations"],
    });
    return results.violations
      .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
      .map((violation) => {
        const where = violation.nodes
          .slice(0, 3)
          .map((node) => `${node.target.join(" ")} (${node.failureSummary.split("\n").slice(1).join(" ").trim()})`);
        return `${violation.id} [${violation.impact}]: ${violation.help}; ${violation.nodes.length} element(s): ${where.join("; ")}`;
      });
  });
  return violations.map((violation) => `${page.url()}: ${violation}`);
}

/**
 * What makes the page wider than a phone's screen (a wide table must scroll inside its own
 * box), or nothing.
 */
export async function horizontalOverflow(page) {
  const overflow = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) {
      return null;
    }
    // Name the outermost elements that stick out, to say what to fix.
    const sticksOut = (element) => element.getBoundingClientRect().right > width + 1;
    const culprits = [...document.querySelectorAll("body *")]
      .filter((element) => sticksOut(element) && !sticksOut(element.parentElement))
      .slice(0, 5)
      .map((element) => `<${element.tagName.toLowerCase()} class="${element.className}"> to ${Math.round(element.getBoundingClientRect().right)}px`);
    return `${document.documentElement.scrollWidth}px wide on a ${width}px screen: ${culprits.join(", ")}`;
  });
  return overflow && `${page.url()}: ${overflow}`;
}

/** Fails with every problem found, one a line. */
export function expectNone(problems, what) {
  const found = problems.filter(Boolean);
  assert.ok(found.length === 0, `${what}:\n  ${found.join("\n  ")}`);
}

/** A path with its ids and references replaced, and only the names of its query's keys. */
export function pageShape(url) {
  const path = url.pathname
    .split("/")
    .map((segment) => (/\d/.test(segment) ? ":id" : segment))
    .join("/");
  const keys = [...new Set(url.searchParams.keys())].sort().join("&");
  return keys ? `${path}?${keys}` : path;
}

/** Links a crawl follows: Quorum's pages, not signing out, files or downloads. */
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

/** Opens a page: its response, or "download" for a link that answers with a file. */
export async function visit(page, url) {
  try {
    return await page.goto(url.href);
  } catch (error) {
    if (error.message.includes("Download is starting")) {
      return "download";
    }
    throw error;
  }
}

/**
 * Reads the pages a signed-in `page` reaches from the home by following links, breadth
 * first: at most `perShape` pages of one shape (the same path with other ids, the same
 * filters) and `limit` in all, whatever links the pages grow. `onPage(url)` runs on each
 * page read (a page answering with an error is reported to it too). Returns how many
 * pages were read and of how many shapes.
 */
export async function crawl(page, { perShape, limit }, onPage) {
  const seen = new Set();
  const shapes = new Map();
  const queue = [new URL("/", baseUrl)];
  let read = 0;
  while (queue.length > 0 && read < limit) {
    const url = queue.shift();
    url.hash = "";
    const kind = pageShape(url);
    if (seen.has(url.href) || (shapes.get(kind) ?? 0) >= perShape) {
      continue;
    }
    seen.add(url.href);
    shapes.set(kind, (shapes.get(kind) ?? 0) + 1);
    const response = await visit(page, url);
    if (response === "download") {
      continue;
    }
    read += 1;
    const links = response.ok()
      ? await page.$$eval("a[href]:not([download])", (links) => links.map((link) => link.href))
      : [];
    await onPage(url, response, read);
    queue.push(...links.map((href) => new URL(href)).filter(followable));
  }
  return { read, shapes: shapes.size };
}

export async function screenshot(page, name, { fullPage = false } = {}) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage });
}
