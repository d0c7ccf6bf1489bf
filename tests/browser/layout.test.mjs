// Look and layout: light and dark colour schemes with readable contrast, a
// phone-width viewport without sideways scrolling, visible keyboard focus in
// page order, and rows that keep their size when a task changes state.

import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';

import { createTodos, resetTodos, row, screenshot, useBrowser, waitForText } from './support.mjs';

const PHONE = { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true };

const FIXTURE = [
  { text: 'Buy milk', done: true },
  'Walk the dog',
  'Book the car in for its annual service and ask about the rattle in the back door',
  'Call mum',
];

// WCAG 2.2 minimum contrast ratios: 4.5 for text, 3 for the edges of controls.
const TEXT_CONTRAST = 4.5;
const CONTROL_CONTRAST = 3;
// WCAG 2.2 minimum target size (2.5.8), in CSS pixels.
const MIN_TARGET_PX = 24;

const state = useBrowser();

beforeEach(async () => {
  await createTodos(FIXTURE);
});

// Returns [{ name, kind, ratio }] for the colour pairs of the page: each text
// against the background it is drawn on, and control edges against theirs.
// Colours with transparency are composed over the first opaque ancestor.
async function contrastRatios(page) {
  return page.evaluate(() => {
    const parse = (color) => {
      const match = /rgba?\(([\d.]+),? ([\d.]+),? ([\d.]+)(?:,? \/? ?([\d.]+))?\)/.exec(color);
      if (!match) throw new Error(`unexpected colour ${color}`);
      return { r: +match[1], g: +match[2], b: +match[3], a: match[4] === undefined ? 1 : +match[4] };
    };
    const over = (top, bottom) => ({
      r: top.r * top.a + bottom.r * (1 - top.a),
      g: top.g * top.a + bottom.g * (1 - top.a),
      b: top.b * top.a + bottom.b * (1 - top.a),
      a: 1,
    });
    const background = (element) => {
      const layers = [];
      for (let node = element; node; node = node.parentElement) {
        const color = parse(getComputedStyle(node).backgroundColor);
        if (color.a > 0) layers.push(color);
        if (color.a === 1) break;
      }
      return layers.reduceRight((below, layer) => over(layer, below), { r: 255, g: 255, b: 255, a: 1 });
    };
    const luminance = ({ r, g, b }) => {
      const linear = (value) => {
        const c = value / 255;
        return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
    };
    const ratio = (first, second) => {
      const [light, dark] = [luminance(first), luminance(second)].sort((a, b) => b - a);
      return (light + 0.05) / (dark + 0.05);
    };
    const text = (name, selector, pseudo) => {
      const element = document.querySelector(selector);
      if (!element) throw new Error(`no element ${selector}`);
      const back = background(element);
      const color = over(parse(getComputedStyle(element, pseudo).color), back);
      return { name, kind: 'text', ratio: ratio(color, back) };
    };
    const edge = (name, selector) => {
      const element = document.querySelector(selector);
      const back = background(element.parentElement);
      const color = over(parse(getComputedStyle(element).borderTopColor), back);
      return { name, kind: 'control', ratio: ratio(color, back) };
    };
    return [
      text('heading', 'h1'),
      text('label', '.add-form label'),
      text('placeholder', '#new-task', '::placeholder'),
      text('add button', '.add-form button'),
      text('status error', '#status'),
      text('task count', '#task-count'),
      text('hint', '#reorder-hint'),
      text('open task', '#todo-list li:not(.done) .text'),
      text('done task', '#todo-list li.done .text'),
      text('edit', '.edit summary'),
      text('move', '.move-up'),
      text('delete', '.delete'),
      text('export button', '.export-form button'),
      edge('text field edge', '#new-task'),
      edge('toggle edge', '#todo-list li:not(.done) .toggle'),
      edge('select edge', '#export-done'),
    ];
  });
}

for (const colorScheme of ['light', 'dark']) {
  test(`desktop page in ${colorScheme} scheme is readable`, async () => {
    const session = await state.open({ colorScheme });
    const { page } = session;
    await session.goto();
    await screenshot(page, `desktop-${colorScheme}`);

    const bodyLightness = await page.evaluate(() => {
      const [r, g, b] = getComputedStyle(document.body).backgroundColor.match(/\d+/g).map(Number);
      return (r + g + b) / (3 * 255);
    });
    if (colorScheme === 'dark') assert.ok(bodyLightness < 0.2, `dark background lightness ${bodyLightness}`);
    else assert.ok(bodyLightness > 0.85, `light background lightness ${bodyLightness}`);

    // The status line shows an error, so its colour is checked too.
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await waitForText(page, '#status', 'Enter some text first.');
    for (const { name, kind, ratio } of await contrastRatios(page)) {
      const minimum = kind === 'text' ? TEXT_CONTRAST : CONTROL_CONTRAST;
      assert.ok(ratio >= minimum, `${name}: contrast ${ratio.toFixed(2)} is below ${minimum}`);
    }
  });

  test(`phone width in ${colorScheme} scheme fits without sideways scrolling`, async () => {
    const session = await state.open({ ...PHONE, colorScheme });
    const { page } = session;
    await session.goto();

    const widths = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
    }));
    assert.ok(widths.scroll <= widths.client, `page is ${widths.scroll} px wide in a ${widths.client} px viewport`);

    const controls = page.locator('main button:visible, main summary:visible, main input:visible, main select:visible');
    const count = await controls.count();
    assert.ok(count >= 20, `${count} controls`);
    for (let i = 0; i < count; i++) {
      const box = await controls.nth(i).boundingBox();
      const name = await controls.nth(i).evaluate((element) => element.getAttribute('aria-label') || element.textContent);
      assert.ok(box.x >= 0, `${name} starts left of the viewport, at x ${box.x}`);
      assert.ok(box.x + box.width <= PHONE.viewport.width, `${name} ends at x ${box.x + box.width}, past the viewport`);
      assert.ok(box.width >= MIN_TARGET_PX, `${name} is ${box.width} px wide, below ${MIN_TARGET_PX} px`);
      assert.ok(box.height >= MIN_TARGET_PX, `${name} is ${box.height} px high, below ${MIN_TARGET_PX} px`);
    }
    await screenshot(page, `phone-${colorScheme}`);

    await row(page, 'Walk the dog').locator('.edit summary').click();
    await screenshot(page, `phone-editing-${colorScheme}`);
  });
}

test('Tab reaches every control in page order with visible focus', async () => {
  await resetTodos();
  await createTodos(['Buy milk']);
  const session = await state.open();
  const { page } = session;
  await session.goto();

  const stops = [];
  for (let i = 0; i < 9; i++) {
    await page.keyboard.press('Tab');
    stops.push(await page.evaluate(() => {
      const element = document.activeElement;
      const style = getComputedStyle(element);
      return {
        name: element.getAttribute('aria-label') || element.labels?.[0]?.textContent || element.textContent.trim(),
        focusVisible: element.matches(':focus-visible'),
        outline: `${style.outlineStyle} ${parseFloat(style.outlineWidth)}`,
      };
    }));
  }
  assert.deepEqual(stops.map((stop) => stop.name), [
    'New task',
    'Add',
    'Mark \u201CBuy milk\u201D done',
    'Edit \u201CBuy milk\u201D',
    'Move \u201CBuy milk\u201D up',
    'Move \u201CBuy milk\u201D down',
    'Delete \u201CBuy milk\u201D',
    'Include',
    'Export as CSV',
  ]);
  for (const stop of stops) {
    assert.equal(stop.focusVisible, true, stop.name);
    assert.equal(stop.outline, 'solid 3', `${stop.name} outline`);
  }

  // Space on the toggle works like a click.
  await page.getByRole('button', { name: 'Mark \u201CBuy milk\u201D done' }).focus();
  await page.keyboard.press('Space');
  await waitForText(page, '#status', '\u201CBuy milk\u201D marked done.');
  await screenshot(page, 'keyboard-focus');
});

test('rows keep their size when tasks change state', async () => {
  const session = await state.open();
  const { page } = session;
  await session.goto();

  const shiftAtLoad = await page.evaluate(() => new Promise((resolve) => {
    new PerformanceObserver((entries) => {
      resolve(entries.getEntries().reduce((sum, entry) => sum + entry.value, 0));
    }).observe({ type: 'layout-shift', buffered: true });
    // With no shift at all the observer is never called.
    setTimeout(() => resolve(0), 500);
  }));
  assert.equal(shiftAtLoad, 0, 'cumulative layout shift while loading');

  const boxes = () => page.locator('#todo-list > li').evaluateAll(
    (items) => items.map((item) => {
      const box = item.getBoundingClientRect();
      return { top: box.top, height: box.height };
    }));
  const before = await boxes();

  await page.getByRole('button', { name: 'Mark \u201CWalk the dog\u201D done' }).click();
  await waitForText(page, '#status', '\u201CWalk the dog\u201D marked done.');
  assert.deepEqual(await boxes(), before, 'after a toggle and a status message');

  await row(page, 'Call mum').locator('.edit summary').click();
  assert.match(await row(page, 'Call mum').getAttribute('class'), /\bediting\b/);
  assert.deepEqual(await boxes(), before, 'while a row is edited');
  await page.keyboard.press('Escape');

  await row(page, 'Buy milk').locator('button.toggle').click();
  await waitForText(page, '#status', '\u201CBuy milk\u201D marked not done.');
  assert.deepEqual(await boxes(), before, 'after toggling back');
});
