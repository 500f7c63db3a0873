import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import UPlot from 'uplot'
import { html } from '../html'
import { isUnavailable, type Api } from '../api'
import { callsQuery, noFilters } from '../logic/call-log'
import { dayChart, HOUR, OUTCOMES, type DayChart, type Outcome } from '../logic/chart-data'
import type { CallPage, CallView } from '../logic/wire'

const COLOURS: Record<Outcome, string> = {
  answered: '#1b7f3b',
  missed: '#c25400',
  rejected: '#b00020',
  cancelled: '#5a5a9e',
  failed: '#6b6b6b'
}

/** A day holds at most this many pages of 200 calls in the chart; more would slow the page, not inform. */
const MAX_PAGES = 10

type Load = 'loading' | 'ready' | 'unavailable' | 'failed'

function draw (target: HTMLElement, chart: DayChart): UPlot {
  const options: UPlot.Options = {
    width: Math.max(280, target.clientWidth),
    height: 220,
    scales: { x: { time: true }, n: { range: (_u, _min, max) => [0, Math.max(1, max)] }, s: {} },
    series: [
      {},
      ...OUTCOMES.map((o) => ({ label: o, stroke: COLOURS[o], width: 2, scale: 'n', points: { show: true, size: 5 } })),
      { label: 'median answer (s)', stroke: '#222', dash: [4, 4], scale: 's', spanGaps: false }
    ],
    axes: [{}, { scale: 'n', label: 'calls per hour' }, { scale: 's', side: 1, label: 'answer time (s)', grid: { show: false } }]
  }
  const data: UPlot.AlignedData = [chart.hours, ...OUTCOMES.map((o) => chart.counts[o]), chart.medianAnswerSeconds]
  return new UPlot(options, data, target)
}

/** The last 24 hours of ended calls by outcome, and answer times, from the log and the live events. */
export function DayChartPanel ({ api, liveEnded }: { api: Api, liveEnded: readonly CallView[] }) {
  const [fetched, setFetched] = useState<CallView[]>([])
  const [load, setLoad] = useState<Load>('loading')
  const [now, setNow] = useState(Date.now())
  const target = useRef<HTMLDivElement>(null)

  async function refresh (): Promise<void> {
    setLoad('loading')
    const at = Date.now()
    const ended = { ...noFilters, status: 'ended' }
    const collected: CallView[] = []
    let cursor: string | null = null
    try {
      for (let page = 0; page < MAX_PAGES; page++) {
        const query = `${callsQuery(ended, cursor, 200)}&since=${at - 24 * HOUR}`
        const result: CallPage = await api.get<CallPage>(`/api/calls?${query}`)
        collected.push(...result.items)
        cursor = result.next_cursor
        if (cursor === null) break
      }
      setFetched(collected)
      setNow(at)
      setLoad('ready')
    } catch (err) {
      setLoad(isUnavailable(err) ? 'unavailable' : 'failed')
    }
  }

  useEffect(() => { refresh().catch(() => {}) }, [])

  const chart = useMemo(() => dayChart([...liveEnded, ...fetched], Math.max(now, liveEnded[0]?.start_time ?? 0)), [liveEnded, fetched, now])

  useEffect(() => {
    if (target.current === null) return
    const plot = draw(target.current, chart)
    return () => plot.destroy()
  }, [chart])

  const summary = OUTCOMES.map((o) => `${chart.totals[o]} ${o}`).join(', ')
  return html`<section aria-labelledby="chart-title" class="panel wide" id="day-chart">
    <h2 id="chart-title">Last 24 hours</h2>
    ${load === 'unavailable' ? html`<p class="notice" role="note" data-testid="chart-unavailable">The call history is not available on this node; the chart counts only calls that end while this page is open.</p>` : null}
    ${load === 'failed' ? html`<p class="error" role="alert">Could not load the last 24 hours of calls.</p>` : null}
    <div ref=${target} class="chart" role="img" aria-label=${`Calls per hour by outcome over the last 24 hours: ${summary}`}></div>
    <p class="summary">${summary}; median answer time ${chart.overallMedianAnswerSeconds === null ? '—' : `${chart.overallMedianAnswerSeconds} s`}.${' '}
      <button type="button" class="link-button" onClick=${() => { refresh().catch(() => {}) }}>Refresh</button></p>
  </section>`
}
