// HTML for the monitor's pages: every value from a record is escaped, since records come from
// other services and a message type or a reason must never become markup on an operator's screen.

/** Escapes text for HTML content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Starts Mermaid on the page: it draws every `pre.mermaid` from its text. */
export const DRAW_SCRIPT =
  "if (window.mermaid) mermaid.initialize({ startOnLoad: true, securityLevel: 'strict' });\n";

/** A whole page: the title, a small stylesheet, the body, and the Mermaid loader when drawn. */
export function page(title: string, body: string, options: { mermaid?: boolean } = {}): string {
  // Scripts from our own origin only (the server's content security policy allows no inline one).
  const mermaid = options.mermaid
    ? '<script src="/assets/mermaid.min.js"></script>\n<script src="/assets/draw.js"></script>'
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; } td, th { padding: .25rem .6rem; border-bottom: 1px solid #ddd; text-align: left; }
.state-stuck, .state-failed { color: #b00020; font-weight: 600; } .state-completed { color: #1b5e20; }
nav a { margin-right: .8rem; } pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; }
form.inline { display: inline; } .notice { background: #e8f5e9; padding: .4rem .6rem; }
</style>
</head>
<body>
${body}
${mermaid}
</body>
</html>
`;
}
