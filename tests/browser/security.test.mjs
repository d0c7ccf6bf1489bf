// The Content-Security-Policy in a real browser: the page itself runs
// without a single violation or console error, while script and style that
// did not come from /static are blocked. Hostile task text stays text.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createTodos, row, rowTexts, useBrowser, waitForText } from './support.mjs';

const POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; " +
  "base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

const HOSTILE = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(2)>',
  '" onmouseover="alert(3)" x=\'',
];

const state = useBrowser({});

// Starts recording securitypolicyviolation events as "directive blocked-uri".
async function recordViolations(page) {
  await page.evaluate(() => {
    window.violations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      window.violations.push(`${event.effectiveDirective} ${event.blockedURI}`);
    });
  });
}

test('page loads under the policy without violations', async () => {
  const { session } = state;
  const { page } = session;
  await createTodos(['Buy milk', { text: 'Walk the dog', done: true }]);
  const response = await session.goto();
  assert.equal(response.headers()['content-security-policy'], POLICY);
  await recordViolations(page);

  // Every script feature in use: the app script ran, the list is live.
  assert.equal(await row(page, 'Buy milk').locator('.move').isVisible(), true);
  await page.getByRole('button', { name: 'Mark \u201CBuy milk\u201D done' }).click();
  await waitForText(page, '#status', '\u201CBuy milk\u201D marked done.');
  await row(page, 'Walk the dog').locator('.edit summary').click();
  await page.keyboard.press('Escape');

  const stylesheets = await page.evaluate(() => [...document.styleSheets].map((sheet) => new URL(sheet.href).pathname));
  assert.deepEqual(stylesheets, ['/static/app.css']);
  assert.deepEqual(await page.evaluate(() => window.violations), []);
});

test('inline script and style are blocked', async () => {
  const { session } = state;
  const { page } = session;
  session.allowConsoleError(/violates the following Content Security Policy directive/);
  await session.goto();
  await recordViolations(page);

  const result = await page.evaluate(async () => {
    const script = document.createElement('script');
    script.textContent = 'window.inlineScriptRan = true;';
    document.body.appendChild(script);

    const style = document.createElement('style');
    style.textContent = 'body { margin-left: 123px; }';
    document.head.appendChild(style);

    const heading = document.querySelector('h1');
    heading.setAttribute('style', 'margin-left: 77px');

    // Violation events are queued as tasks, so let them run first.
    await new Promise((resolve) => setTimeout(resolve, 100));
    return {
      inlineScriptRan: window.inlineScriptRan === true,
      bodyMargin: getComputedStyle(document.body).marginLeft,
      headingMargin: getComputedStyle(heading).marginLeft,
      violations: window.violations,
    };
  });
  assert.equal(result.inlineScriptRan, false);
  assert.notEqual(result.bodyMargin, '123px');
  assert.notEqual(result.headingMargin, '77px');
  assert.deepEqual(result.violations.sort(), ['script-src-elem inline', 'style-src-attr inline', 'style-src-elem inline']);
});

test('hostile task text is shown as text', async () => {
  const { session } = state;
  const { page } = session;
  await createTodos(HOSTILE);
  await session.goto();
  await recordViolations(page);

  assert.deepEqual(await rowTexts(page), HOSTILE);
  assert.equal(await page.locator('#todo-list img').count(), 0);
  assert.equal(await page.locator('#todo-list script').count(), 0);
  await row(page, 'onmouseover').hover();

  // Text added by the script goes through textContent, never as markup.
  const input = page.getByLabel('New task');
  await input.fill('<b>bold</b>');
  await input.press('Enter');
  await waitForText(page, '#status', 'Added \u201C<b>bold</b>\u201D.');
  assert.equal(await page.locator('#todo-list b').count(), 0);
  assert.deepEqual(await page.evaluate(() => window.violations), []);
  // PageSession.close checks that no dialog opened.
});
