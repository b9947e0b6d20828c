import type { Parameters } from '@medplum/fhirtypes';
import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { type Fhir, useFhir, useFhirData } from '../fhir/use-fhir.js';
import { LOCALES, type Locale, formatDate } from '../i18n/locale.js';
import { Async, ErrorMessage } from '../ui/states.js';
import { type CreatedLink, EXPIRY_CHOICES, MAX_LABEL, PASSCODE_LENGTH, type SharedLink, createdLink, passcodeProblem, pdfFileName, shareLinkParameters, sharedLinks } from './share/logic.js';
import './share/share.css';

const LANGUAGE_NAMES: Record<Locale, string> = { kk: 'Қазақша', ru: 'Русский', en: 'English' };

const patientPath = (patientId: string, operation: string) => `Patient/${encodeURIComponent(patientId)}/${operation}`;

async function loadLinks({ operation, patientId }: Fhir): Promise<SharedLink[]> {
  if (!patientId) return [];
  return sharedLinks(await operation<Parameters>(patientPath(patientId, '$share-links')));
}

/**
 * Share my passport: SMART Health Links to the passport summary (`$share-link`, `$share-links`,
 * `$revoke-share-link`) with a QR code, and the PDF passport (`$summary` as PDF) to download.
 */
export default function Share() {
  const { t } = useTranslation('share');
  const links = useFhirData(loadLinks);
  const [created, setCreated] = useState<CreatedLink>();
  const { patientId } = useFhir();
  // A link made for one record is not shown over another's.
  useEffect(() => setCreated(undefined), [patientId]);
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('title')}</h1>
      <p className="lead">{t('intro')}</p>
      {/* What is shared is the record shown: a child's, when the family screen switched to it. */}
      <NewLink
        onCreated={(link) => {
          setCreated(link);
          links.reload();
        }}
      />
      {created && <CreatedLinkCard link={created} onClose={() => setCreated(undefined)} />}
      <section aria-labelledby="links-title" className="share-group">
        <h2 id="links-title">{t('links.title')}</h2>
        <Async data={links} isEmpty={(list) => list.length === 0} empty={t('links.none')}>
          {(list) => (
            <ul className="share-links">
              {list.map((link) => (
                <LinkCard key={link.id} link={link} onRevoked={links.reload} />
              ))}
            </ul>
          )}
        </Async>
      </section>
      <PdfPassport />
    </section>
  );
}

function NewLink({ onCreated }: { onCreated(link: CreatedLink): void }) {
  const { t } = useTranslation('share');
  const { operation, patientId, locale } = useFhir();
  const id = useId();
  const [label, setLabel] = useState('');
  const [minutes, setMinutes] = useState<number>(EXPIRY_CHOICES[1]);
  const [passcode, setPasscode] = useState('');
  const [singleUse, setSingleUse] = useState(false);
  const [language, setLanguage] = useState<Locale>(locale);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const problem = passcodeProblem(passcode);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!patientId || problem) return;
    setBusy(true);
    setError(undefined);
    try {
      const output = await operation<Parameters>(patientPath(patientId, '$share-link'), { body: shareLinkParameters({ label, minutes, passcode, singleUse, language }) });
      const link = createdLink(output);
      if (!link) throw new Error('no link in the answer');
      onCreated(link);
      setLabel('');
      setPasscode('');
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card share-form" onSubmit={submit} aria-labelledby={`${id}-title`} noValidate>
      <h2 id={`${id}-title`}>{t('create.title')}</h2>
      <p>{t('create.explain')}</p>
      <label htmlFor={`${id}-label`}>{t('create.label')}</label>
      <input id={`${id}-label`} value={label} maxLength={MAX_LABEL} onChange={(e) => setLabel(e.target.value)} aria-describedby={`${id}-label-hint`} />
      <p id={`${id}-label-hint`} className="hint">
        {t('create.labelHint')}
      </p>
      <label htmlFor={`${id}-expiry`}>{t('create.expiry')}</label>
      <select id={`${id}-expiry`} value={minutes} onChange={(e) => setMinutes(Number(e.target.value))}>
        {EXPIRY_CHOICES.map((m) => (
          <option key={m} value={m}>
            {t(`create.expiries.${m}`)}
          </option>
        ))}
      </select>
      <label htmlFor={`${id}-passcode`}>{t('create.passcode')}</label>
      <input
        id={`${id}-passcode`}
        type="text"
        autoComplete="off"
        value={passcode}
        onChange={(e) => setPasscode(e.target.value)}
        aria-invalid={problem ? true : undefined}
        aria-describedby={`${id}-passcode-hint`}
      />
      <p id={`${id}-passcode-hint`} className={problem ? 'hint hint-error' : 'hint'}>
        {problem ? <span aria-hidden="true">! </span> : null}
        {problem ? t(problem === 'short' ? 'create.passcodeShort' : 'create.passcodeLong', PASSCODE_LENGTH) : t('create.passcodeHint', PASSCODE_LENGTH)}
      </p>
      <div className="check">
        <input id={`${id}-single`} type="checkbox" checked={singleUse} onChange={(e) => setSingleUse(e.target.checked)} aria-describedby={`${id}-single-hint`} />
        <label htmlFor={`${id}-single`}>{t('create.singleUse')}</label>
      </div>
      <p id={`${id}-single-hint`} className="hint">
        {t('create.singleUseHint')}
      </p>
      <label htmlFor={`${id}-language`}>{t('create.language')}</label>
      <LanguageSelect id={`${id}-language`} value={language} onChange={setLanguage} />
      {error !== undefined && <ErrorMessage error={error} />}
      <button type="submit" className="primary" disabled={busy || !patientId || problem !== undefined}>
        {busy ? t('create.busy') : t('create.submit')}
      </button>
    </form>
  );
}

function LanguageSelect({ id, value, onChange }: { id: string; value: Locale; onChange(locale: Locale): void }) {
  return (
    <select id={id} value={value} onChange={(e) => onChange(LOCALES.find((l) => l === e.target.value) ?? value)}>
      {LOCALES.map((l) => (
        <option key={l} value={l} lang={l}>
          {LANGUAGE_NAMES[l]}
        </option>
      ))}
    </select>
  );
}

/** The link just made, with its QR code (the `qrcode` package, loaded only now): the only time its key is shown. */
function CreatedLinkCard({ link, onClose }: { link: CreatedLink; onClose(): void }) {
  const { t } = useTranslation('share');
  const { locale } = useFhir();
  const [qr, setQr] = useState<string>();
  const [qrFailed, setQrFailed] = useState(false);
  const [copied, setCopied] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  // Below the form on a phone: brought into view and announced.
  useEffect(() => heading.current?.focus(), [link.link]);
  useEffect(() => {
    let current = true;
    import('qrcode')
      .then(({ toDataURL }) => toDataURL(link.link, { errorCorrectionLevel: 'M', margin: 2, width: 320 }))
      .then(
        (url) => current && setQr(url),
        () => current && setQrFailed(true),
      );
    return () => {
      current = false;
    };
  }, [link.link]);
  const copy = async () => {
    await navigator.clipboard?.writeText(link.link).then(() => setCopied(true), () => setCopied(false));
  };
  return (
    <article className="card created-link" aria-labelledby="created-title" data-testid="created-link">
      <h2 id="created-title" ref={heading} tabIndex={-1}>{t('created.title')}</h2>
      <p role="status">{t('created.expires', { date: formatDate(link.expires, locale, true) ?? '' })}</p>
      {qr ? <img className="qr" src={qr} alt={t('created.qrAlt')} width={320} height={320} /> : qrFailed ? <p>{t('created.qrFailed')}</p> : <p className="state state-loading">{t('created.qrLoading')}</p>}
      <div className="copyable">
        <label htmlFor="created-uri">{t('created.link')}</label>
        <textarea id="created-uri" readOnly rows={3} value={link.link} onFocus={(e) => e.target.select()} />
        <button type="button" onClick={() => void copy()}>
          {copied ? t('created.copied') : t('created.copy')}
        </button>
      </div>
      <p className="hint">{t('created.once')}</p>
      <button type="button" onClick={onClose}>
        {t('created.close')}
      </button>
    </article>
  );
}

function LinkCard({ link, onRevoked }: { link: SharedLink; onRevoked(): void }) {
  const { t } = useTranslation('share');
  const { operation, patientId, locale } = useFhir();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const headingId = `link-${link.id}`;
  const revoke = async () => {
    if (!patientId) return;
    setBusy(true);
    setError(undefined);
    try {
      await operation(patientPath(patientId, '$revoke-share-link'), { body: { resourceType: 'Parameters', parameter: [{ name: 'id', valueString: link.id }] } });
      onRevoked();
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };
  const when = (value: string | undefined) => formatDate(value, locale, true) ?? '';
  return (
    <li className="card share-link" data-state={link.state} aria-labelledby={headingId}>
      <h3 id={headingId}>{link.label ?? t('links.unlabelled')}</h3>
      <p className={`link-state link-state-${link.state}`}>
        <span aria-hidden="true">{link.state === 'active' ? '● ' : '○ '}</span>
        {t(`state.${link.state}`)}
      </p>
      <dl className="link-facts">
        {link.created && (
          <div>
            <dt>{t('links.created')}</dt>
            <dd>{when(link.created)}</dd>
          </div>
        )}
        <div>
          <dt>{link.state === 'expired' ? t('links.expired') : t('links.expires')}</dt>
          <dd>{when(link.expires)}</dd>
        </div>
        {link.revoked && (
          <div>
            <dt>{t('links.revoked')}</dt>
            <dd>{when(link.revoked)}</dd>
          </div>
        )}
        <div>
          <dt>{t('links.terms')}</dt>
          <dd>{[link.passcode ? t('links.withPasscode') : t('links.noPasscode'), link.singleUse ? t('links.singleUse') : t('links.manyUses')].join(' · ')}</dd>
        </div>
      </dl>
      <h4>{t('links.uses', { n: link.uses.length })}</h4>
      {link.uses.length > 0 && (
        <ul className="items">
          {link.uses.map((use, index) => (
            <li key={index}>
              <span className="item-main">{use.recipient || t('links.anonymous')}</span>
              <span className="item-meta">{when(use.time)}</span>
            </li>
          ))}
        </ul>
      )}
      {error !== undefined && <ErrorMessage error={error} />}
      {link.state === 'active' &&
        (confirming ? (
          <div className="confirm" role="group" aria-label={t('links.confirmTitle')}>
            <p>{t('links.confirm')}</p>
            <button type="button" className="danger" disabled={busy} onClick={() => void revoke()}>
              {t('links.revokeYes')}
            </button>
            <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
              {t('links.cancel')}
            </button>
          </div>
        ) : (
          <button type="button" onClick={() => setConfirming(true)} aria-describedby={headingId}>
            {t('links.revoke')}
          </button>
        ))}
    </li>
  );
}

/** The PDF passport (`$summary` as application/pdf) in the language chosen, offered as a download. */
function PdfPassport() {
  const { t } = useTranslation('share');
  const { operation, patientId, locale } = useFhir();
  const [language, setLanguage] = useState<Locale>(locale);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState(false);
  const download = async () => {
    if (!patientId) return;
    setBusy(true);
    setError(undefined);
    setDone(false);
    try {
      const pdf = await operation<Blob>(patientPath(patientId, '$summary'), { params: { _format: 'pdf', language }, accept: 'application/pdf' });
      const url = URL.createObjectURL(pdf);
      const anchor = document.createElement('a');
      anchor.href = url;
      anchor.download = pdfFileName(language);
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      setDone(true);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="pdf-title" className="card share-group">
      <h2 id="pdf-title">{t('pdf.title')}</h2>
      <p>{t('pdf.explain')}</p>
      <label htmlFor="pdf-language">{t('pdf.language')}</label>
      <LanguageSelect id="pdf-language" value={language} onChange={setLanguage} />
      {error !== undefined && <ErrorMessage error={error} />}
      <button type="button" className="primary" disabled={busy || !patientId} onClick={() => void download()}>
        {busy ? t('pdf.busy') : t('pdf.download')}
      </button>
      {done && <p role="status">{t('pdf.done')}</p>}
    </section>
  );
}
