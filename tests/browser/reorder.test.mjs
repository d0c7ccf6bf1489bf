// Reordering with the script: drag and drop by the handle, Alt+Arrow keys,
// the move buttons, and the restored order when the server rejects a save.

import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';

import {
  BASE_URL, FAILED_WITH_503, createTodos, eventually, row, rowTexts, storedTexts, unavailableResponse, useBrowser,
  waitForText,
} from './support.mjs';

const state = useBrowser({});

beforeEach(async () => {
  await createTodos(['one', 'two', 'three']);
});

// Drags the handle of the row `text` over the row `targetText` and drops it
// near that row's top or bottom edge.
async function drag(page, text, targetText, edge) {
  const target = row(page, targetText);
  const box = await target.boundingBox();
  const y = edge === 'top' ? 4 : box.height - 4;
  await row(page, text).locator('.drag-handle').dragTo(target, { targetPosition: { x: box.width / 2, y } });
}

test('drag and drop moves a task and saves the order', async () => {
  const { session } = state;
  const { page } = session;
  await session.goto();
  assert.equal(await row(page, 'one').locator('.drag-handle').isVisible(), true);

  await drag(page, 'one', 'three', 'bottom');
  await waitForText(page, '#status', 'Moved \u201Cone\u201D to position 3 of 3.');
  assert.deepEqual(await rowTexts(page), ['two', 'three', 'one']);
  await eventually(storedTexts, ['two', 'three', 'one'], 'order stored after the first drag');

  await drag(page, 'three', 'two', 'top');
  await waitForText(page, '#status', 'Moved \u201Cthree\u201D to position 1 of 3.');
  assert.deepEqual(await rowTexts(page), ['three', 'two', 'one']);
  await eventually(storedTexts, ['three', 'two', 'one'], 'order stored after the second drag');
  assert.equal(await page.locator('#todo-list > li.dragging').count(), 0);

  await page.reload();
  assert.deepEqual(await rowTexts(page), ['three', 'two', 'one']);
});

test('Alt+Arrow keys move the focused task', async () => {
  const { session } = state;
  const { page } = session;
  await session.goto();
  const toggle = row(page, 'one').locator('button.toggle');

  await toggle.focus();
  await page.keyboard.press('Alt+ArrowDown');
  await waitForText(page, '#status', 'Moved \u201Cone\u201D to position 2 of 3.');
  assert.deepEqual(await rowTexts(page), ['two', 'one', 'three']);
  assert.equal(await toggle.evaluate((element) => element === document.activeElement), true, 'focus stays on the task');

  await page.keyboard.press('Alt+ArrowDown');
  await waitForText(page, '#status', 'Moved \u201Cone\u201D to position 3 of 3.');
  await page.keyboard.press('Alt+ArrowDown');
  await waitForText(page, '#status', '\u201Cone\u201D is already last.');
  assert.deepEqual(await rowTexts(page), ['two', 'three', 'one']);
  await eventually(storedTexts, ['two', 'three', 'one'], 'order stored after the keyboard moves');

  // The move buttons do the same and keep their own focus.
  const up = page.getByRole('button', { name: 'Move \u201Cthree\u201D up' });
  await up.focus();
  await page.keyboard.press('Enter');
  await waitForText(page, '#status', 'Moved \u201Cthree\u201D to position 1 of 3.');
  assert.equal(await up.evaluate((element) => element === document.activeElement), true);
  assert.deepEqual(await rowTexts(page), ['three', 'two', 'one']);
  await eventually(storedTexts, ['three', 'two', 'one'], 'order stored after the move button');

  await page.reload();
  assert.deepEqual(await rowTexts(page), ['three', 'two', 'one']);
});

test('rejected save restores the previous order', async () => {
  const { session } = state;
  const { page } = session;
  session.allowConsoleError(FAILED_WITH_503);
  await session.goto();

  // A task added on the page belongs to the order the server confirmed.
  await page.getByLabel('New task').fill('four');
  await page.getByLabel('New task').press('Enter');
  await waitForText(page, '#status', 'Added \u201Cfour\u201D.');

  await page.route(`${BASE_URL}/reorder`, (route) => route.fulfill(unavailableResponse()));
  await row(page, 'four').locator('button.toggle').focus();
  await page.keyboard.press('Alt+ArrowUp');
  await waitForText(page, '#status', 'Service unavailable, try again. The previous order was restored.');
  assert.equal(await page.locator('#status').getAttribute('class'), 'status error');
  assert.deepEqual(await rowTexts(page), ['one', 'two', 'three', 'four']);
  assert.deepEqual(await storedTexts(), ['one', 'two', 'three', 'four']);
});
