// The page with JavaScript disabled: every task works through plain form
// posts and links, and the controls that need the script stay hidden.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';

import {
  BASE_URL, EXPORT_FIXTURE, MAX_TEXT_CHARACTERS, WAIT_MS, assertExportRows, createTodos, listTodos, row, rowTexts,
  screenshot, storedTexts, useBrowser,
} from './support.mjs';

const state = useBrowser({ javaScriptEnabled: false });

// Runs `action`, which submits a form, and waits for the page it leads to.
// Returns the status of that page's main response.
async function submit(page, action) {
  const [response] = await Promise.all([page.waitForNavigation(), action()]);
  return response.status();
}

test('script-only controls stay hidden', async () => {
  const { session } = state;
  const { page } = session;
  await createTodos(['Buy milk', 'Walk the dog']);
  await session.goto();
  const item = row(page, 'Buy milk');

  assert.equal(await item.locator('.drag-handle').isHidden(), true);
  assert.equal(await item.locator('.move').isHidden(), true);
  assert.equal(await item.locator('.cancel-edit').isHidden(), true);
  assert.equal(await page.locator('#reorder-hint').isHidden(), true);
  assert.equal(await item.locator('.edit summary').isVisible(), true);
  assert.equal(await page.locator('#task-count').textContent(), '0 of 2 done');
});

test('add, toggle, edit and delete by form posts', async () => {
  const { session } = state;
  const { page } = session;
  await session.goto();
  const input = page.getByLabel('New task');

  await input.fill('Buy milk');
  assert.equal(await submit(page, () => input.press('Enter')), 200);
  await page.getByLabel('New task').fill('Walk the dog');
  assert.equal(await submit(page, () => page.getByRole('button', { name: 'Add', exact: true }).click()), 200);
  assert.equal(page.url(), `${BASE_URL}/`);
  assert.deepEqual(await rowTexts(page), ['Buy milk', 'Walk the dog']);

  assert.equal(await submit(page, () => page.getByRole('button', { name: 'Mark \u201CBuy milk\u201D done' }).click()), 200);
  assert.match(await row(page, 'Buy milk').getAttribute('class'), /\bdone\b/);
  assert.equal(await row(page, 'Buy milk').locator('button.toggle').getAttribute('aria-pressed'), 'true');
  assert.equal(await page.locator('#task-count').textContent(), '1 of 2 done');
  assert.deepEqual((await listTodos()).map((todo) => todo.done), [true, false]);

  // Without the script the edit form opens as a disclosure under the row.
  const item = row(page, 'Walk the dog');
  await item.locator('.edit summary').click();
  assert.equal(await item.locator('details.edit').getAttribute('open'), '');
  const field = page.getByLabel('New text for \u201CWalk the dog\u201D');
  assert.equal(await field.isVisible(), true);
  await screenshot(page, 'no-script-edit');
  await field.fill('Walk the dog twice');
  assert.equal(await submit(page, () => item.getByRole('button', { name: 'Save' }).click()), 200);
  assert.deepEqual(await rowTexts(page), ['Buy milk', 'Walk the dog twice']);
  await screenshot(page, 'no-script');

  assert.equal(await submit(page, () => page.getByRole('button', { name: 'Delete \u201CBuy milk\u201D' }).click()), 200);
  assert.deepEqual(await rowTexts(page), ['Walk the dog twice']);
  assert.deepEqual(await storedTexts(), ['Walk the dog twice']);
});

test('text is checked by the browser before it is sent', async () => {
  const { session } = state;
  const { page } = session;
  await session.goto();
  const input = page.getByLabel('New task');

  // `required` stops an empty add before it is sent.
  await input.press('Enter');
  assert.equal(await input.evaluate((element) => element.validity.valueMissing), true);
  assert.equal(page.url(), `${BASE_URL}/`);

  // maxlength keeps the field at the limit, so the text cannot get too long
  // to save and be lost on an error page.
  await input.fill('z'.repeat(MAX_TEXT_CHARACTERS + 1));
  assert.equal((await input.inputValue()).length, MAX_TEXT_CHARACTERS);

  // The pattern stops text of only spaces, which the server would drop.
  await input.fill('   ');
  await input.press('Enter');
  assert.equal(await input.evaluate((element) => element.validity.patternMismatch), true);
  assert.equal(page.url(), `${BASE_URL}/`);
  assert.deepEqual(await storedTexts(), []);
});

test('export by form post, refresh link and download link', async () => {
  const { session } = state;
  const { page } = session;
  const todos = await createTodos(EXPORT_FIXTURE);
  await session.goto();

  await page.getByLabel('Include').selectOption({ label: 'Done' });
  assert.equal(await submit(page, () => page.getByRole('button', { name: 'Export as CSV' }).click()), 200);
  assert.match(page.url(), /\/\?export=[0-9a-f-]{36}$/);

  // The page shows the job's state; its Refresh link loads the page again.
  const status = page.locator('#export-status');
  const deadline = Date.now() + WAIT_MS;
  while ((await status.getByRole('link', { name: 'Refresh' }).count()) > 0) {
    assert.match(await status.textContent(), /^Export (queued|running)\. Refresh$/);
    assert.ok(Date.now() < deadline, 'the export did not finish');
    await page.waitForTimeout(200);  // a person waits a moment before refreshing, too
    await submit(page, () => status.getByRole('link', { name: 'Refresh' }).click());
  }
  assert.equal(await status.textContent(), 'Export ready: Download CSV (1 task)');

  const [file] = await Promise.all([
    page.waitForEvent('download'),
    status.getByRole('link', { name: 'Download CSV (1 task)' }).click(),
  ]);
  assertExportRows(await readFile(await file.path(), 'utf8'), todos.filter((todo) => todo.done));
});
