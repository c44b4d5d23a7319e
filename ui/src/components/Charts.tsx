// Small charts drawn as inline SVG: enough for a dashboard, no chart library.

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

/**
 * Vertical columns, one group per period and one column per series, scaled to the
 * largest value; a legend above. Labels thin out when there are many groups.
 */
export function ColumnChart({ series, groups, title }: { series: ColumnSeries[]; groups: ColumnGroup[]; title: string }) {
  const max = Math.max(1, ...groups.flatMap((g) => g.values.map((v) => Math.abs(v))));
  const height = 160;
  const groupWidth = 40;
  const width = Math.max(groups.length * groupWidth, 200);
  const barWidth = Math.max(4, (groupWidth - 10) / Math.max(1, series.length));
  const every = Math.ceil(groups.length / 12);
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
      <div className="column-chart__scroll">
        <svg className="column-chart__svg" viewBox={`0 0 ${width} ${height + 22}`} width={width} height={height + 22} role="img" aria-label={title}>
          <line x1="0" x2={width} y1={height} y2={height} className="column-chart__axis" />
          {groups.map((g, gi) => (
            <g key={`${g.label}-${gi}`} transform={`translate(${gi * groupWidth + 5}, 0)`}>
              {g.values.map((v, si) => {
                const h = (Math.abs(v) / max) * (height - 8);
                return (
                  <rect
                    key={si}
                    x={si * barWidth}
                    y={height - h}
                    width={barWidth - 2}
                    height={Math.max(v > 0 ? 1 : 0, h)}
                    rx="2"
                    className={`bar-chart__bar--${series[si]?.tone ?? "primary"}`}
                  >
                    <title>{`${g.label}, ${series[si]?.name ?? ""}: ${g.texts[si] ?? ""}`}</title>
                  </rect>
                );
              })}
              {gi % every === 0 && (
                <text x={(groupWidth - 10) / 2} y={height + 16} textAnchor="middle" className="column-chart__label">
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
