// The pages a board prints: on A4, without navigation or buttons, no table cut at the
// right edge and no row split across two pages. Each is printed to a PDF in
// target/browser/print, to look at.

import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { accounts, expectNone, printouts, sharedBrowser, signedIn } from "../lib/quorum.mjs";

/** A4's width less 15 mm margins each side (the stylesheet's @page), in CSS pixels. */
const PRINTABLE_WIDTH = Math.floor(((210 - 2 * 15) / 25.4) * 96);

const browser = sharedBrowser();

/** What would print badly: chrome that shows, content past the right edge, rows that split. */
async function printProblems(page) {
  return page.evaluate((width) => {
    const problems = [];
    const shown = (element) => element.getClientRects().length > 0 && getComputedStyle(element).visibility !== "hidden";
    for (const element of document.querySelectorAll("header, footer, nav, button, .skip-link, form")) {
      if (shown(element)) {
        problems.push(`<${element.tagName.toLowerCase()} class="${element.className}"> prints`);
      }
    }
    if (document.documentElement.scrollWidth > width) {
      problems.push(`the page is ${document.documentElement.scrollWidth}px wide, more than A4's ${width}px`);
    }
    for (const box of document.querySelectorAll(".table-scroll, table")) {
      if (box.scrollWidth > box.clientWidth + 1) {
        problems.push(`a table is cut at the right edge (${box.scrollWidth}px in ${box.clientWidth}px)`);
      }
    }
    for (const row of document.querySelectorAll("tr")) {
      if (getComputedStyle(row).breakInside !== "avoid") {
        problems.push("a table row may split across pages");
        break;
      }
    }
    return problems;
  }, PRINTABLE_WIDTH);
}

const printed = [
  ["board's home", "/board", "print-board"],
  ["portfolio dashboard", "/board/portfolio", "print-portfolio"],
  ["risk page", "/board/risks", "print-risks"],
  ["request", "/board/requests/3", "print-request"],
];

test("the board's pages print on A4 without navigation, cut tables or split rows", async () => {
  const page = await signedIn(browser(), accounts.chair, { width: PRINTABLE_WIDTH, height: 1100 });
  await page.emulateMedia({ media: "print" });
  const problems = [];
  for (const [what, url, file] of printed) {
    const response = await page.goto(url);
    assert.ok(response.ok(), `${what}: ${url} answered ${response.status()}`);
    problems.push(...(await printProblems(page)).map((problem) => `${what} (${url}): ${problem}`));
    const pdf = await page.pdf({ path: path.join(printouts, `${file}.pdf`), preferCSSPageSize: true });
    assert.ok(pdf.length > 1000, `${what} printed nothing`);
  }
  expectNone(problems, "what would print badly");
  await page.context().close();
});
