import t from 'tap'
import type { Page } from 'playwright-core'
import { startTestNode } from '../helpers/node'
import { admin, directoryCopy } from '../directory/helpers'
import { chromiumMissing, openConsole, signIn, UI_TIMEOUT_MS, waitLive, sharedBrowser } from './browser'

const browser = sharedBrowser(t)

interface Teardown { teardown (fn: () => unknown): void }

/**
 * The operator view administers the directory through the node's real
 * `/api/admin/...` routes, signed in as the demo service; each change is then
 * read back from the node. The call log is checked on a real node's call
 * records in call-log.test.ts.
 */

async function operator (t: Teardown, env: Record<string, string>, setUp: (page: Page) => Promise<void> = async () => {}) {
  const { httpUrl } = await startTestNode(t, env)
  const opened = await openConsole(browser(t), httpUrl, { width: 1280, height: 900 })
  await setUp(opened.page)
  await signIn(opened.page, 'service/ops')
  await waitLive(opened.page)
  return { ...opened, httpUrl }
}

/** The residents of each household in the node's directory, as the admin routes give it. */
async function households (httpUrl: string): Promise<Record<string, string[]>> {
  const { status, body } = await admin(httpUrl, 'GET', '/api/admin/directory')
  if (status !== 200) throw new Error(`GET /api/admin/directory answered ${status}`)
  return Object.fromEntries((body.data.households as Array<{ number: string, residents: string[] }>).map((h) => [h.number, h.residents]))
}

t.test('the directory: households and residents, add a resident, take one out, delete one', { skip: chromiumMissing() }, async (t) => {
  // A copy: a node alone writes its directory changes back to its file.
  const { page, problems, httpUrl } = await operator(t, { INTERCOM_DIRECTORY: directoryCopy(t) })
  const changes: string[] = []
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname
    if (path.startsWith('/api/admin/') && request.method() !== 'GET') changes.push(`${request.method()} ${path} ${request.postData() ?? ''}`)
  })
  const household = page.locator('#directory [data-household="101"]')
  await household.waitFor({ timeout: UI_TIMEOUT_MS })
  t.match(await household.textContent(), /2.*3/)
  await page.locator('#devices [data-device="5"][data-online="false"]').waitFor({ timeout: UI_TIMEOUT_MS })

  const form = page.getByRole('form', { name: 'Add a resident' })
  await form.getByLabel('Resident id').fill('7')
  await form.getByLabel('Secret').fill('res-7-secret')
  await form.getByLabel('Household').selectOption('101')
  await form.getByRole('button', { name: 'Add resident' }).click()
  await household.locator('[data-resident="7"]').waitFor({ timeout: UI_TIMEOUT_MS })
  t.same(changes.splice(0), [
    'PUT /api/admin/residents/7 {"secret":"res-7-secret"}',
    'PUT /api/admin/households/101 {"residents":["2","3","7"]}'
  ])
  t.same((await households(httpUrl))['101'], ['2', '3', '7'], 'the node has resident 7 in household 101')
  t.equal((await admin(httpUrl, 'GET', '/api/admin/directory')).body.data.residents.some((r: { id: string }) => r.id === '7'), true, 'and knows resident 7')

  await page.getByRole('button', { name: 'Take resident 3 out of household 101' }).click()
  await household.locator('[data-resident="3"]').waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS })
  t.same(changes.splice(0), ['PUT /api/admin/households/101 {"residents":["2","7"]}'])
  t.same((await households(httpUrl))['101'], ['2', '7'], 'the node took resident 3 out')

  page.once('dialog', (dialog) => { dialog.accept().catch(() => {}) })
  await page.getByRole('button', { name: 'Delete resident 2' }).click()
  await household.locator('[data-resident="2"]').waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS })
  t.same(changes.splice(0), ['DELETE /api/admin/residents/2 '])
  t.same((await households(httpUrl))['101'], ['7'], 'the node deleted resident 2 and took it out of its household')
  t.same(problems, [])
})

t.test('without the call records and directory routes, the operator view says they are not available', { skip: chromiumMissing() }, async (t) => {
  const { page, problems } = await operator(t, {}, async (page) => {
    await page.route(/\/api\/(calls|admin)\b/, (route) => route.fulfill({
      status: 404,
      contentType: 'application/json',
      body: JSON.stringify({ code: 404, message: 'no route', error: 'not_found', data: null })
    }))
  })
  for (const id of ['log-unavailable', 'chart-unavailable', 'directory-unavailable']) {
    await page.getByTestId(id).waitFor({ timeout: UI_TIMEOUT_MS })
  }
  t.equal(await page.locator('#call-log .error').count(), 0, 'not an error, a clear state')
  t.same(problems, [])
})
