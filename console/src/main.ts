import { render } from 'preact'
import { html } from './html'
import { App } from './app'

const root = document.getElementById('app')
if (root !== null) render(html`<${App} />`, root)
