import { html, type Html } from './html.js';

/** Where the browser script and the style sheet are served (router.ts). */
export const ASSET_PATH = '/ui/assets';

export interface PageOptions {
  title: string;
  /** `data-page` of <body>: which part of the browser script runs (none for pure browsing pages). */
  page?: 'version' | 'lockfile' | 'log';
  /** Data the browser script reads (data-* attributes of <main>): never provider markup. */
  data?: Record<string, string | number>;
}

/**
 * The document around every page: semantic landmarks, a skip link, one external style sheet and,
 * on the pages that verify, one external module script (the CSP forbids inline script and style).
 */
export function page(options: PageOptions, body: Html): string {
  const data = Object.entries(options.data ?? {}).map(([k, v]) => html` data-${k}="${v}"`);
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${options.title} · ETDI registry</title>
<link rel="stylesheet" href="${ASSET_PATH}/style.css">
${options.page === undefined ? '' : html`<script type="module" src="${ASSET_PATH}/web.js"></script>`}
</head>
<body${options.page === undefined ? '' : html` data-page="${options.page}"`}>
<a class="skip" href="#main">Skip to content</a>
<header class="site">
<nav aria-label="Registry">
<a class="brand" href="/">ETDI registry</a>
<ul>
<li><a href="/">Search</a></li>
<li><a href="/ui/log">Log</a></li>
<li><a href="/ui/lockfile">Review a lockfile</a></li>
<li><a href="/openapi.json">API</a></li>
</ul>
</nav>
</header>
<main id="main" tabindex="-1"${data}>
${body}
</main>
<footer class="site"><p>Everything on these pages written by providers (names, titles, descriptions, schemas, policies) is shown as text; marked characters are bidirectional controls, invisible characters or look-alikes.</p></footer>
</body>
</html>
`.text;
}
