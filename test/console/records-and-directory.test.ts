import t from 'tap'
import type { Page, Route } from 'playwright-core'
import { startTestNode } from '../helpers/node'
import { chromiumMissing, launchBrowser, openConsole, signIn, UI_TIMEOUT_MS, waitLive } from './browser'

interface Teardown { teardown (fn: () => unknown): void }

/**
 * The directory administration (`/api/admin/...`) is answered here in the
 * shapes the wire contract gives it, so the view is checked against that shape
 * on any node; the live parts still come from the real node. The call log is
 * checked on a real node's call records in call-log.test.ts.
 */

function ok (route: Route, data: unknown): Promise<void> {
  return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ code: 0, message: 'success', data }) })
}

async function operator (t: Teardown, setUp: (page: Page) => Promise<void>) {
  const { httpUrl } = await startTestNode(t)
  const browser = await launchBrowser(t)
  const opened = await openConsole(browser, httpUrl, { width: 1280, height: 900 })
  await setUp(opened.page)
  await signIn(opened.page, 'service/ops')
  await waitLive(opened.page)
  return opened
}

t.test('the directory: households and residents, add a resident, take one out, delete one', { skip: chromiumMissing() }, async (t) => {
  const directory = {
    devices: [{ id: '1', households: ['101', '102'] }, { id: '5', households: ['201'] }],
    households: [{ number: '101', residents: ['2', '3'] }, { number: '102', residents: ['4'] }, { number: '201', residents: ['6'] }],
    residents: [{ id: '2' }, { id: '3' }, { id: '4' }, { id: '6' }],
    services: [{ name: 'ops' }],
    clients: []
  }
  const changes: string[] = []
  const { page, problems } = await operator(t, async (page) => {
    await page.route('**/api/admin/**', async (route) => {
      const request = route.request()
      const path = new URL(request.url()).pathname
      if (request.method() === 'GET') return await ok(route, directory)
      changes.push(`${request.method()} ${path} ${request.postData() ?? ''}`)
      const [, , , kind, id = ''] = path.split('/')
      if (kind === 'residents' && request.method() === 'PUT') directory.residents.push({ id })
      if (kind === 'residents' && request.method() === 'DELETE') {
        for (const h of directory.households) h.residents = h.residents.filter((r) => r !== id)
        return await ok(route, { deleted: `resident/${id}` })
      }
      if (kind === 'households') {
        const household = directory.households.find((h) => h.number === id)
        if (household !== undefined) household.residents = (JSON.parse(request.postData() ?? '{}') as { residents: string[] }).residents
      }
      return await ok(route, {})
    })
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

  await page.getByRole('button', { name: 'Take resident 3 out of household 101' }).click()
  await household.locator('[data-resident="3"]').waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS })
  t.same(changes.splice(0), ['PUT /api/admin/households/101 {"residents":["2","7"]}'])

  page.once('dialog', (dialog) => { dialog.accept().catch(() => {}) })
  await page.getByRole('button', { name: 'Delete resident 2' }).click()
  await household.locator('[data-resident="2"]').waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS })
  t.same(changes.splice(0), ['DELETE /api/admin/residents/2 '])
  t.same(problems, [])
})

t.test('without the call records and directory routes, the operator view says they are not available', { skip: chromiumMissing() }, async (t) => {
  const { page, problems } = await operator(t, async (page) => {
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
