import { ContentType, type Reply } from '../admin-http.js';
import { STATUS_HTML } from './html.js';
import { STATUS_JS } from './script.js';
import { STATUS_CSS } from './style.js';

/**
 * The status page's policy: scripts, styles and fetches only from the admin server itself, no
 * inline script or style, no plugin, no framing, no form, no base rewrite. Data a registry sent
 * is never markup (the script uses textContent), and even markup could not run a script here.
 */
export const STATUS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const HEADERS = {
  'Content-Security-Policy': STATUS_CSP,
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

/** GET /, /status.js, /status.css: the status page (docs/operations.md#status-page). */
export const STATUS_ASSETS: ReadonlyMap<string, Reply> = new Map<string, Reply>([
  ['/', { status: 200, contentType: ContentType.HTML, body: STATUS_HTML, headers: HEADERS }],
  ['/status.js', { status: 200, contentType: ContentType.JS, body: STATUS_JS, headers: HEADERS }],
  ['/status.css', { status: 200, contentType: ContentType.CSS, body: STATUS_CSS, headers: HEADERS }],
  // Browsers ask for it; no icon, and no 404 in the console.
  ['/favicon.ico', { status: 204, contentType: ContentType.TEXT, body: '' }],
]);
