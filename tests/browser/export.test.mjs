// Export with the script: progress in the #export-status live region, a
// download link when the worker has finished, and the downloaded file's rows.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';

import {
  BASE_URL, EXPORT_FIXTURE, FAILED_WITH_503, WAIT_MS, assertExportRows, createTodos, screenshot, unavailableResponse,
  useBrowser,
} from './support.mjs';

const state = useBrowser({});

// Starts an export with the form and returns every text that #export-status
// showed until the download link appeared.
async function exportWithScript(page, include) {
  await page.getByLabel('Include').selectOption({ label: include });
  await page.evaluate(() => {
    const status = document.getElementById('export-status');
    window.exportTexts = [];
    new MutationObserver(() => window.exportTexts.push(status.textContent))
      .observe(status, { childList: true, characterData: true, subtree: true });
  });
  const button = page.getByRole('button', { name: 'Export as CSV' });
  await button.click();
  await page.locator('#export-status a').waitFor({ timeout: WAIT_MS });
  assert.equal(await button.isEnabled(), true);
  return page.evaluate(() => window.exportTexts);
}

async function download(page, link) {
  const [file] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.match(file.suggestedFilename(), /^todos_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.csv$/);
  return readFile(await file.path(), 'utf8');
}

test('export shows progress and a download link', async () => {
  const { session } = state;
  const { page } = session;
  const todos = await createTodos(EXPORT_FIXTURE);
  await session.goto();
  const status = page.locator('#export-status');
  assert.equal(await status.getAttribute('aria-live'), 'polite');
  assert.equal(await status.getAttribute('role'), 'status');

  const texts = await exportWithScript(page, 'Open');
  assert.equal(texts[0], 'Starting export\u2026');
  assert.equal(texts.at(-1), 'Export ready: Download CSV (3 tasks)');
  for (const text of texts.slice(1, -1)) {
    assert.match(text, /^(Export queued\u2026|Export running\u2026|Export ready: )$/);
  }
  assert.doesNotMatch(await status.getAttribute('class'), /\b(busy|error)\b/);
  await screenshot(page, 'export-ready');

  const link = status.getByRole('link', { name: 'Download CSV (3 tasks)' });
  assertExportRows(await download(page, link), todos.filter((todo) => !todo.done));
});

test('export of all tasks has every row', async () => {
  const { session } = state;
  const { page } = session;
  const todos = await createTodos(EXPORT_FIXTURE);
  await session.goto();

  await exportWithScript(page, 'All');
  const link = page.getByRole('link', { name: 'Download CSV (4 tasks)' });
  const content = await download(page, link);
  assertExportRows(content, todos);
  assert.match(content, /^\d+,"Call mum, ""soon""",false,/m);
  assert.match(content, /^\d+,"'=1\+2",false,/m);
});

test('export error shows in the live region', async () => {
  const { session } = state;
  const { page } = session;
  session.allowConsoleError(FAILED_WITH_503);
  await session.goto();

  await page.route(`${BASE_URL}/export`,
    (route) => route.fulfill(unavailableResponse('job queue unavailable, try again shortly')));
  await page.getByRole('button', { name: 'Export as CSV' }).click();
  const status = page.locator('#export-status');
  await page.waitForFunction(() => document.getElementById('export-status').classList.contains('error'));
  assert.equal(await status.textContent(), 'Export is unavailable right now, try again shortly.');
  assert.equal(await page.getByRole('button', { name: 'Export as CSV' }).isEnabled(), true);
});
