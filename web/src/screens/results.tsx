import type { Observation, Parameters } from '@medplum/fhirtypes';
import { type ReactNode, Suspense, lazy } from 'react';
import { useTranslation } from 'react-i18next';
import { conceptText } from '../fhir/text.js';
import { type Fhir, useFhir, useFhirData } from '../fhir/use-fhir.js';
import { formatDate, formatNumber, type Locale } from '../i18n/locale.js';
import { Link, useRoute } from '../ui/router.js';
import { Async, Loading } from '../ui/states.js';
import { type Flag, groupByTest, isAbnormal, rangeShape, resultDate, resultFlag, testCode, trendOf, unitText } from './results/logic.js';
import './results/results.css';

/** The chart is its own chunk: only the detail of a test loads it. */
const TrendChart = lazy(() => import('./results/trend-chart.js'));

/** Results read at most: a lifetime of laboratory tests for one person. */
const MAX_RESULTS = 2000;

async function loadResults({ search, patientId }: Fhir) {
  if (!patientId) return [];
  const { resources } = await search<Observation>('Observation', { patient: patientId, category: 'laboratory', _sort: '-date', _count: 200 }, { all: true, max: MAX_RESULTS });
  return groupByTest(resources);
}

/** One test's results as recorded, and its trend with every value in one unit (results from labs that report in different units line up). */
async function loadTest({ search, operation, patientId }: Fhir, code: string) {
  if (!patientId) return { results: [], trend: { points: [] } };
  const [{ resources }, series] = await Promise.all([
    search<Observation>('Observation', { patient: patientId, code, _sort: 'date', _count: 200 }, { all: true, max: MAX_RESULTS }),
    operation<Parameters>('Observation/$series', { params: { patient: patientId, code } }),
  ]);
  return { results: resources, trend: trendOf(series) };
}

/** Laboratory results: the list grouped by test, or one test's detail and trend (`/results?code=system|code`). */
export default function Results() {
  const { query } = useRoute();
  const code = query.get('code');
  return code ? <TestDetail code={code} /> : <ResultList />;
}

function ResultList() {
  const { t } = useTranslation('results');
  const data = useFhirData(loadResults);
  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title">{t('title')}</h1>
      <p className="lead">{t('intro')}</p>
      <Async data={data} isEmpty={(groups) => groups.length === 0} empty={t('empty')}>
        {(groups) => (
          <ul className="results">
            {groups.map(({ key, latest, results }) => {
              const name = conceptText(latest.code) ?? key;
              const code = testCode(latest);
              return (
                <li key={key} className="card result">
                  <h2 className="result-name">{name}</h2>
                  <ResultFacts observation={latest} latestLabel />
                  <p className="result-more">
                    <span className="item-meta">{t('count', { n: results.length })}</span>{' '}
                    {code && <Link href={`/results?code=${encodeURIComponent(code)}`}>{t('open', { test: name })}</Link>}
                  </p>
                </li>
              );
            })}
          </ul>
        )}
      </Async>
    </section>
  );
}

/** A result's value with its flag, then its reference range, when it was taken and any `children` rows. */
function ResultFacts({ observation, latestLabel, withTime, children }: { observation: Observation; latestLabel?: boolean; withTime?: boolean; children?: ReactNode }) {
  const { t } = useTranslation('results');
  const { locale } = useFhir();
  return (
    <>
      <p className="result-value">
        {latestLabel && <span className="visually-hidden">{t('latest')}: </span>}
        <strong>{valueText(observation, locale) ?? t('noValue')}</strong> <FlagBadge flag={resultFlag(observation)} />
      </p>
      <dl className="result-meta">
        <div>
          <dt>{t('range')}</dt>
          <dd>
            <RangeText observation={observation} />
          </dd>
        </div>
        <div>
          <dt>{t('taken')}</dt>
          <dd>{formatDate(resultDate(observation), locale, withTime ?? false)}</dd>
        </div>
        {children}
      </dl>
    </>
  );
}

function TestDetail({ code }: { code: string }) {
  const { t } = useTranslation('results');
  const { locale } = useFhir();
  const data = useFhirData((fhir) => loadTest(fhir, code), [code]);
  const name = data.status === 'done' && data.data.results.length > 0 ? conceptText(data.data.results[data.data.results.length - 1]!.code) : undefined;
  return (
    <section aria-labelledby="screen-title">
      <p>
        <Link href="/results">← {t('back')}</Link>
      </p>
      <h1 id="screen-title">{name ?? t('title')}</h1>
      <Async data={data} isEmpty={({ results }) => results.length === 0} empty={t('empty')}>
        {({ results, trend }) => {
          const latest = results[results.length - 1]!;
          const { points, unit, low, high } = trend;
          return (
            <>
              <article className="card" aria-labelledby="latest-result">
                <h2 id="latest-result">{t('detail')}</h2>
                <ResultFacts observation={latest} withTime>
                  {latest.performer?.[0]?.display && (
                    <div>
                      <dt>{t('performer')}</dt>
                      <dd>{latest.performer.map((p) => p.display).filter(Boolean).join(', ')}</dd>
                    </div>
                  )}
                  {latest.note?.[0]?.text && (
                    <div>
                      <dt>{t('note')}</dt>
                      <dd>{latest.note.map((n) => n.text).join(' ')}</dd>
                    </div>
                  )}
                </ResultFacts>
              </article>
              <article className="card" aria-labelledby="trend">
                <h2 id="trend">{t('trend')}</h2>
                {points.length < 2 ? (
                  <p>{t('noTrend')}</p>
                ) : (
                  <Suspense fallback={<Loading />}>
                    <TrendChart points={points} unit={unit ?? ''} test={name ?? ''} locale={locale} {...(low !== undefined ? { low } : {})} {...(high !== undefined ? { high } : {})} />
                  </Suspense>
                )}
                <table className="trend-table">
                  <caption>{t('table')}</caption>
                  <thead>
                    <tr>
                      <th scope="col">{t('date')}</th>
                      <th scope="col">{t('value')}</th>
                      <th scope="col">{t('assessment')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {[...results].reverse().map((o, index) => (
                      <tr key={o.id ?? index}>
                        <th scope="row">{formatDate(resultDate(o), locale)}</th>
                        <td>{valueText(o, locale) ?? t('noValue')}</td>
                        <td>
                          <FlagBadge flag={resultFlag(o)} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </article>
            </>
          );
        }}
      </Async>
    </section>
  );
}

/** The flag in words, with an arrow for direction; colour only repeats what the words say. */
function FlagBadge({ flag }: { flag: Flag | undefined }) {
  const { t } = useTranslation('results');
  if (!flag) return null;
  const arrow = flag === 'high' || flag === 'criticalHigh' ? '↑ ' : flag === 'low' || flag === 'criticalLow' ? '↓ ' : isAbnormal(flag) ? '! ' : '';
  return (
    <span className={`flag flag-${isAbnormal(flag) ? 'abnormal' : 'normal'}`} data-flag={flag}>
      <span aria-hidden="true">{arrow}</span>
      {t(`flag.${flag}`)}
    </span>
  );
}

function RangeText({ observation }: { observation: Observation }) {
  const { t } = useTranslation('results');
  const { locale } = useFhir();
  const range = observation.referenceRange?.[0];
  const shape = rangeShape(range);
  const unit = unitText(range?.low ?? range?.high ?? observation.valueQuantity);
  const n = (value: number) => formatNumber(value, locale);
  switch (shape.kind) {
    case 'between':
      return <>{t('between', { low: n(shape.low), high: n(shape.high), unit })}</>;
    case 'atLeast':
      return <>{t('atLeast', { low: n(shape.low), unit })}</>;
    case 'atMost':
      return <>{t('atMost', { high: n(shape.high), unit })}</>;
    case 'text':
      return <>{shape.text}</>;
    case 'none':
      return <>{t('noRange')}</>;
  }
}

function valueText(o: Observation, locale: Locale): string | undefined {
  const q = o.valueQuantity;
  if (q?.value !== undefined) return `${q.comparator ?? ''}${formatNumber(q.value, locale)} ${unitText(q)}`.trim();
  return o.valueString ?? conceptText(o.valueCodeableConcept);
}
