/**
 * MQTT topic filter rules (MQTT 3.1.1 §4.7), on topics split into levels.
 * Kept allocation-light: these run on every publish and subscribe.
 */

/**
 * The MQTT parser decodes a topic's invalid UTF-8 bytes to U+FFFD: such a
 * topic or filter is refused (MQTT-1.5.3-1) rather than passed on altered.
 */
const REPLACEMENT_CHARACTER = '\uFFFD'

/** A well-formed filter: `#` only as the last whole level, `+` only as a whole level. */
export function isValidFilter (filter: string): boolean {
  if (filter.length === 0 || filter.includes('\u0000') || filter.includes(REPLACEMENT_CHARACTER)) return false
  const levels = filter.split('/')
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string
    if (level === '#') {
      if (i !== levels.length - 1) return false
    } else if (level !== '+' && (level.includes('#') || level.includes('+'))) {
      return false
    }
  }
  return true
}

/** A topic name one may publish on: not empty, no wildcard, no NUL, no invalid UTF-8. */
export function isValidTopicName (topic: string): boolean {
  return topic.length > 0 && !topic.includes('+') && !topic.includes('#') && !topic.includes('\u0000') && !topic.includes(REPLACEMENT_CHARACTER)
}

/** Does `filter` match the topic name? Wildcards never match a `$` topic at the first level. */
export function filterMatches (filter: readonly string[], topic: readonly string[]): boolean {
  if (topic.length > 0 && (topic[0] as string).startsWith('$') && filter[0] !== topic[0]) return false
  for (let i = 0; i < filter.length; i++) {
    const f = filter[i]
    if (f === '#') return true
    if (i >= topic.length) return false
    if (f !== '+' && f !== topic[i]) return false
  }
  return filter.length === topic.length
}

/**
 * Does `allowed` cover every topic that `requested` can match? A subscription
 * is granted only inside what the identity may read.
 */
export function filterCovers (allowed: readonly string[], requested: readonly string[]): boolean {
  for (let i = 0; i < allowed.length; i++) {
    const a = allowed[i]
    if (a === '#') return true
    if (i >= requested.length) return false
    const r = requested[i]
    if (r === '#') return false
    if (a === '+') continue
    if (r === '+' || a !== r) return false
  }
  return allowed.length === requested.length
}
