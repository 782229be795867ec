/** A small horizontal bar chart as standalone SVG (no dependencies, renders anywhere). */
export function barChartSvg(title: string, bars: { label: string; value: number; unit: string }[]): string {
  const width = 720;
  const labelWidth = 230;
  const barArea = width - labelWidth - 140;
  const rowHeight = 34;
  const top = 44;
  const height = top + bars.length * rowHeight + 16;
  const max = Math.max(...bars.map((b) => b.value), 1);
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const rows = bars.map((bar, i) => {
    const y = top + i * rowHeight;
    const w = Math.max(1, Math.round((bar.value / max) * barArea));
    return [
      `<text x="${labelWidth - 10}" y="${y + 18}" text-anchor="end">${esc(bar.label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 4}" width="${w}" height="20" fill="#3b82f6" rx="3"/>`,
      `<text x="${labelWidth + w + 8}" y="${y + 18}">${Math.round(bar.value).toLocaleString("en-US")} ${esc(bar.unit)}</text>`,
    ].join("");
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13" fill="#111">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="16" y="26" font-size="15" font-weight="bold">${esc(title)}</text>`,
    ...rows,
    `</svg>`,
    "",
  ].join("\n");
}
