// Builds the rich-text editor bundle: node build.mjs (after npm ci).
//
// The output, dist/editor.js (beside the hand-written dist/editor.css), is committed so Go builds
// never need npm; assets.go embeds both for the services whose pages edit rich text. Its first
// line is a banner carrying the SHA-256 of the sources it was built from:
//
//   /* rose-ash editor bundle; source sha256: <hex> */
//
// <hex> is the SHA-256 of the contents of every file under src/ (recursively), taken in order of
// their slash-separated paths relative to src/ compared byte by byte, followed by the contents of
// package-lock.json, all concatenated with nothing in between. editor_test.go recomputes the
// same hash and fails when the committed bundle is stale. Keep the two rules identical.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const srcDir = join(here, 'src');
const outfile = join(here, 'dist', 'editor.js');

// files lists the regular files under dir as slash-separated paths relative to dir.
function files(dir, prefix = '') {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix + entry.name;
    if (entry.isDirectory()) out.push(...files(join(dir, entry.name), rel + '/'));
    else if (entry.isFile()) out.push(rel);
  }
  return out;
}

// Byte-wise comparison of the UTF-8 encodings, the same order as Go's sort.Strings.
const byBytes = (a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

export function sourceHash() {
  const hash = createHash('sha256');
  for (const rel of files(srcDir).sort(byBytes)) {
    hash.update(readFileSync(join(srcDir, ...rel.split('/'))));
  }
  hash.update(readFileSync(join(here, 'package-lock.json')));
  return hash.digest('hex');
}

const banner = `/* rose-ash editor bundle; source sha256: ${sourceHash()} */`;

await esbuild.build({
  absWorkingDir: here,
  entryPoints: ['src/editor.js'],
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2019',
  sourcemap: false,
  legalComments: 'eof',
  define: { 'process.env.NODE_ENV': '"production"' },
  banner: { js: banner },
  outfile,
  logLevel: 'info',
});
