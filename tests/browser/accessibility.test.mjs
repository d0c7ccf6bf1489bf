// The page's structure in the accessibility tree, with and without the
// script: landmarks, headings, a name for every control, labels for every
// field, live regions, and the state of the toggles. The tree comes from
// Chromium itself (CDP Accessibility.getFullAXTree), so names are computed
// as a screen reader gets them.

import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';

import {
  BASE_URL, FAILED_WITH_503, createTodos, row, saveOutput, unavailableResponse, useBrowser,
} from './support.mjs';

// Roles whose nodes a user operates, and which therefore need a name.
const CONTROL_ROLES = new Set([
  'button', 'checkbox', 'combobox', 'link', 'listbox', 'menuitem', 'radio', 'searchbox', 'slider', 'spinbutton',
  'switch', 'tab', 'textbox', 'DisclosureTriangle',
]);

const state = useBrowser();

beforeEach(async () => {
  await createTodos([{ text: 'Buy milk', done: true }, 'Walk the dog']);
});

// Returns the page's accessibility tree as [{ role, name, properties }] for
// every node that is not ignored.
async function accessibilityNodes(page) {
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = await cdp.send('Accessibility.getFullAXTree');
  await cdp.detach();
  return nodes.filter((node) => !node.ignored).map((node) => ({
    role: node.role?.value,
    name: node.name?.value ?? '',
    properties: Object.fromEntries((node.properties ?? []).map((property) => [property.name, property.value.value])),
  }));
}

for (const javaScriptEnabled of [true, false]) {
  const mode = javaScriptEnabled ? 'with script' : 'without script';

  test(`page structure ${mode}`, async () => {
    const session = await state.open({ javaScriptEnabled });
    const { page } = session;
    await session.goto();
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await page.title(), 'Todo');

    const nodes = await accessibilityNodes(page);
    const withRole = (role) => nodes.filter((node) => node.role === role);
    await saveOutput(`accessibility/tree-${javaScriptEnabled ? 'script' : 'no-script'}.json`,
      JSON.stringify(nodes, null, 1));
    await saveOutput(`accessibility/aria-${javaScriptEnabled ? 'script' : 'no-script'}.yml`,
      await page.locator('body').ariaSnapshot());

    // Landmarks and headings.
    assert.equal(withRole('banner').length, 1, 'banner landmarks');
    assert.equal(withRole('main').length, 1, 'main landmarks');
    const headings = withRole('heading').map((node) => `${node.properties.level} ${node.name}`);
    assert.deepEqual(headings, ['1 Todo', '2 Tasks', '2 Export']);
    assert.deepEqual(withRole('region').map((node) => node.name), ['Tasks', 'Export']);
    assert.equal(withRole('list').length, 1);
    assert.equal(withRole('listitem').length, 2);

    // Every control has a name, and every field a visible or hidden label.
    const unnamed = nodes.filter((node) => CONTROL_ROLES.has(node.role) && node.name.trim() === '');
    assert.deepEqual(unnamed, [], 'controls without an accessible name');
    const unlabelled = await page.locator('input, select, textarea').evaluateAll((fields) => fields
      .filter((field) => field.type !== 'hidden' && field.labels.length === 0 && !field.getAttribute('aria-label'))
      .map((field) => field.outerHTML));
    assert.deepEqual(unlabelled, [], 'fields without a label');
    const ids = await page.locator('[id]').evaluateAll((elements) => elements.map((element) => element.id));
    assert.deepEqual(ids.filter((id, index) => ids.indexOf(id) !== index), [], 'duplicate ids');

    // Names that tell the tasks apart.
    const buttons = withRole('button').map((node) => node.name);
    for (const name of ['Add', 'Mark \u201CBuy milk\u201D not done', 'Mark \u201CWalk the dog\u201D done',
      'Delete \u201CBuy milk\u201D', 'Delete \u201CWalk the dog\u201D', 'Export as CSV']) {
      assert.ok(buttons.includes(name), `button "${name}" in ${JSON.stringify(buttons)}`);
    }
    // Chromium exposes a <summary> as a disclosure triangle, which screen
    // readers announce as a button with its expanded state.
    const disclosures = withRole('DisclosureTriangle').map((node) => `${node.name} ${node.properties.expanded}`);
    assert.deepEqual(disclosures, ['Edit \u201CBuy milk\u201D false', 'Edit \u201CWalk the dog\u201D false']);
    const moveButtons = buttons.filter((name) => name.startsWith('Move '));
    assert.deepEqual(moveButtons, javaScriptEnabled ? [
      'Move \u201CBuy milk\u201D up', 'Move \u201CBuy milk\u201D down',
      'Move \u201CWalk the dog\u201D up', 'Move \u201CWalk the dog\u201D down',
    ] : []);
    // The edit fields are inside closed disclosures, so only the add field shows.
    assert.deepEqual(withRole('textbox').map((node) => node.name), ['New task']);
    assert.deepEqual(withRole('combobox').map((node) => node.name), ['Include']);

    // The toggles' pressed state follows the tasks' state.
    const pressed = nodes.filter((node) => node.name.startsWith('Mark ')).map((node) => node.properties.pressed);
    assert.deepEqual(pressed, ['true', 'false']);

    // Live regions for messages and export progress.
    for (const id of ['status', 'export-status']) {
      const region = page.locator(`#${id}`);
      assert.equal(await region.getAttribute('role'), 'status', `#${id} role`);
      assert.equal(await region.getAttribute('aria-live'), 'polite', `#${id} aria-live`);
    }
    assert.deepEqual(withRole('status').map((node) => node.properties.live), ['polite', 'polite']);
  });
}

test('edit field and row errors are announced', async () => {
  const session = await state.open();
  const { page } = session;
  session.allowConsoleError(FAILED_WITH_503);
  await session.goto();
  const item = row(page, 'Walk the dog');

  await item.locator('.edit summary').click();
  const editing = await accessibilityNodes(page);
  const field = editing.find((node) => node.role === 'textbox' && node.name === 'New text for \u201CWalk the dog\u201D');
  assert.ok(field, 'the edit field is in the tree with its label');
  assert.equal(field.properties.focused, true);
  assert.ok(editing.some((node) => node.role === 'button' && node.name === 'Cancel'));
  await page.keyboard.press('Escape');

  await page.route(`${BASE_URL}/toggle/*`, (route) => route.fulfill(unavailableResponse()));
  await item.locator('button.toggle').click();
  await item.getByRole('alert').waitFor();
  const alerts = (await accessibilityNodes(page)).filter((node) => node.role === 'alert');
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0].properties.live, 'assertive');
});
