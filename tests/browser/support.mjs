// Shared set-up of the browser tests: Debian's Chromium through
// playwright-core, a page session that records console errors and
// requests to other origins, the todo JSON API for fixtures and checks,
// screenshots and a CSV reader.

import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { after, afterEach, before, beforeEach } from 'node:test';

import { chromium, request } from 'playwright-core';

const REPOSITORY = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

// The page under test, such as http://127.0.0.1:5000. scripts/test.sh sets it.
export const BASE_URL = readBaseUrl();
export const BASE_ORIGIN = new URL(BASE_URL).origin;

export const OUTPUT_DIR = process.env.TODO_TEST_OUTPUT || join(REPOSITORY, 'test-output');
export const SCREENSHOT_DIR = join(OUTPUT_DIR, 'screenshots');

export const CHROMIUM = process.env.TODO_BROWSER_CHROMIUM || '/usr/bin/chromium';

// Keeps Chromium from connecting anywhere but the page under test: no
// first-run page, component updates, sync, QUIC probes or other background
// requests. playwright-core gives every launch a new, empty profile folder.
// With these flags Chromium 156 still requests update.googleapis.com,
// accounts.google.com and content-autofill.googleapis.com (seen in its
// --log-net-log output). So the host resolver rule fails every name but the
// test host's inside Chromium, before any DNS query.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  `--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE ${new URL(BASE_URL).hostname}`,
];

// The page's longest accepted text, in code points, as the server counts.
export const MAX_TEXT_CHARACTERS = 500;

// Upper bound for one wait on the page or the API. The export jobs of these
// tests finished within about a second, so the bound only stops a broken run.
export const WAIT_MS = 15_000;

function readBaseUrl() {
  const value = process.env.TODO_BROWSER_BASE_URL;
  if (!value) {
    throw new Error('TODO_BROWSER_BASE_URL is not set; run the browser tests with scripts/test.sh, ' +
      'which starts todo-web and todo-worker and sets it');
  }
  return value.replace(/\/+$/, '');
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

// Registers the hooks of a test file: one browser for the file, an empty
// todo list before each test, and the checks of PageSession.close after it.
// With `contextOptions` every test gets a new `session` opened with them.
// Without, a test calls `open(options)`, which opens and returns it.
export function useBrowser(contextOptions) {
  const state = {
    browser: undefined,
    session: undefined,
    async open(options = {}) {
      state.session = await PageSession.open(state.browser, options);
      return state.session;
    },
  };

  before(async () => {
    state.browser = await launchBrowser();
  });

  after(async () => {
    await state.browser.close();
    await disposeApi();
  });

  beforeEach(async () => {
    await resetTodos();
    if (contextOptions) await state.open(contextOptions);
  });

  afterEach(async () => {
    const session = state.session;
    state.session = undefined;
    await session?.close();
  });

  return state;
}

// A 503 of the shape the server sends while PostgreSQL or Redis is down.
// Tests put it in place of a real response with page.route(), because they
// reach the service only by its URL and cannot stop its dependencies.
export function unavailableResponse(error = 'service unavailable, try again') {
  return {
    status: 503,
    contentType: 'application/json',
    headers: { 'Retry-After': '1' },
    body: JSON.stringify({ error, request_id: 'browser-test' }),
  };
}

// The console line Chromium writes when a fetch gets a 503 response.
export const FAILED_WITH_503 = /Failed to load resource: the server responded with a status of 503/;

// A browser context and page with recording of what must not happen:
// console errors, uncaught exceptions, dialogs and requests to any origin
// other than BASE_ORIGIN. close() asserts that none happened, apart from
// console errors that the test declared with allowConsoleError().
export class PageSession {
  static async open(browser, options = {}) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
    const page = await context.newPage();
    return new PageSession(context, page);
  }

  constructor(context, page) {
    this.context = context;
    this.page = page;
    this.consoleErrors = [];
    this.pageErrors = [];
    this.foreignRequests = [];
    this.dialogs = [];
    this.allowedConsoleErrors = [];

    page.on('console', (message) => {
      if (message.type() === 'error') this.consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => this.pageErrors.push(String(error)));
    page.on('dialog', (dialog) => {
      this.dialogs.push(dialog.message());
      dialog.dismiss().catch(() => {});
    });
    context.on('request', (sent) => {
      const url = sent.url();
      if (!url.startsWith('data:') && new URL(url).origin !== BASE_ORIGIN) this.foreignRequests.push(url);
    });
  }

  // Declares console errors that the test causes on purpose, such as the
  // "Failed to load resource" line Chromium writes for a 503.
  allowConsoleError(pattern) {
    this.allowedConsoleErrors.push(pattern);
  }

  async goto(path = '/') {
    const response = await this.page.goto(BASE_URL + path);
    assert.equal(response.status(), 200, `GET ${path}`);
    return response;
  }

  async close() {
    await this.context.close();
    const unexpected = this.consoleErrors.filter(
      (text) => !this.allowedConsoleErrors.some((pattern) => pattern.test(text)));
    assert.deepEqual(unexpected, [], 'console errors');
    assert.deepEqual(this.pageErrors, [], 'uncaught exceptions in the page');
    assert.deepEqual(this.dialogs, [], 'dialogs opened by the page');
    assert.deepEqual(this.foreignRequests, [], `requests to origins other than ${BASE_ORIGIN}`);
  }
}

// ---- The todo API, for fixtures and for checking what the server stored ----

let api;

async function apiContext() {
  api ??= await request.newContext({ baseURL: BASE_URL });
  return api;
}

export async function disposeApi() {
  if (api) await api.dispose();
  api = undefined;
}

export async function listTodos() {
  const response = await (await apiContext()).get('/api/todos');
  assert.equal(response.status(), 200, 'GET /api/todos');
  return response.json();
}

export async function storedTexts() {
  return (await listTodos()).map((todo) => todo.text);
}

export async function resetTodos() {
  const context = await apiContext();
  for (const todo of await listTodos()) {
    const response = await context.delete(`/api/todos/${todo.id}`);
    assert.equal(response.status(), 204, `DELETE /api/todos/${todo.id}`);
  }
}

// Creates todos in list order. An entry is a text, or { text, done }.
// Returns the created todos as the API returned them.
export async function createTodos(entries) {
  const context = await apiContext();
  const created = [];
  for (const entry of entries) {
    const { text, done = false } = typeof entry === 'string' ? { text: entry } : entry;
    let response = await context.post('/api/todos', { data: { text } });
    assert.equal(response.status(), 201, `POST /api/todos ${text}`);
    let todo = await response.json();
    if (done) {
      response = await context.patch(`/api/todos/${todo.id}`, { data: { done: true } });
      assert.equal(response.status(), 200, `PATCH /api/todos/${todo.id}`);
      todo = await response.json();
    }
    created.push(todo);
  }
  return created;
}

// ---- Page helpers ---------------------------------------------------------

export function row(page, text) {
  return page.locator('#todo-list > li.todo').filter({ has: page.locator('.text', { hasText: text }) });
}

export async function rowTexts(page) {
  return page.locator('#todo-list > li.todo .text').allTextContents();
}

// Waits until the live region `selector` shows exactly `text`, and returns it.
export async function waitForText(page, selector, text) {
  await page.waitForFunction(
    ([target, expected]) => document.querySelector(target)?.textContent === expected,
    [selector, text], { timeout: WAIT_MS });
  return page.locator(selector).textContent();
}

// Calls `read` until its result deep-equals `expected`, then returns it.
// Fails with the last result after WAIT_MS.
export async function eventually(read, expected, message) {
  const deadline = Date.now() + WAIT_MS;
  let actual;
  for (;;) {
    actual = await read();
    try {
      assert.deepEqual(actual, expected);
      return actual;
    } catch (error) {
      if (Date.now() > deadline) throw new assert.AssertionError({ message, actual, expected, operator: 'deepEqual' });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));  // polling the server
  }
}

// Marks the current document, so a test can tell that an action updated the
// page in place instead of loading a new one.
export async function markDocument(page) {
  await page.evaluate(() => { window.todoTestMarker = true; });
}

export async function documentIsMarked(page) {
  return page.evaluate(() => window.todoTestMarker === true);
}

export async function screenshot(page, name) {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true, animations: 'disabled' });
}

export async function saveOutput(relativePath, content) {
  const path = join(OUTPUT_DIR, relativePath);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}

// ---- CSV ------------------------------------------------------------------

// Splits RFC 4180 text into rows of fields. Returns the rows and the line
// ends seen, so tests can check both.
export function parseCsv(text) {
  const rows = [];
  const lineEnds = new Set();
  let fields = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\r' || c === '\n') {
      if (c === '\n') {
        lineEnds.add('LF');
      } else if (text[i + 1] === '\n') {
        lineEnds.add('CRLF');
        i++;
      } else {
        lineEnds.add('CR');
      }
      fields.push(field);
      rows.push(fields);
      fields = [];
      field = '';
    } else {
      field += c;
    }
  }
  if (field !== '' || fields.length > 0) {
    fields.push(field);
    rows.push(fields);
  }
  return { rows, lineEnds: [...lineEnds] };
}

export const CSV_HEADER = ['id', 'text', 'done', 'position', 'created_at'];

// Todos for the export tests: one done, one that needs CSV quoting and one
// that a spreadsheet would run as a formula.
export const EXPORT_FIXTURE = [
  'Buy milk',
  { text: 'Walk the dog', done: true },
  'Call mum, "soon"',
  '=1+2',
];

// Checks a downloaded export against the todos it should contain, in order.
export function assertExportRows(content, todos) {
  const { rows, lineEnds } = parseCsv(content);
  assert.deepEqual(lineEnds, ['CRLF']);
  assert.deepEqual(rows[0], CSV_HEADER);
  assert.deepEqual(rows.slice(1).map((fields) => fields.slice(0, 4)), todos.map((todo) => [
    String(todo.id),
    /^[=+\-@\t\r]/.test(todo.text) ? `'${todo.text}` : todo.text,
    String(todo.done),
    String(todo.position),
  ]));
  for (const fields of rows.slice(1)) assert.match(fields[4], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
}
