import t from 'tap'
import type { Page, Route } from 'playwright-core'
import { basic } from '../helpers/http'
import { startTestNode } from '../helpers/node'
import { chromiumMissing, launchBrowser, openConsole, signIn, UI_TIMEOUT_MS, waitLive } from './browser'

interface Teardown { teardown (fn: () => unknown): void }

/**
 * The call records (`GET /api/calls`) and the directory administration
 * (`/api/admin/...`) are answered here in the shapes the wire contract gives
 * them, so the views are checked against that shape on any node; the live
 * parts still come from the real node.
 */

function ok (route: Route, data: unknown): Promise<void> {
  return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ code: 0, message: 'success', data }) })
}

function ended (id: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  const start = Date.now() - 3_600_000
  return {
    call_id: `call-20261129-${id.padStart(12, '0')}`,
    status: 'ended',
    provider: 'trtc',
    device_device_id: '1',
    target_resident_ids: ['2', '3'],
    resident_id: '2',
    household_number: '101',
    start_time: start,
    answer_time: start + 4000,
    end_time: start + 60_000,
    end_reason: 'hangup',
    last_activity: start + 60_000,
    call_info: { call_id: `call-20261129-${id.padStart(12, '0')}`, action: 'hangup', reason: null, timestamp: start + 60_000 },
    history: [
      { action: 'ringing', actor: 'device/1', reason: null, timestamp: start, seq: 1 },
      { action: 'answered', actor: 'resident/2', reason: null, timestamp: start + 4000, seq: 2 },
      { action: 'hangup', actor: 'device/1', reason: null, timestamp: start + 60_000, seq: 3 }
    ],
    legs: [{ resident_id: '2', state: 'answered' }, { resident_id: '3', state: 'cancelled' }],
    ended_by: 'device/1',
    seq: 3,
    ...fields
  }
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

t.test('the call log pages with next_cursor, filters through the query, and shows a call\'s history', { skip: chromiumMissing() }, async (t) => {
  const asked: URL[] = []
  const { page, problems } = await operator(t, async (page) => {
    await page.route('**/api/calls?*', async (route) => {
      const url = new URL(route.request().url())
      asked.push(url)
      t.equal(route.request().headers().authorization, basic('service/ops'), 'asked with the signed-in identity')
      const q = url.searchParams
      if (q.get('status') === 'ringing') return await ok(route, { items: [ended('9', { status: 'ringing', answer_time: null, end_time: null, end_reason: null, resident_id: null, seq: 1, legs: [{ resident_id: '2', state: 'ringing' }] })], next_cursor: null })
      if (q.get('status') === 'connected') return await ok(route, { items: [], next_cursor: null })
      if (q.has('since')) return await ok(route, { items: [ended('c1'), ended('c2', { answer_time: null, end_reason: 'timeout', resident_id: null })], next_cursor: null })
      if (q.get('device_id') === '5') return await ok(route, { items: [ended('5', { device_device_id: '5', household_number: '201' })], next_cursor: null })
      if (q.get('cursor') === 'page-2') return await ok(route, { items: [ended('3')], next_cursor: null })
      return await ok(route, { items: [ended('1'), ended('2', { answer_time: null, resident_id: null, end_reason: 'rejected' })], next_cursor: 'page-2' })
    })
  })
  await page.locator('#calls-in-progress [data-call-id="call-20261129-000000000009"][data-status="ringing"]').waitFor({ timeout: UI_TIMEOUT_MS })
  t.pass('a call already ringing when the page opened is listed in progress')
  const rows = page.locator('#call-log tbody tr')
  await page.locator('#call-log tbody tr >> nth=1').waitFor({ timeout: UI_TIMEOUT_MS })
  t.equal(await rows.count(), 2)
  await page.getByRole('button', { name: 'Load more' }).click()
  await page.locator('#call-log tbody tr >> nth=2').waitFor({ timeout: UI_TIMEOUT_MS })
  t.equal(await page.getByRole('button', { name: 'Load more' }).count(), 0, 'no more pages after a null next_cursor')
  t.match(asked.find((u) => u.searchParams.get('cursor') === 'page-2')?.searchParams.get('limit'), '50')

  const filters = page.getByRole('form', { name: 'Call log filters' })
  await filters.getByLabel('Device', { exact: true }).fill('5')
  await filters.getByRole('button', { name: 'Apply' }).click()
  await page.locator('#call-log tbody tr[data-call-id="call-20261129-000000000005"]').waitFor({ timeout: UI_TIMEOUT_MS })
  t.equal(await rows.count(), 1, 'the filtered page replaces the list')
  const filtered = asked.find((u) => u.searchParams.get('device_id') === '5')
  t.notOk(filtered?.searchParams.has('cursor'), 'a new filter starts from the first page')

  await rows.getByRole('button').click()
  const history = page.locator('[id="history-call-20261129-000000000005"]')
  await history.locator('tbody tr >> nth=2').waitFor({ timeout: UI_TIMEOUT_MS })
  t.same(await history.locator('tbody tr td:nth-child(2)').allTextContents(), ['ringing', 'answered', 'hangup'])

  const summary = await page.locator('#day-chart .summary').textContent()
  t.match(summary, /1 answered, 1 missed/, 'the chart counts the last day by outcome')
  t.match(summary, /median answer time 4 s/)
  t.equal(await page.locator('#day-chart canvas').count(), 1, 'the chart is drawn')
  t.same(problems, [])
})

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
