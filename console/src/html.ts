import { h } from 'preact'
import htm from 'htm'

/** Tagged templates for Preact: markup without a JSX compile step. */
export const html = htm.bind(h)
