// The web interface's public names (the registry mounts the router; tests check the CSP).
export { createWebRouter, CONTENT_SECURITY_POLICY, type WebRouterOptions } from './router.js';
export { DEFAULT_WEB_ASSETS_DIR, WEB_BUNDLE } from './assets.js';
export { html, escapeHtml, providerText, inspectText, uiPath, Html, type HtmlValue, type SuspiciousText } from './html.js';
export { wordDiff, type DiffPart } from './diff.js';
