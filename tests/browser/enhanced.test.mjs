// The page with its script: add, toggle, edit and delete in place, and the
// errors they show for empty text, too long text and an unavailable service.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  BASE_URL, FAILED_WITH_503, MAX_TEXT_CHARACTERS, createTodos, documentIsMarked, eventually, listTodos, markDocument,
  row, rowTexts, screenshot, storedTexts, unavailableResponse, useBrowser, waitForText,
} from './support.mjs';

const state = useBrowser({});

test('add shows the task without reloading', async () => {
  const { session } = state;
  const { page } = session;
  await session.goto();
  await markDocument(page);
  const input = page.getByLabel('New task');

  await input.fill('Buy milk');
  await input.press('Enter');
  await waitForText(page, '#status', 'Added \u201CBuy milk\u201D.');
  await input.fill('  Walk the dog  ');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await waitForText(page, '#status', 'Added \u201CWalk the dog\u201D.');

  assert.deepEqual(await rowTexts(page), ['Buy milk', 'Walk the dog']);
  assert.equal(await input.inputValue(), '');
  assert.equal(await input.evaluate((element) => element === document.activeElement), true);
  assert.equal(await page.locator('#task-count').textContent(), '0 of 2 done');
  assert.equal(await page.locator('#empty-state').isHidden(), true);
  assert.equal(await page.locator('#reorder-hint').isVisible(), true, 'the reorder hint shows from two tasks on');
  assert.equal(await documentIsMarked(page), true, 'the add reloaded the page');
  assert.deepEqual(await storedTexts(), ['Buy milk', 'Walk the dog']);

  // The new rows have every control, with ids and names of their own.
  const created = await listTodos();
  const added = row(page, 'Walk the dog');
  assert.equal(await added.getAttribute('data-id'), String(created[1].id));
  assert.equal(await added.locator('.toggle-form').getAttribute('action'), `/toggle/${created[1].id}`);
  assert.equal(await added.locator('.edit-form').getAttribute('action'), `/edit/${created[1].id}`);
  assert.equal(await added.locator('.delete-form').getAttribute('action'), `/delete/${created[1].id}`);
  assert.equal(await added.getByRole('button', { name: 'Move \u201CWalk the dog\u201D up' }).isVisible(), true);
  assert.equal(await added.getByLabel('New text for \u201CWalk the dog\u201D').inputValue(), 'Walk the dog');

  await page.reload();
  assert.deepEqual(await rowTexts(page), ['Buy milk', 'Walk the dog']);
});

test('add rejects empty and too long text inline', async () => {
  const { session } = state;
  const { page } = session;
  await session.goto();
  const input = page.getByLabel('New task');

  await input.fill('   ');
  await input.press('Enter');
  await waitForText(page, '#status', 'Enter some text first.');
  assert.equal(await page.locator('#status').getAttribute('class'), 'status error');
  assert.equal(await input.getAttribute('aria-invalid'), 'true');
  assert.equal(await input.getAttribute('aria-describedby'), 'status');

  const tooLong = 'x'.repeat(MAX_TEXT_CHARACTERS + 1);
  await input.fill(tooLong);
  await input.press('Enter');
  await waitForText(page, '#status', 'Text is too long: 501 characters, the maximum is 500.');
  assert.equal(await input.inputValue(), tooLong, 'the typed text was kept');
  await screenshot(page, 'add-error');

  // Typing clears the error state.
  await input.press('Backspace');
  assert.equal(await input.getAttribute('aria-invalid'), null);
  assert.deepEqual(await storedTexts(), []);

  // The limit counts code points: 500 emoji are 1000 UTF-16 units.
  const emoji = '\u{1F600}'.repeat(MAX_TEXT_CHARACTERS);
  await input.fill(emoji);
  await input.press('Enter');
  await waitForText(page, '#status', `Added \u201C${emoji}\u201D.`);
  assert.deepEqual(await storedTexts(), [emoji]);
});

test('add keeps the text when the service is unavailable', async () => {
  const { session } = state;
  const { page } = session;
  session.allowConsoleError(FAILED_WITH_503);
  session.allowConsoleError(/Failed to load resource: net::ERR_FAILED/);
  await session.goto();
  const input = page.getByLabel('New task');

  await page.route(`${BASE_URL}/api/todos`, (route) => route.fulfill(unavailableResponse()));
  await input.fill('Call mum');
  await input.press('Enter');
  await waitForText(page, '#status', 'Service unavailable, try again.');
  assert.equal(await input.inputValue(), 'Call mum');
  assert.equal(await input.getAttribute('aria-invalid'), 'true');
  assert.deepEqual(await rowTexts(page), []);
  await screenshot(page, 'add-unavailable');

  await page.unroute(`${BASE_URL}/api/todos`);
  await page.route(`${BASE_URL}/api/todos`, (route) => route.abort('failed'));
  await input.press('Enter');
  await waitForText(page, '#status', 'The server could not be reached. Check your connection and try again.');
  assert.equal(await input.inputValue(), 'Call mum');

  await page.unroute(`${BASE_URL}/api/todos`);
  await input.press('Enter');
  await waitForText(page, '#status', 'Added \u201CCall mum\u201D.');
  assert.deepEqual(await rowTexts(page), ['Call mum']);
  assert.deepEqual(await storedTexts(), ['Call mum']);
});

test('toggle marks a task done in place', async () => {
  const { session } = state;
  const { page } = session;
  await createTodos(['Buy milk', 'Walk the dog']);
  await session.goto();
  await markDocument(page);
  const item = row(page, 'Buy milk');

  await page.getByRole('button', { name: 'Mark \u201CBuy milk\u201D done' }).click();
  await waitForText(page, '#status', '\u201CBuy milk\u201D marked done.');
  assert.match(await item.getAttribute('class'), /\bdone\b/);
  const toggle = item.locator('button.toggle');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
  assert.equal(await toggle.getAttribute('aria-label'), 'Mark \u201CBuy milk\u201D not done');
  assert.equal(await page.locator('#task-count').textContent(), '1 of 2 done');
  assert.deepEqual((await listTodos()).map((todo) => todo.done), [true, false]);

  await toggle.click();
  await waitForText(page, '#status', '\u201CBuy milk\u201D marked not done.');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
  assert.equal(await page.locator('#task-count').textContent(), '0 of 2 done');
  assert.deepEqual((await listTodos()).map((todo) => todo.done), [false, false]);
  assert.equal(await documentIsMarked(page), true, 'the toggle reloaded the page');
});

test('toggle failure shows in the row', async () => {
  const { session } = state;
  const { page } = session;
  session.allowConsoleError(FAILED_WITH_503);
  const [todo] = await createTodos(['Buy milk']);
  await session.goto();
  const item = row(page, 'Buy milk');

  await page.route(`${BASE_URL}/toggle/${todo.id}`, (route) => route.fulfill(unavailableResponse()));
  await item.locator('button.toggle').click();
  const alert = item.getByRole('alert');
  await alert.waitFor();
  assert.equal(await alert.textContent(), 'Service unavailable, try again.');
  assert.equal(await item.locator('button.toggle').getAttribute('aria-pressed'), 'false');
  await screenshot(page, 'item-error');

  await page.unroute(`${BASE_URL}/toggle/${todo.id}`);
  await item.locator('button.toggle').click();
  await waitForText(page, '#status', '\u201CBuy milk\u201D marked done.');
  assert.equal(await alert.count(), 0, 'the error stays after a successful retry');
  assert.equal((await listTodos())[0].done, true);
});

test('edit replaces the text in place', async () => {
  const { session } = state;
  const { page } = session;
  await createTodos(['Buy milk', 'Walk the dog']);
  await session.goto();
  await markDocument(page);
  const item = row(page, 'Buy milk');

  await item.locator('.edit summary').click();
  const input = page.getByLabel('New text for \u201CBuy milk\u201D');
  assert.match(await item.getAttribute('class'), /\bediting\b/);
  assert.equal(await input.evaluate((element) => element === document.activeElement), true);
  assert.equal(await item.locator('.text').isHidden(), true);
  // In place: the field is on the row's first line, beside the toggle.
  const fieldBox = await input.boundingBox();
  const toggleBox = await item.locator('button.toggle').boundingBox();
  assert.ok(Math.abs((fieldBox.y + fieldBox.height / 2) - (toggleBox.y + toggleBox.height / 2)) < 2,
    `field centre ${fieldBox.y + fieldBox.height / 2}, toggle centre ${toggleBox.y + toggleBox.height / 2}`);
  await screenshot(page, 'editing');

  await input.fill('Buy oat milk');
  await input.press('Enter');
  await waitForText(page, '#status', 'Saved \u201CBuy oat milk\u201D.');
  const edited = row(page, 'Buy oat milk');
  assert.doesNotMatch(await edited.getAttribute('class'), /\bediting\b/);
  assert.equal(await edited.locator('.edit summary').evaluate((element) => element === document.activeElement), true);
  assert.equal(await edited.locator('button.toggle').getAttribute('aria-label'), 'Mark \u201CBuy oat milk\u201D done');
  assert.equal(await edited.locator('button.delete').getAttribute('aria-label'), 'Delete \u201CBuy oat milk\u201D');
  assert.deepEqual(await storedTexts(), ['Buy oat milk', 'Walk the dog']);
  assert.equal(await documentIsMarked(page), true, 'the edit reloaded the page');

  await page.reload();
  assert.deepEqual(await rowTexts(page), ['Buy oat milk', 'Walk the dog']);
});

test('edit cancels and checks its text', async () => {
  const { session } = state;
  const { page } = session;
  await createTodos(['Buy milk']);
  await session.goto();
  const item = row(page, 'Buy milk');
  const input = item.locator('.edit-form input');

  // A double click on the text starts editing too; Escape cancels.
  await item.locator('.text').dblclick();
  assert.match(await item.getAttribute('class'), /\bediting\b/);
  await input.fill('Something else');
  await input.press('Escape');
  assert.doesNotMatch(await item.getAttribute('class'), /\bediting\b/);
  assert.equal(await item.locator('.text').textContent(), 'Buy milk');
  assert.equal(await input.inputValue(), 'Buy milk', 'the field is reset to the saved text');

  await item.locator('.edit summary').click();
  await input.fill('Another text');
  await item.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await item.locator('.text').textContent(), 'Buy milk');

  await item.locator('.edit summary').click();
  await input.fill('');
  await input.press('Enter');
  const alert = item.getByRole('alert');
  await alert.waitFor();
  assert.equal(await alert.textContent(), 'Enter some text first.');
  assert.equal(await input.getAttribute('aria-invalid'), 'true');
  assert.match(await item.getAttribute('class'), /\bediting\b/);

  await input.fill('y'.repeat(MAX_TEXT_CHARACTERS + 1));
  await input.press('Enter');
  await eventually(() => alert.textContent(), 'Text is too long: 501 characters, the maximum is 500.',
    'too long edit message');
  assert.deepEqual(await storedTexts(), ['Buy milk']);
});

test('delete removes the row and keeps focus in the list', async () => {
  const { session } = state;
  const { page } = session;
  await createTodos(['Buy milk', 'Walk the dog']);
  await session.goto();
  await markDocument(page);

  await page.getByRole('button', { name: 'Delete \u201CBuy milk\u201D' }).click();
  await waitForText(page, '#status', 'Deleted \u201CBuy milk\u201D.');
  assert.deepEqual(await rowTexts(page), ['Walk the dog']);
  const focused = await page.evaluate(() => document.activeElement.getAttribute('aria-label'));
  assert.equal(focused, 'Mark \u201CWalk the dog\u201D done');
  assert.equal(await page.locator('#task-count').textContent(), '0 of 1 done');
  assert.equal(await page.locator('#reorder-hint').isHidden(), true, 'the reorder hint shows for one task');

  await page.getByRole('button', { name: 'Delete \u201CWalk the dog\u201D' }).click();
  await waitForText(page, '#status', 'Deleted \u201CWalk the dog\u201D.');
  assert.deepEqual(await rowTexts(page), []);
  assert.equal(await page.locator('#empty-state').isVisible(), true);
  assert.equal(await page.locator('#task-count').isHidden(), true);
  assert.equal(await page.getByLabel('New task').evaluate((element) => element === document.activeElement), true);
  assert.equal(await documentIsMarked(page), true, 'the delete reloaded the page');
  assert.deepEqual(await storedTexts(), []);
  await screenshot(page, 'empty');
});
