import { describeScope, t, type Locale } from './i18n.js';
import type { Scope } from './scopes.js';

/** Small server-rendered pages for the sign-in and consent interactions; no scripts, no external assets. */

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

function layout(locale: Locale, title: string, body: string): string {
  return `<!doctype html>
<html lang="${locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;background:#f4f6f8;margin:0;padding:2rem 1rem;color:#1d2733}
main{max-width:26rem;margin:auto;background:#fff;border-radius:8px;padding:1.5rem 2rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem;margin-top:0}label{display:block;margin:.8rem 0 .2rem}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button,.button{margin-top:1rem;padding:.55rem 1rem;font-size:1rem;border:0;border-radius:4px;background:#0b6e4f;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
.secondary{background:#5c6b7a}.error{color:#a4161a}ul.scopes{padding-left:0;list-style:none}ul.scopes li{margin:.3rem 0}
</style>
</head>
<body><main>
<h1>${escapeHtml(title)}</h1>
${body}
</main></body>
</html>`;
}

export interface LoginPage {
  locale: Locale;
  action: string;
  clientName: string;
  username?: string;
  error?: string;
  /** Link to start the upstream (eGov ID) sign-in, when configured. */
  upstreamHref?: string;
}

export function renderLogin(page: LoginPage): string {
  const { locale } = page;
  return layout(
    locale,
    t(locale, 'signInTitle'),
    `<p>${escapeHtml(t(locale, 'appAsks', { client: page.clientName }))}</p>
${page.error ? `<p class="error" role="alert">${escapeHtml(page.error)}</p>` : ''}
<form method="post" action="${escapeHtml(page.action)}" autocomplete="off">
<label for="username">${escapeHtml(t(locale, 'username'))}</label>
<input id="username" type="text" name="username" required autofocus value="${escapeHtml(page.username ?? '')}">
<label for="password">${escapeHtml(t(locale, 'password'))}</label>
<input id="password" type="password" name="password" required>
<button type="submit">${escapeHtml(t(locale, 'signIn'))}</button>
</form>
${page.upstreamHref ? `<p><a class="button secondary" href="${escapeHtml(page.upstreamHref)}">${escapeHtml(t(locale, 'signInUpstream'))}</a></p>` : ''}`,
  );
}

export interface ConsentPage {
  locale: Locale;
  action: string;
  clientName: string;
  username: string;
  scopes: Scope[];
  /** Ask the user for a Patient id (standalone `launch/patient` by staff). */
  askPatient: boolean;
  error?: string;
}

export function renderConsent(page: ConsentPage): string {
  const { locale } = page;
  const items = page.scopes
    .map(
      (scope, i) =>
        `<li><label><input type="checkbox" name="scope" value="${escapeHtml(scope.raw)}" checked id="scope${i}"> ${escapeHtml(describeScope(locale, scope))} <code>${escapeHtml(scope.raw)}</code></label></li>`,
    )
    .join('\n');
  return layout(
    locale,
    t(locale, 'consentTitle'),
    `<p>${escapeHtml(t(locale, 'signedInAs', { user: page.username }))}</p>
<p>${escapeHtml(t(locale, 'consentIntro', { client: page.clientName }))}</p>
${page.error ? `<p class="error" role="alert">${escapeHtml(page.error)}</p>` : ''}
<form method="post" action="${escapeHtml(page.action)}">
<ul class="scopes">
${items}
</ul>
${page.askPatient ? `<label for="patient">${escapeHtml(t(locale, 'patientLabel'))}</label><input id="patient" type="text" name="patient" required pattern="[A-Za-z0-9\\-.]{1,64}">` : ''}
<button type="submit" name="decision" value="allow">${escapeHtml(t(locale, 'allow'))}</button>
<button type="submit" name="decision" value="deny" class="secondary" formnovalidate>${escapeHtml(t(locale, 'deny'))}</button>
</form>`,
  );
}

export function renderError(locale: Locale, message: string): string {
  return layout(locale, t(locale, 'errorTitle'), `<p class="error" role="alert">${escapeHtml(message)}</p>`);
}
