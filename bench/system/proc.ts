import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

let ticksPerSecond: number | undefined

function clockTicks (): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  return ticksPerSecond
}

/** CPU time (user + system, every thread) a process has used, in seconds; 10 ms resolution. */
export function cpuSeconds (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which may itself hold spaces: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / clockTicks()
}

/** Resident set size, in bytes. */
export function rssBytes (pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (match === null) throw new Error(`no VmRSS for process ${pid}: is it still running?`)
  return Number(match[1]) * 1024
}

export function openFiles (pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

/** The soft open-file limit the process runs with. */
export function openFileLimit (pid: number): number {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))
  return match === null || match[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(match[1])
}

export interface Usage { cpu: number, rss: number, files: number }

export function usage (pid: number): Usage {
  return { cpu: cpuSeconds(pid), rss: rssBytes(pid), files: openFiles(pid) }
}
