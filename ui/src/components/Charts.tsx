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
