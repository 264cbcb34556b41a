/**
 * The benchmark's chart: Taskport beside the Fastify peer on the REST workloads, at the
 * busiest connection count, with one process and with every core, as grouped bars in two
 * panels (requests per second, and the server's CPU time per request). Plain SVG written by
 * hand: the figure is a dozen bars, and a charting library would bring a browser or a canvas
 * to draw them. Drawn for 800 px wide, where every label stays legible.
 */
import type { Results, ThroughputRow } from "./Report.ts"

const WIDTH = 800
const MARGIN = { left: 78, right: 20 }
const PANEL_HEIGHT = 250
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
const WORKLOADS = ["list", "read", "create", "update"]

/** Taskport in blue, the peer in orange; light for one process, dark for every core. */
const COLOURS = {
  taskport: ["#93c5fd", "#1d4ed8"],
  peer: ["#fdba74", "#c2410c"]
} as const

interface Series {
  readonly label: string
  readonly colour: string
  readonly value: (row: ThroughputRow) => number | undefined
  readonly workers: number
}

const escapeXml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const text = (
  x: number,
  y: number,
  content: string,
  options: {
    size?: number
    anchor?: "start" | "middle" | "end"
    weight?: number
    fill?: string
    rotate?: number
  } = {}
) =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="${options.size ?? 12}" text-anchor="${options.anchor ?? "start"}"${
    options.weight === undefined ? "" : ` font-weight="${options.weight}"`
  } fill="${options.fill ?? "#1f2937"}"${
    options.rotate === undefined
      ? ""
      : ` transform="rotate(${options.rotate} ${x.toFixed(1)} ${y.toFixed(1)})"`
  }>${escapeXml(content)}</text>`

/** A round step giving about `count` gridlines up to `max`. */
const niceStep = (max: number, count = 5) => {
  const raw = max / count
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= raw)
  return step ?? 10 * magnitude
}

const compact = (value: number) =>
  value >= 10_000
    ? `${(value / 1000).toFixed(0)}k`
    : value >= 1000
      ? `${(value / 1000).toFixed(1)}k`
      : value.toFixed(0)

const panel = (
  top: number,
  title: string,
  axis: string,
  workloads: ReadonlyArray<string>,
  series: ReadonlyArray<Series>,
  rowOf: (workload: string, workers: number) => ThroughputRow | undefined
): string => {
  const plot = {
    left: MARGIN.left,
    right: WIDTH - MARGIN.right,
    top: top + 30,
    bottom: top + PANEL_HEIGHT - 34
  }
  const values = workloads.flatMap((w) =>
    series.map((s) => {
      const row = rowOf(w, s.workers)
      return row === undefined ? undefined : s.value(row)
    })
  )
  const max = Math.max(1, ...values.filter((v): v is number => v !== undefined && Number.isFinite(v)))
  const step = niceStep(max)
  const ceiling = Math.ceil(max / step) * step
  const y = (value: number) => plot.bottom - (value / ceiling) * (plot.bottom - plot.top)
  const parts = [text(plot.left, top + 16, title, { size: 14, weight: 600 })]
  for (let tick = 0; tick <= ceiling + step / 2; tick += step) {
    parts.push(
      `<line x1="${plot.left}" x2="${plot.right}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="${tick === 0 ? "#6b7280" : "#e5e7eb"}" />`,
      text(plot.left - 8, y(tick) + 4, compact(tick), { size: 11, anchor: "end", fill: "#4b5563" })
    )
  }
  const middle = (plot.top + plot.bottom) / 2
  parts.push(text(18, middle, axis, { size: 12, anchor: "middle", rotate: -90, fill: "#374151" }))
  const groupWidth = (plot.right - plot.left) / workloads.length
  const barWidth = Math.min(44, (groupWidth * 0.8) / series.length)
  workloads.forEach((workload, index) => {
    const centre = plot.left + groupWidth * (index + 0.5)
    const start = centre - (barWidth * series.length) / 2
    series.forEach((s, position) => {
      const row = rowOf(workload, s.workers)
      const value = row === undefined ? undefined : s.value(row)
      if (value === undefined || !Number.isFinite(value)) return
      const x = start + position * barWidth
      parts.push(
        `<rect x="${(x + 1).toFixed(1)}" y="${y(value).toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${(plot.bottom - y(value)).toFixed(1)}" fill="${s.colour}"><title>${escapeXml(`${s.label}, ${workload}: ${value.toFixed(0)}`)}</title></rect>`,
        text(x + barWidth / 2, y(value) - 4, compact(value), { size: 10, anchor: "middle", fill: "#374151" })
      )
    })
    parts.push(text(centre, plot.bottom + 18, workload, { size: 13, anchor: "middle" }))
  })
  return parts.join("\n")
}

/** The chart for a run, or undefined when the peer did not run. */
export const render = (results: Results): string | undefined => {
  const compared = results.throughput.filter(
    (row) => row.peer !== undefined && WORKLOADS.includes(row.workload)
  )
  if (compared.length === 0) return undefined
  const connections = Math.max(...compared.map((row) => row.connections))
  const atTop = compared.filter((row) => row.connections === connections)
  const workloads = WORKLOADS.filter((w) => atTop.some((row) => row.workload === w))
  const workerCounts = [...new Set(atTop.map((row) => row.workers))].sort((a, b) => a - b)
  const rowOf = (workload: string, workers: number) =>
    atTop.find((row) => row.workload === workload && row.workers === workers)
  const processes = (workers: number) => (workers === 1 ? "1 process" : `${workers} workers`)
  const shade = (index: number) => (workerCounts.length > 1 && index === workerCounts.length - 1 ? 1 : 0)
  const series = (value: (row: Pick<ThroughputRow, "server">) => number | undefined): Array<Series> =>
    workerCounts.flatMap((workers, index) => [
      {
        label: `Taskport, ${processes(workers)}`,
        colour: COLOURS.taskport[shade(index)],
        value: (row) => value(row),
        workers
      },
      {
        label: `Fastify peer, ${processes(workers)}`,
        colour: COLOURS.peer[shade(index)],
        value: (row) => (row.peer === undefined ? undefined : value({ server: row.peer })),
        workers
      }
    ])
  const throughput = series((row) => row.server.requestsPerSecond)
  const cpu = series((row) => row.server.cpuPerRequestUs)
  const header = 74
  const legendTop = header + 2 * PANEL_HEIGHT + 6
  const height = legendTop + 28 * Math.ceil(throughput.length / 2) + 10
  const legend = throughput.map((s, index) => {
    const x = MARGIN.left + (index % 2) * 300
    const y = legendTop + 28 * Math.floor(index / 2)
    return `<rect x="${x}" y="${y}" width="16" height="16" fill="${s.colour}" />\n${text(x + 24, y + 13, s.label, { size: 13 })}`
  })
  const title = `Taskport and a Fastify peer, REST workloads at ${connections} connections`
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" font-family="${FONT}" role="img" aria-label="${escapeXml(title)}">`,
    `<title>${escapeXml(`${title}: requests per second and CPU time per request`)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff" />`,
    text(MARGIN.left, 28, title, { size: 18, weight: 700 }),
    text(
      MARGIN.left,
      50,
      `commit ${results.commit}, ${results.date.slice(0, 10)}, Node ${results.node}, ${results.cores} cores (${results.cpu})`,
      { size: 12, fill: "#4b5563" }
    ),
    panel(
      header,
      "Requests per second (higher is better)",
      "requests per second",
      workloads,
      throughput,
      rowOf
    ),
    panel(
      header + PANEL_HEIGHT,
      "Server CPU time per request (lower is better)",
      "CPU µs per request",
      workloads,
      cpu,
      rowOf
    ),
    ...legend,
    "</svg>",
    ""
  ].join("\n")
}
