import { useTranslation } from 'react-i18next';
import { formatDate, formatNumber, type Locale } from '../../i18n/locale.js';
import type { TrendPoint } from './logic.js';

const WIDTH = 400;
const HEIGHT = 220;
const PAD = { top: 12, right: 14, bottom: 34, left: 48 };

/**
 * A test's values over time as an SVG line with the reference range as a shaded band. Its own
 * chunk (lazy), so the list of results and the initial bundle do not carry it. The picture is
 * labelled with a summary; the values themselves are in the table the screen shows beside it.
 */
export default function TrendChart({ points, low, high, unit, test, locale }: { points: TrendPoint[]; low?: number; high?: number; unit: string; test: string; locale: Locale }) {
  const { t } = useTranslation('results');
  const values = [...points.map((p) => p.value), ...(low !== undefined ? [low] : []), ...(high !== undefined ? [high] : [])];
  const spread = Math.max(...values) - Math.min(...values) || Math.abs(values[0] ?? 1) || 1;
  const min = Math.min(...values) - spread * 0.1;
  const max = Math.max(...values) + spread * 0.1;
  const first = points[0]!.time;
  const last = points[points.length - 1]!.time;
  const x = (time: number) => PAD.left + (last === first ? 0.5 : (time - first) / (last - first)) * (WIDTH - PAD.left - PAD.right);
  const y = (value: number) => PAD.top + (1 - (value - min) / (max - min)) * (HEIGHT - PAD.top - PAD.bottom);
  // The range's bounds are the values a reader compares with; without a range, the lowest and highest value.
  const data = points.map((p) => p.value);
  const ticks = low !== undefined || high !== undefined ? [low, high].filter((v): v is number => v !== undefined) : [...new Set([Math.min(...data), Math.max(...data)])];
  const label = t('chartLabel', { test, n: points.length, from: formatDate(points[0]!.date, locale), to: formatDate(points[points.length - 1]!.date, locale) });
  const bandTop = y(high ?? max);
  const bandBottom = y(low ?? min);
  return (
    <figure className="trend">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={label} preserveAspectRatio="xMidYMid meet">
        {(low !== undefined || high !== undefined) && <rect className="trend-band" x={PAD.left} y={bandTop} width={WIDTH - PAD.left - PAD.right} height={Math.max(0, bandBottom - bandTop)} />}
        {ticks.map((tick) => (
          <g key={tick}>
            <line className="trend-grid" x1={PAD.left} x2={WIDTH - PAD.right} y1={y(tick)} y2={y(tick)} />
            <text className="trend-axis" x={PAD.left - 6} y={y(tick)} textAnchor="end" dominantBaseline="middle">
              {formatNumber(tick, locale, { maximumFractionDigits: 2 })}
            </text>
          </g>
        ))}
        <polyline className="trend-line" points={points.map((p) => `${x(p.time)},${y(p.value)}`).join(' ')} />
        {points.map((p) => {
          const flagged = p.flag !== undefined && p.flag !== 'normal';
          // Out-of-range points differ in shape (a diamond), not only in colour.
          return flagged ? (
            <rect key={p.date} className="trend-point trend-point-flagged" x={x(p.time) - 6} y={y(p.value) - 6} width={12} height={12} transform={`rotate(45 ${x(p.time)} ${y(p.value)})`} />
          ) : (
            <circle key={p.date} className="trend-point" cx={x(p.time)} cy={y(p.value)} r={5} />
          );
        })}
        <text className="trend-axis" x={PAD.left} y={HEIGHT - 10} textAnchor="start">
          {formatDate(points[0]!.date, locale)}
        </text>
        {points.length > 1 && (
          <text className="trend-axis" x={WIDTH - PAD.right} y={HEIGHT - 10} textAnchor="end">
            {formatDate(points[points.length - 1]!.date, locale)}
          </text>
        )}
      </svg>
      <figcaption>
        {unit && <span>{unit}. </span>}
        {(low !== undefined || high !== undefined) && t('rangeBand')}
      </figcaption>
    </figure>
  );
}
