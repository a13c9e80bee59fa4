/** The one style sheet (served as /ui/assets/style.css: the CSP allows no inline style). */
export const STYLE_CSS = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #fff; --muted: #59636e; --line: #d1d9e0; --accent: #0b57d0;
  --ok: #1a7f37; --bad: #c62828; --warn-bg: #fff4ce; --esc-bg: #ffe3e3; --add: #dafbe1; --del: #ffebe9; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --line: #3d444d; --accent: #6ea8fe;
  --ok: #3fb950; --bad: #ff7b72; --warn-bg: #4b3b00; --esc-bg: #5a1d1d; --add: #12361f; --del: #4c1d1d; } }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
main, header.site nav, footer.site { max-width: 72rem; margin: 0 auto; padding: 0 1rem; }
main { overflow-wrap: break-word; } /* a provider's long unbroken text (a URL, markup shown as text) wraps instead of widening the page */
header.site { border-bottom: 1px solid var(--line); }
header.site nav { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; padding-block: .75rem; }
header.site ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; }
.brand { font-weight: 700; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, summary:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: .5rem; background: var(--bg); padding: .5rem; }
footer.site { color: var(--muted); font-size: .875rem; border-top: 1px solid var(--line); margin-top: 3rem; padding-block: 1rem; }
h1 { font-size: 1.6rem; overflow-wrap: anywhere; } h2 { font-size: 1.25rem; margin-top: 2rem; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .875rem; overflow-wrap: anywhere; }
pre { background: color-mix(in srgb, var(--line) 30%, transparent); padding: .75rem; overflow-x: auto; white-space: pre-wrap; }
table { border-collapse: collapse; width: 100%; display: block; overflow-x: auto; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; }
.muted { color: var(--muted); }
.badge { display: inline-block; border: 1px solid var(--line); border-radius: 1rem; padding: 0 .55rem; font-size: .8rem; margin: 0 .25rem .25rem 0; }
.badge.ok { border-color: var(--ok); color: var(--ok); } .badge.bad { border-color: var(--bad); color: var(--bad); }
.counts { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: .75rem; padding: 0; list-style: none; }
.counts li { border: 1px solid var(--line); border-radius: .5rem; padding: .5rem .75rem; }
.counts strong { display: block; font-size: 1.5rem; }
form.inline { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; }
input, button { font: inherit; padding: .35rem .6rem; }
input[type=search] { flex: 1 1 16rem; min-width: 0; }
input[type=file] { max-width: 100%; }
mark.warn { background: var(--warn-bg); color: inherit; outline: 1px dashed var(--bad); }
mark.warn small { font-size: .7rem; }
.alert { background: var(--warn-bg); border-left: 4px solid var(--bad); padding: .5rem .75rem; }
.changes li.escalation { background: var(--esc-bg); border-left: 4px solid var(--bad); padding: .25rem .5rem; list-style: none; margin-bottom: .25rem; }
.changes li { margin-bottom: .25rem; }
.diff ins { background: var(--add); text-decoration: none; } .diff del { background: var(--del); }
.verdict { border: 2px solid var(--line); border-radius: .5rem; padding: .75rem 1rem; }
.verdict[data-status=verified] { border-color: var(--ok); } .verdict[data-status=failed], .verdict[data-status=alarm] { border-color: var(--bad); }
.verdict output { font-weight: 700; font-size: 1.2rem; display: block; }
.checks li::marker { content: "✓ "; color: var(--ok); }
dl.facts { display: grid; grid-template-columns: minmax(8rem, max-content) 1fr; gap: .25rem 1rem; }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
@media (max-width: 40rem) { dl.facts { grid-template-columns: 1fr; } dl.facts dd { margin-bottom: .5rem; } h1 { font-size: 1.3rem; } }
`;
