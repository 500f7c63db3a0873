'use strict'

// Bundles the console (script and styles, libraries included) into dist/web, so the node serves every asset itself.
const path = require('node:path')
const fs = require('node:fs')
const zlib = require('node:zlib')
const esbuild = require('esbuild')

const out = path.join(__dirname, '..', 'dist', 'web')

async function build () {
  fs.mkdirSync(out, { recursive: true })
  await esbuild.build({
    entryPoints: { console: path.join(__dirname, 'src', 'main.ts') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    sourcemap: true,
    legalComments: 'linked',
    outdir: out,
    logLevel: 'warning'
  })
  await esbuild.build({
    entryPoints: { console: path.join(__dirname, 'style.css') },
    bundle: true,
    minify: true,
    outdir: out,
    logLevel: 'warning'
  })
  fs.copyFileSync(path.join(__dirname, 'index.html'), path.join(out, 'index.html'))
  // Compressed copies, served to browsers that accept them: the script, mostly mqtt.js, shrinks to under a third.
  for (const name of ['console.js', 'console.css']) {
    const file = fs.readFileSync(path.join(out, name))
    fs.writeFileSync(path.join(out, `${name}.br`), zlib.brotliCompressSync(file))
    fs.writeFileSync(path.join(out, `${name}.gz`), zlib.gzipSync(file, { level: 9 }))
  }
}

build().catch((err) => {
  console.error(err)
  process.exit(1)
})
