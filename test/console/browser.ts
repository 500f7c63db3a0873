import fs from 'node:fs'
import path from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { SECRETS } from '../helpers/node'
import { underCi } from '../helpers/redis'

interface Teardown { teardown (fn: () => unknown): void }

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Where the test run writes screenshots for a person to look at (git-ignored). */
export const SCREENSHOTS = path.resolve(__dirname, '..', '..', '..', 'reports', 'screenshots')

/** How long a page may take to show what the node just did: generous, since the machine may be loaded. */
export const UI_TIMEOUT_MS = 15_000

/**
 * A reason to skip when Chromium is not installed; under CI nothing is
 * skipped, so a missing browser fails the run instead.
 */
export function chromiumMissing (): string | false {
  if (underCi() || fs.existsSync(CHROMIUM)) return false
  return `no Chromium at ${CHROMIUM} (Debian package chromium); set CHROMIUM_PATH`
}

/**
 * Headless Chromium, closed when `t` ends. A file's tests share one (launching
 * costs seconds of CPU); each page gets its own context, so nothing is shared
 * between them but the browser process.
 */
export async function launchBrowser (t: Teardown): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  t.teardown(() => browser.close())
  return browser
}

/**
 * One browser for every test of a file: launched before the first, closed
 * after the last; nothing is launched when the tests are skipped. A test gets
 * it with `browser(t)`; the pages it opened are closed when that test ends,
 * so none of them keeps talking to a node that is gone.
 */
export function sharedBrowser (t: tap.Test): (test: Teardown) => Browser {
  let browser: Browser | null = null
  if (chromiumMissing() === false) t.before(async () => { browser = await launchBrowser(t) })
  return (test) => {
    const running = browser
    if (running === null) throw new Error('the browser is not running: call sharedBrowser(t) at the top of the file')
    test.teardown(() => Promise.all(running.contexts().map((context) => context.close())))
    return running
  }
}

export interface ConsolePage {
  page: Page
  /** Script errors and policy violations seen by the page; failed HTTP statuses (401, 404) are expected and left out. */
  problems: string[]
  /** Every URL the page asked for. */
  requests: string[]
}

/** A fresh page (its own context: no shared memory) on the node's console, phone-sized unless told. */
export async function openConsole (browser: Browser, httpUrl: string, viewport = { width: 412, height: 915 }): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport })
  const page = await context.newPage()
  const problems: string[] = []
  const requests: string[] = []
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console: ${message.text()}`)
  })
  page.on('request', (request) => requests.push(request.url()))
  await page.goto(`${httpUrl}/console`)
  return { page, problems, requests }
}

/** Fills the sign-in form as a person would and submits it. */
export async function signIn (page: Page, username: string, password = SECRETS[username] ?? ''): Promise<void> {
  await page.getByLabel('Identity name').fill(username)
  await page.getByLabel('Secret or token').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

/** Waits until the view's MQTT connection is up. */
export async function waitLive (page: Page): Promise<void> {
  await page.locator('[data-link="online"]').waitFor({ timeout: UI_TIMEOUT_MS })
}

export async function screenshot (page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true })
}

/** What the page left in the browser's storage: local and session storage sizes and cookies. */
export async function storedInBrowser (page: Page): Promise<unknown> {
  // A string, since the test program has no DOM types.
  return await page.evaluate('[localStorage.length, sessionStorage.length, document.cookie]')
}

/** Whether a URL the page asked for is the node's own: its HTTP routes, its WebSocket, or a blob the page made. */
export function sameOrigin (url: string, httpUrl: string): boolean {
  const host = new URL(httpUrl).host
  const parsed = new URL(url.startsWith('blob:') ? url.slice('blob:'.length) : url)
  return parsed.host === host && ['http:', 'ws:'].includes(parsed.protocol)
}
