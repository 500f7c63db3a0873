/** A result table: what it measured, how, and its rows. */
export interface Table {
  title: string
  /** One line on the method and what bounds the figures. */
  note: string
  columns: string[]
  rows: string[][]
}

const FIGURE = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 })
const INTEGER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

/** Three significant digits, thousands separated; "n/a" for a missing figure. */
export function figure (n: number): string {
  if (!Number.isFinite(n)) return 'n/a'
  return Math.abs(n) >= 1000 ? INTEGER.format(n) : FIGURE.format(n)
}

export function times (r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a'
}

export function renderTable (table: Table): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`
  return [
    `### ${table.title}`,
    '',
    table.note,
    '',
    line(table.columns),
    line(table.columns.map(() => '---')),
    ...table.rows.map(line),
    ''
  ].join('\n')
}
