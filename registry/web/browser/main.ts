// The web interface's one browser script (bundled by build.ts): each page that checks something
// itself says which in <body data-page>; the pages work without it for browsing. Each part is its
// own chunk, loaded only on its page (the lockfile review carries the TR39 confusables table).
const main = document.getElementById('main');
if (main !== null) {
  const which = document.body.dataset.page;
  if (which === 'version') void import('./verify-version.js').then((m) => m.verifyVersionPage(main));
  else if (which === 'lockfile') void import('./review-lockfile.js').then((m) => m.reviewLockfilePage(main));
  else if (which === 'log') void import('./log-page.js').then((m) => m.checkLogPage(main));
}
