import { html, providerText, uiPath, type Html } from '../html.js';

const split = (toolId: string): [string, string] => {
  const slash = toolId.indexOf('/');
  return [toolId.slice(0, slash), toolId.slice(slash + 1)];
};

export const toolHref = (toolId: string): string => uiPath(['ui', 'tools', { value: split(toolId)[0] }, { value: split(toolId)[1] }]);
export const versionHref = (toolId: string, version: string): string =>
  uiPath(['ui', 'tools', { value: split(toolId)[0] }, { value: split(toolId)[1] }, 'versions', { value: version }]);
export const compareHref = (toolId: string, from: string, to: string): string =>
  uiPath(['ui', 'tools', { value: split(toolId)[0] }, { value: split(toolId)[1] }, 'compare'], { from, to });
export const namespaceHref = (namespace: string): string => uiPath(['ui', 'namespaces', { value: namespace }]);
export const logEntryHref = (index: number): string => uiPath(['ui', 'log'], { start: index, inclusion: index });

/** A tool id as a link to its page (the id is schema-checked ASCII, still escaped and encoded). */
export const toolLink = (toolId: string): Html => html`<a href="${toolHref(toolId)}"><code>${providerText(toolId)}</code></a>`;
export const namespaceLink = (namespace: string): Html => html`<a href="${namespaceHref(namespace)}"><code>${providerText(namespace)}</code></a>`;

/** An ISO time as a <time> element. */
export const time = (iso: string): Html => html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')}</time>`;
