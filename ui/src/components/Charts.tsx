// Small charts drawn as inline SVG: enough for a dashboard, no chart library.
import { useEffect, useState } from "react";

export interface Bar {
  label: string;
  value: number;
  /** What a screen reader and the tooltip say for this bar. */
  text: string;
  tone?: "primary" | "muted" | "warning";
}

/** Horizontal bars scaled to the largest value. */
export function BarChart({ bars, title }: { bars: Bar[]; title: string }) {
  const max = Math.max(1, ...bars.map((b) => Math.abs(b.value)));
  return (
    <figure className="bar-chart">
      <figcaption className="visually-hidden">{title}</figcaption>
      <ul className="bar-chart__list">
        {bars.map((bar) => (
          <li key={bar.label} className="bar-chart__row">
            <span className="bar-chart__label">{bar.label}</span>
            <svg className="bar-chart__track" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label={`${bar.label}: ${bar.text}`}>
              <rect x="0" y="0" width="100" height="10" rx="2" className="bar-chart__bg" />
              <rect
                x="0"
                y="0"
                width={Math.max(bar.value > 0 ? 1 : 0, (Math.abs(bar.value) / max) * 100)}
                height="10"
                rx="2"
                className={`bar-chart__bar bar-chart__bar--${bar.tone ?? "primary"}`}
              />
            </svg>
            <span className="bar-chart__value">{bar.text}</span>
          </li>
        ))}
      </ul>
    </figure>
  );
}

/** A ring showing a share (0..1), with its figure in the middle. */
export function Ring({ share, label, text }: { share: number | null; label: string; text: string }) {
  const radius = 40;
  const circumference = 2 * Math.PI * radius;
  const filled = share === null ? 0 : Math.min(1, Math.max(0, share)) * circumference;
  return (
    <svg className="ring" viewBox="0 0 100 100" role="img" aria-label={`${label}: ${text}`}>
      <circle cx="50" cy="50" r={radius} className="ring__bg" />
      {filled > 0 && (
        <circle
          cx="50"
          cy="50"
          r={radius}
          className="ring__fill"
          strokeDasharray={`${filled} ${circumference - filled}`}
          transform="rotate(-90 50 50)"
        />
      )}
      <text x="50" y="55" textAnchor="middle" className="ring__text">
        {text}
      </text>
    </svg>
  );
}

export interface ColumnSeries {
  name: string;
  tone: "primary" | "muted" | "warning";
}

export interface ColumnGroup {
  /** The short label under the group (a day, a week, a month). */
  label: string;
  /** One value per series, in the series' order. */
  values: number[];
  /** What a screen reader and the tooltip say for each value. */
  texts: string[];
}

/** The width of an element, followed as it resizes (0 until measured). */
function useWidth<T extends HTMLElement>(): [(el: T | null) => void, number, T | null] {
  const [width, setWidth] = useState(0);
  const [el, setEl] = useState<T | null>(null);
  useEffect(() => {
    if (!el) return;
    setWidth(el.clientWidth);
    if (typeof ResizeObserver !== "function") return;
    const observer = new ResizeObserver(() => setWidth(el.clientWidth));
    observer.observe(el);
    return () => observer.disconnect();
  }, [el]);
  return [setEl, width, el];
}

/**
 * Vertical columns, one group per period and one column per series, scaled to the
 * largest value, drawn at the width of their box (scrolling sideways when there
 * are too many periods to fit); a legend above, the scale's top on the left.
 */
export function ColumnChart({
  series,
  groups,
  title,
  format,
}: {
  series: ColumnSeries[];
  groups: ColumnGroup[];
  title: string;
  /** The scale's labels. */
  format?: (value: number) => string;
}) {
  const [ref, boxWidth, box] = useWidth<HTMLDivElement>();
  const max = Math.max(1, ...groups.flatMap((g) => g.values.map((v) => Math.abs(v))));
  const height = 180;
  const left = format ? 56 : 0;
  // At 19 px a period, a year of months fits a 360 px phone.
  const width = Math.max(boxWidth || 320, left + groups.length * 19);
  const groupWidth = (width - left) / Math.max(1, groups.length);
  const gap = Math.min(12, groupWidth * 0.25);
  const barWidth = Math.min(28, (groupWidth - gap) / Math.max(1, series.length));
  const inner = barWidth * series.length;
  const labelEvery = Math.max(1, Math.ceil(46 / groupWidth));
  const y = (v: number) => height - (Math.abs(v) / max) * (height - 10);
  // Too many periods for the box (a phone): show the latest ones first, the past a swipe away.
  useEffect(() => {
    if (box && box.scrollWidth > box.clientWidth) box.scrollLeft = box.scrollWidth;
  }, [box, width, groups.length]);
  return (
    <figure className="column-chart">
      <figcaption className="column-chart__legend">
        <span className="visually-hidden">{title}. </span>
        {series.map((s) => (
          <span key={s.name} className="column-chart__key">
            <span className={`column-chart__swatch column-chart__swatch--${s.tone}`} aria-hidden="true" />
            {s.name}
          </span>
        ))}
      </figcaption>
      <div className="column-chart__scroll" ref={ref}>
        <svg className="column-chart__svg" viewBox={`0 0 ${width} ${height + 22}`} width={width} height={height + 22} role="img" aria-label={title}>
          {format &&
            [max, max / 2].map((v) => (
              <g key={v}>
                <line x1={left} x2={width} y1={y(v)} y2={y(v)} className="column-chart__grid" />
                <text x={left - 6} y={y(v) + 4} textAnchor="end" className="column-chart__label">
                  {format(v)}
                </text>
              </g>
            ))}
          <line x1={left} x2={width} y1={height} y2={height} className="column-chart__axis" />
          {groups.map((g, gi) => (
            <g key={`${g.label}-${gi}`} transform={`translate(${left + gi * groupWidth + (groupWidth - inner) / 2}, 0)`}>
              {g.values.map((v, si) => (
                <rect
                  key={si}
                  x={si * barWidth}
                  y={y(v)}
                  width={Math.max(1, barWidth - 2)}
                  height={Math.max(v !== 0 ? 1 : 0, height - y(v))}
                  rx="2"
                  className={`bar-chart__bar--${series[si]?.tone ?? "primary"}`}
                >
                  <title>{`${g.label}, ${series[si]?.name ?? ""}: ${g.texts[si] ?? ""}`}</title>
                </rect>
              ))}
              {gi % labelEvery === 0 && (
                <text x={inner / 2} y={height + 16} textAnchor="middle" className="column-chart__label">
                  {g.label}
                </text>
              )}
            </g>
          ))}
        </svg>
      </div>
    </figure>
  );
}
