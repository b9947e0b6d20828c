import type { Bundle, Organization, Patient, Practitioner, Resource } from '@medplum/fhirtypes';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { nameText } from '../fhir/text.js';
import { type Fhir, useFhir, useFhirData } from '../fhir/use-fhir.js';
import { formatDate } from '../i18n/locale.js';
import { Async, Empty, ErrorMessage, Loading } from '../ui/states.js';
import { type DeclaringOrganization, byOrganization, declarationsOf, disputeEffect, polyclinicSearch, primaryCare } from './polyclinic/logic.js';
import './polyclinic/polyclinic.css';

/** At most this many declarations are listed (they are rare: one per walk-in visit elsewhere). */
const MAX_DECLARATIONS = 200;

async function loadPolyclinic(fhir: Fhir) {
  const { read, operation, client, patientId } = fhir;
  if (!patientId) return undefined;
  const path = `Patient/${encodeURIComponent(patientId)}`;
  const [patient, first] = await Promise.all([read<Patient>('Patient', patientId), operation<Bundle>(`${path}/$care-declarations`, { params: { _count: 50 } })]);
  const declarations = declarationsOf(first);
  for (let page = first; declarations.length < MAX_DECLARATIONS; ) {
    const next = page.link?.find((l) => l.relation === 'next')?.url;
    if (!next) break;
    page = await client.request<Bundle>(next);
    declarations.push(...declarationsOf(page));
  }
  // An organization or doctor the citizen may not read is left out, not an error (as on the home screen).
  const readable = <T extends Resource>(type: T['resourceType'], id: string) => read<T>(type, id).catch(() => undefined);
  const care = primaryCare(patient);
  const [organizations, practitioners] = await Promise.all([
    Promise.all(care.organizations.map((id) => readable<Organization>('Organization', id))),
    Promise.all(care.practitioners.map((id) => readable<Practitioner>('Practitioner', id))),
  ]);
  return {
    organizations: organizations.filter((o) => o !== undefined),
    practitioners: practitioners.filter((p) => p !== undefined),
    attachedTo: care.organizations,
    declaring: byOrganization(declarations),
  };
}

/**
 * My polyclinic: the primary-care organization and doctor (Patient.generalPractitioner), a request
 * to attach to another polyclinic (`$attach`), and the care organizations declared about themselves
 * (`$care-declarations`), to confirm (`$confirm-care`) or dispute (`$dispute-care`).
 */
export default function Polyclinic() {
  const { t } = useTranslation('polyclinic');
  const data = useFhirData(loadPolyclinic);
  const [notice, setNotice] = useState('');
  const noticeRef = useRef<HTMLParagraphElement>(null);
  // The buttons pressed are gone after the reload: keyboard focus goes to what happened.
  useEffect(() => {
    if (notice) noticeRef.current?.focus();
  }, [notice]);
  const done = (message: string) => {
    setNotice(message);
    data.reload();
  };
  const change = (care: { organizations: Organization[]; attachedTo: string[] }) => (
    <ChangePolyclinic current={care.organizations} attachedTo={care.attachedTo} onAttached={(name) => done(t('attached', { name }))} />
  );
  return (
    <section aria-labelledby="screen-title" className="polyclinic">
      <h1 id="screen-title">{t('title')}</h1>
      <p className="lead">{t('intro')}</p>
      <p className={notice ? 'notice' : 'visually-hidden'} role="status" aria-live="polite" tabIndex={-1} ref={noticeRef}>
        {notice}
      </p>
      <Async data={data} isEmpty={(value) => value === undefined}>
        {(care) =>
          care && (
            <>
              <article className="card" aria-labelledby="current-care">
                <h2 id="current-care">{t('current')}</h2>
                {care.organizations.length === 0 && care.practitioners.length === 0 ? (
                  <p>{t('none')}</p>
                ) : (
                  <dl>
                    {care.organizations.map((o) => (
                      <div key={o.id} className="current-organization">
                        <dt>{o.name}</dt>
                        {o.address?.[0] && <dd>{addressText(o)}</dd>}
                        {phoneOf(o) && <dd>{t('phone', { phone: phoneOf(o) })}</dd>}
                      </div>
                    ))}
                    {care.practitioners.map((p) => (
                      <div key={p.id}>
                        <dt>{t('doctor')}</dt>
                        <dd>{nameText(p.name)}</dd>
                      </div>
                    ))}
                  </dl>
                )}
              </article>
              {!awaiting(care.declaring) && change(care)}
              <section className="card" aria-labelledby="declarations">
                <h2 id="declarations">{t('declarations')}</h2>
                <p>{t('declarationsHelp')}</p>
                {care.declaring.length === 0 ? (
                  <Empty>{t('noDeclarations')}</Empty>
                ) : (
                  <ul className="declaring">
                    {care.declaring.map((group) => (
                      <DeclaringCard key={group.id} group={group} onDone={done} />
                    ))}
                  </ul>
                )}
              </section>
              {awaiting(care.declaring) && change(care)}
            </>
          )
        }
      </Async>
    </section>
  );
}

/** A visit awaiting the citizen's answer comes before changing polyclinic: it has a deadline. */
const awaiting = (declaring: DeclaringOrganization[]) => declaring.some((g) => g.confirmable);

function addressText(o: Organization): string | undefined {
  const address = o.address?.[0];
  return address && (address.text ?? ([address.line?.join(' '), address.city].filter(Boolean).join(', ') || undefined));
}

const phoneOf = (o: Organization) => o.telecom?.find((c) => c.system === 'phone')?.value;

type Search = { status: 'idle' } | { status: 'loading' } | { status: 'error'; error: unknown } | { status: 'done'; found: Organization[] };

/** Search polyclinics by name, choose one, read what changes, confirm: `$attach`. */
function ChangePolyclinic({ current, attachedTo, onAttached }: { current: Organization[]; attachedTo: string[]; onAttached: (name: string) => void }) {
  const { t } = useTranslation('polyclinic');
  const { search, operation, patientId } = useFhir();
  const [text, setText] = useState('');
  const [result, setResult] = useState<Search>({ status: 'idle' });
  const [chosen, setChosen] = useState<Organization>();
  const [attaching, setAttaching] = useState<{ error?: unknown; busy: boolean }>({ busy: false });
  const confirmHeading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    if (chosen) confirmHeading.current?.focus();
  }, [chosen]);

  const find = async (event: FormEvent) => {
    event.preventDefault();
    if (!text.trim()) return;
    setChosen(undefined);
    setResult({ status: 'loading' });
    try {
      setResult({ status: 'done', found: (await search<Organization>('Organization', polyclinicSearch(text))).resources });
    } catch (error) {
      setResult({ status: 'error', error });
    }
  };

  const attach = async (organization: Organization) => {
    if (!patientId || !organization.id) return;
    setAttaching({ busy: true });
    try {
      await operation<Patient>(`Patient/${encodeURIComponent(patientId)}/$attach`, {
        body: { resourceType: 'Parameters', parameter: [{ name: 'organization', valueReference: { reference: `Organization/${organization.id}` } }] },
      });
      setAttaching({ busy: false });
      setChosen(undefined);
      setResult({ status: 'idle' });
      setText('');
      onAttached(organization.name ?? organization.id);
    } catch (error) {
      setAttaching({ busy: false, error });
    }
  };

  const currentNames = current.map((o) => o.name).filter(Boolean).join(', ');
  return (
    <section className="card" aria-labelledby="change-polyclinic">
      <h2 id="change-polyclinic">{t('change')}</h2>
      <form className="polyclinic-search" role="search" onSubmit={find}>
        <label htmlFor="polyclinic-name">{t('searchLabel')}</label>
        <p id="polyclinic-name-help" className="item-meta">
          {t('changeHelp')}
        </p>
        <div className="search-row">
          <input id="polyclinic-name" type="search" value={text} onChange={(e) => setText(e.target.value)} aria-describedby="polyclinic-name-help" autoComplete="off" />
          <button type="submit" className="primary">
            {t('search')}
          </button>
        </div>
      </form>
      {result.status === 'loading' && <Loading label={t('searching')} />}
      {result.status === 'error' && <ErrorMessage error={result.error} />}
      {result.status === 'done' &&
        (result.found.length === 0 ? (
          <Empty>{t('noMatches')}</Empty>
        ) : (
          <ul className="items polyclinics" aria-label={t('searchLabel')}>
            {result.found.map((o) => (
              <li key={o.id}>
                <span className="item-main">{o.name}</span>
                {o.alias?.[0] && (
                  <span className="item-meta" lang="ru">
                    {o.alias[0]}
                  </span>
                )}
                {addressText(o) && <span className="item-meta">{addressText(o)}</span>}
                {o.id && attachedTo.includes(o.id) ? (
                  <strong className="yours">{t('yours')}</strong>
                ) : (
                  <button type="button" aria-label={t('chooseNamed', { name: o.name })} onClick={() => setChosen(o)}>
                    {t('choose')}
                  </button>
                )}
              </li>
            ))}
          </ul>
        ))}
      {chosen && (
        <div className="confirm-attach" role="group" aria-labelledby="confirm-attach-title">
          <h3 id="confirm-attach-title" tabIndex={-1} ref={confirmHeading}>
            {t('confirmTitle', { name: chosen.name })}
          </h3>
          <p>{currentNames ? t('confirmEffect', { current: currentNames }) : t('confirmEffectFirst')}</p>
          {attaching.error !== undefined && <ErrorMessage error={attaching.error} />}
          <div className="actions">
            <button type="button" className="primary" disabled={attaching.busy} onClick={() => void attach(chosen)}>
              {attaching.busy ? t('attaching') : t('attach')}
            </button>
            <button type="button" disabled={attaching.busy} onClick={() => setChosen(undefined)}>
              {t('cancel')}
            </button>
          </div>
        </div>
      )}
    </section>
  );
}

const DISPUTE_EFFECT = { dispute: 'disputeCareEffect', withdraw: 'withdrawEffect', expired: 'disputeExpiredEffect' } as const;

/** One organization's self-declared care: its visits, and the citizen's choices with what each does. */
function DeclaringCard({ group, onDone }: { group: DeclaringOrganization; onDone: (message: string) => void }) {
  const { t } = useTranslation('polyclinic');
  const { operation, patientId, locale } = useFhir();
  const [state, setState] = useState<{ busy: boolean; error?: unknown }>({ busy: false });
  const name = group.name ?? group.id;
  const headingId = `declaring-${group.id}`;
  const act = async (op: '$confirm-care' | '$dispute-care') => {
    if (!patientId) return;
    setState({ busy: true });
    try {
      await operation(`Patient/${encodeURIComponent(patientId)}/${op}`, {
        body: { resourceType: 'Parameters', parameter: [{ name: 'organization', valueReference: { reference: `Organization/${group.id}` } }] },
      });
      setState({ busy: false });
      onDone(t(op === '$confirm-care' ? 'confirmedNow' : 'disputedNow', { name }));
    } catch (error) {
      setState({ busy: false, error });
    }
  };
  const dispute = disputeEffect(group);
  return (
    <li className={`card declaring-organization${group.confirmable ? ' awaiting' : ''}`} aria-labelledby={headingId}>
      <h3 id={headingId}>{name}</h3>
      <ul className="items">
        {group.declarations.map((d) => (
          <li key={d.id} className={`declaration declaration-${d.status}`}>
            <span className="item-main">
              {t(`kind.${d.kind}`, { defaultValue: d.kind })} · {t('declared', { date: formatDate(d.declared, locale, true) })}
            </span>
            <span className="declaration-status" data-status={d.status}>
              <span aria-hidden="true">{d.status === 'open' ? '! ' : ''}</span>
              {t(`status.${d.status}`)}
            </span>
            {d.status === 'open' && <span className="item-meta">{t('openUntil', { date: formatDate(d.expires, locale, true) })}</span>}
          </li>
        ))}
      </ul>
      {group.confirmable && <p>{t('confirmCareEffect', { name })}</p>}
      {dispute && <p>{t(DISPUTE_EFFECT[dispute], { name })}</p>}
      {state.error !== undefined && <ErrorMessage error={state.error} />}
      {(group.confirmable || dispute) && (
        <div className="actions">
          {group.confirmable && (
            <button type="button" className="primary" disabled={state.busy} onClick={() => void act('$confirm-care')}>
              {t('confirmCare')}
            </button>
          )}
          {dispute && (
            <button type="button" disabled={state.busy} onClick={() => void act('$dispute-care')}>
              {t(dispute === 'withdraw' ? 'withdraw' : 'disputeCare')}
            </button>
          )}
        </div>
      )}
    </li>
  );
}
