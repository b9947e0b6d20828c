import type { ImagingStudy, Patient } from '@medplum/fhirtypes';
import { type FormEvent, Suspense, lazy, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { IIN_SYSTEM } from '../../../src/fhir/identifier-systems.js';
import { isCitizen } from '../auth/session.js';
import { nameText } from '../fhir/text.js';
import { type Fhir, useFhir, useFhirData } from '../fhir/use-fhir.js';
import { formatDate, formatNumber } from '../i18n/locale.js';
import { Link, navigate, useRoute } from '../ui/router.js';
import { Async, Loading } from '../ui/states.js';
import { dicomWeb, dicomWebBase, orderedSeries, studyInstanceCount, studyInstanceUid, studyModalities } from './imaging/logic.js';
import './imaging/imaging.css';

/** The viewer is its own chunk: Cornerstone3D and its DICOM loader load only when a study is opened. */
const Viewer = lazy(() => import('./imaging/viewer.js'));

/** Studies read at most: a lifetime of imaging for one person. */
const MAX_STUDIES = 500;

async function loadStudies({ search }: Fhir, patient: string) {
  const { resources } = await search<ImagingStudy>('ImagingStudy', { patient, _sort: '-started', _count: 100 }, { all: true, max: MAX_STUDIES });
  return resources;
}

/**
 * Medical images (issue 18): the patient's ImagingStudy resources, newest first, and one study's
 * series with their thumbnails and the viewer (`/imaging?study=ID&series=UID`). Routes stay on
 * `/imaging` with a query.
 * The citizen sees the record shown (their own or a child's); staff find a patient by IIN first
 * (`/imaging?patient=ID`), and see what the door lets them.
 */
export default function Imaging() {
  const { query } = useRoute();
  const { patientId, session } = useFhir();
  const study = query.get('study');
  const patient = isCitizen(session) ? patientId : (query.get('patient') ?? undefined);
  if (study) return <StudyView id={study} series={query.get('series') ?? undefined} patient={isCitizen(session) ? undefined : patient} />;
  if (!patient) return <PatientFinder />;
  return <StudyList patient={patient} />;
}

/** The list's address, with the patient staff chose (a citizen's is the record shown). */
function listHref(patient: string | undefined): string {
  return patient ? `/imaging?patient=${encodeURIComponent(patient)}` : '/imaging';
}

function studyHref(id: string, patient: string | undefined, series?: string): string {
  const query = new URLSearchParams({ study: id, ...(series ? { series } : {}), ...(patient ? { patient } : {}) });
  return `/imaging?${query.toString()}`;
}

function StudyList({ patient }: { patient: string }) {
  const { t } = useTranslation('imaging');
  const { locale, session } = useFhir();
  const staff = !isCitizen(session);
  const data = useFhirData((fhir) => loadStudies(fhir, patient), [patient]);
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{staff ? t('patient.title') : t('title')}</h1>
      <p className="lead">{t('intro')}</p>
      {staff && (
        <p>
          <StaffPatient patient={patient} /> <Link href="/imaging">{t('patient.other')}</Link>
        </p>
      )}
      <Async data={data} isEmpty={(studies) => studies.length === 0} empty={t('empty')}>
        {(studies) => (
          <ul className="imaging-studies">
            {studies.map((study) => {
              const title = studyTitle(study) ?? t('study');
              const headingId = `study-${study.id}`;
              return (
                <li key={study.id} className="card imaging-study" aria-labelledby={headingId}>
                  <h2 id={headingId}>{title}</h2>
                  <dl className="imaging-facts">
                    <div>
                      <dt>{t('started')}</dt>
                      <dd>{study.started ? <time dateTime={study.started}>{formatDate(study.started, locale, true)}</time> : '–'}</dd>
                    </div>
                    <div>
                      <dt>{t('modality')}</dt>
                      <dd>{studyModalities(study).join(', ') || '–'}</dd>
                    </div>
                  </dl>
                  <p className="item-meta">
                    {t('series', { n: formatNumber(study.numberOfSeries ?? study.series?.length ?? 0, locale) })} · {t('instances', { n: formatNumber(studyInstanceCount(study), locale) })}
                  </p>
                  {study.id && <Link href={studyHref(study.id, staff ? patient : undefined)}>{t('open', { study: title })}</Link>}
                </li>
              );
            })}
          </ul>
        )}
      </Async>
    </section>
  );
}

/** What a person reads as a study's name: its description, else its modalities. */
function studyTitle(study: ImagingStudy): string | undefined {
  return study.description ?? (studyModalities(study).join(', ') || undefined);
}

/** The patient staff chose, by name (a read the door may refuse shows the id). */
function StaffPatient({ patient }: { patient: string }) {
  const data = useFhirData(({ read }) => read<Patient>('Patient', patient).catch(() => undefined), [patient]);
  return <strong>{data.status === 'done' ? (nameText(data.data?.name) ?? patient) : patient}</strong>;
}

/** Staff open a patient's images by IIN: `Patient?identifier=IIN`, as far as the door lets them see. */
function PatientFinder() {
  const { t } = useTranslation('imaging');
  const { search } = useFhir();
  const [iin, setIin] = useState('');
  const [problem, setProblem] = useState<'invalid' | 'notFound'>();
  const [busy, setBusy] = useState(false);
  const find = async (event: FormEvent) => {
    event.preventDefault();
    if (!/^\d{12}$/.test(iin.trim())) return setProblem('invalid');
    setBusy(true);
    try {
      const { resources } = await search<Patient>('Patient', { identifier: `${IIN_SYSTEM}|${iin.trim()}` });
      const id = resources[0]?.id;
      if (id) navigate(listHref(id));
      else setProblem('notFound');
    } catch {
      setProblem('notFound');
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('patient.title')}</h1>
      <form className="imaging-finder" onSubmit={find} noValidate>
        <label htmlFor="imaging-iin">{t('patient.iin')}</label>
        <span id="imaging-iin-hint" className="item-meta">
          {t('patient.hint')}
        </span>
        {problem && (
          <p id="imaging-iin-problem" className="state state-error" role="alert">
            {t(`patient.${problem}`)}
          </p>
        )}
        <input
          id="imaging-iin"
          inputMode="numeric"
          autoComplete="off"
          value={iin}
          aria-describedby={problem ? 'imaging-iin-hint imaging-iin-problem' : 'imaging-iin-hint'}
          aria-invalid={problem === 'invalid' || undefined}
          onChange={(e) => {
            setIin(e.target.value);
            setProblem(undefined);
          }}
        />
        <button type="submit" className="primary" disabled={busy}>
          {t('patient.find')}
        </button>
      </form>
    </section>
  );
}

function StudyView({ id, series, patient }: { id: string; series: string | undefined; patient: string | undefined }) {
  const { t } = useTranslation('imaging');
  const { locale } = useFhir();
  const data = useFhirData(({ read }) => read<ImagingStudy>('ImagingStudy', id), [id]);
  const title = data.status === 'done' ? studyTitle(data.data) : undefined;
  return (
    <section aria-labelledby="screen-title">
      <p>
        <Link href={listHref(patient)}>← {t('back')}</Link>
      </p>
      <h1 id="screen-title">{title ?? t('study')}</h1>
      <Async data={data}>
        {(study) => {
          const uid = studyInstanceUid(study);
          const all = orderedSeries(study);
          const chosen = all.find((s) => s.uid === series) ?? all[0];
          return (
            <>
              <p className="lead">
                {study.started && <time dateTime={study.started}>{formatDate(study.started, locale, true)}</time>} {studyModalities(study).join(', ')}
              </p>
              {!uid || all.length === 0 ? (
                <p className="state state-empty">{t('noSeries')}</p>
              ) : (
                <>
                  <h2 id="series-title">{t('seriesTitle')}</h2>
                  <ul className="imaging-series" aria-labelledby="series-title">
                    {all.map((s) => (
                      <li key={s.uid}>
                        <Link href={studyHref(id, patient, s.uid)} className="imaging-series-link" aria-current={s === chosen ? 'true' : undefined}>
                          <Thumbnail study={uid} series={s.uid} />
                          <span>{t('seriesButton', { number: s.number ?? '–', description: s.description ?? s.modality?.code ?? t('noDescription'), n: formatNumber(s.instances, locale) })}</span>
                        </Link>
                      </li>
                    ))}
                  </ul>
                  {chosen && (
                    <Suspense fallback={<Loading />}>
                      <Viewer key={chosen.uid} study={uid} series={chosen.uid} label={t('viewer', { series: chosen.description ?? chosen.number ?? chosen.uid })} />
                    </Suspense>
                  )}
                </>
              )}
            </>
          );
        }}
      </Async>
    </section>
  );
}

/**
 * A series' thumbnail (PS3.18 §10.7): fetched with the session's token and shown from a blob URL,
 * since an <img> cannot send the Authorization header; the URL is released with the image.
 */
function Thumbnail({ study, series }: { study: string; series: string }) {
  const { t } = useTranslation('imaging');
  const { client } = useFhir();
  const [src, setSrc] = useState<string | null>();
  useEffect(() => {
    let url: string | undefined;
    let current = true;
    client.request<Blob>(dicomWeb.thumbnail(dicomWebBase(location.origin), study, series), { accept: 'image/jpeg' }).then(
      (blob) => {
        if (!current) return;
        url = URL.createObjectURL(blob);
        setSrc(url);
      },
      () => current && setSrc(null),
    );
    return () => {
      current = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [client, study, series]);
  if (src === undefined) return <span className="imaging-thumb imaging-thumb-empty" aria-hidden="true" />;
  if (src === null) return <span className="imaging-thumb imaging-thumb-empty">{t('noThumbnail')}</span>;
  // The link's text names the series: the picture adds nothing for a screen reader.
  return <img className="imaging-thumb" src={src} alt="" />;
}
