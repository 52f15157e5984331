/** A grouped bar chart in SVG, with a title, a description and the figures as a table for screen readers. */
export interface Series {
  name: string;
  color: string;
  values: number[];
}

export function BarChart({ title, labels, series, unit = '' }: { title: string; labels: string[]; series: Series[]; unit?: string }) {
  const width = 640;
  const height = 240;
  const pad = { left: 40, bottom: 40, top: 16, right: 8 };
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const groupWidth = (width - pad.left - pad.right) / Math.max(1, labels.length);
  const barWidth = Math.min(48, Math.max(2, (groupWidth * 0.8) / Math.max(1, series.length)));
  const y = (v: number) => height - pad.bottom - ((height - pad.top - pad.bottom) * v) / max;
  const titleId = `chart-${title.replace(/\W+/g, '-')}`;
  return (
    <figure className="chart" style={{ margin: 0 }}>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={titleId}>
        <title id={titleId}>{title}</title>
        <line x1={pad.left} x2={width - pad.right} y1={y(0)} y2={y(0)} stroke="currentColor" />
        <text x={pad.left - 4} y={y(max) + 4} textAnchor="end" fontSize="11" fill="currentColor">{max}</text>
        <text x={pad.left - 4} y={y(0)} textAnchor="end" fontSize="11" fill="currentColor">0</text>
        {labels.map((label, i) => (
          <g key={label}>
            {series.map((s, j) => {
              const v = s.values[i] ?? 0;
              return <rect key={s.name} x={pad.left + i * groupWidth + groupWidth * 0.1 + j * barWidth} y={y(v)} width={barWidth} height={y(0) - y(v)} fill={s.color} />;
            })}
            <text x={pad.left + i * groupWidth + groupWidth / 2} y={height - pad.bottom + 16} textAnchor="middle" fontSize="11" fill="currentColor">{label}</text>
          </g>
        ))}
        {series.map((s, j) => (
          <g key={s.name}>
            <rect x={pad.left + j * 170} y={height - 14} width={10} height={10} fill={s.color} />
            <text x={pad.left + j * 170 + 14} y={height - 5} fontSize="11" fill="currentColor">{s.name}</text>
          </g>
        ))}
      </svg>
      <figcaption>
        <details>
          <summary>{title}: the figures</summary>
          <table>
            <thead>
              <tr>
                <th scope="col">month</th>
                {series.map((s) => (
                  <th scope="col" key={s.name}>{s.name}{unit && ` (${unit})`}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {labels.map((label, i) => (
                <tr key={label}>
                  <th scope="row">{label}</th>
                  {series.map((s) => (
                    <td key={s.name}>{s.values[i] ?? 0}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      </figcaption>
    </figure>
  );
}
