// The benchmark's outputs: one table (Markdown), the targets of issue 9 checked against it, and a
// small hand-written SVG bar chart.

export interface Row {
  scenario: string;
  server: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  /** Server CPU time (all threads) per answered request; 0 when not measured alone. */
  cpuMsPerRequest: number;
  connections: number;
  note?: string;
}

export interface StartupRow {
  server: string;
  /** First start on an empty database (migrations, key generation); -1 when not measured. */
  firstStartMs: number;
  /** Restart on an existing database, spawn to /health/ready. */
  readyMs: number;
  idleRssMb: number;
  loadedRssMb: number;
}

export interface Target {
  server: string;
  target: string;
  measured: string;
  met: boolean;
}

/** The ceiling row each Latchkey scenario is compared with (the work it cannot avoid). */
const CEILING_OF: Record<string, string> = {
  "client credentials": "client credentials",
  "authorization code exchange": "client credentials",
  "refresh token rotation": "client credentials",
  "client credentials during sign-in flood": "client credentials",
  JWKS: "JWKS",
  discovery: "discovery",
  "sign-in (password check)": "sign-in (password check)",
};

const isLatchkey = (row: Row) => row.server.startsWith("latchkey");
const find = (rows: Row[], scenario: string, server: string) =>
  rows.find((r) => r.scenario === scenario && r.server === server);

function ratios(rows: Row[], row: Row): { ceiling?: number; peer?: number } {
  if (!isLatchkey(row)) return {};
  const ceilingScenario = CEILING_OF[row.scenario];
  const ceiling = ceilingScenario ? find(rows, ceilingScenario, "ceiling") : undefined;
  const peer = find(rows, row.scenario, "oidc-provider");
  return {
    ceiling: ceiling?.requestsPerSecond ? row.requestsPerSecond / ceiling.requestsPerSecond : undefined,
    peer: peer?.requestsPerSecond ? row.requestsPerSecond / peer.requestsPerSecond : undefined,
  };
}

export function summarize(rows: Row[], startup: StartupRow[]): Target[] {
  const targets: Target[] = [];
  const add = (
    server: string,
    target: string,
    value: number | undefined,
    met: (v: number) => boolean,
    unit = "×",
  ) => {
    if (value === undefined || !Number.isFinite(value)) return;
    const measured = unit === "×" ? `${value.toFixed(2)}×` : `${Math.round(value)} ${unit}`;
    targets.push({ server, target, measured, met: met(value) });
  };
  const servers = [...new Set(rows.filter(isLatchkey).map((r) => r.server))].filter((s) =>
    /^latchkey \(/.test(s),
  );
  const rps = (scenario: string, server: string) => find(rows, scenario, server)?.requestsPerSecond;
  const div = (a: number | undefined, b: number | undefined) => (a && b ? a / b : undefined);
  for (const server of servers) {
    const cc = find(rows, "client credentials", server);
    const ceilingCc = find(rows, "client credentials", "ceiling");
    add(
      server,
      "client credentials ≥ 0.9× ceiling",
      div(cc?.requestsPerSecond, ceilingCc?.requestsPerSecond),
      (v) => v >= 0.9,
    );
    add(
      server,
      "client credentials ahead of oidc-provider",
      div(cc?.requestsPerSecond, rps("client credentials", "oidc-provider")),
      (v) => v > 1,
    );
    add(server, "client credentials p99 < 50 ms", cc?.p99, (v) => v < 50, "ms");
    add(
      server,
      "CPU per token ≤ 1.15× ceiling's",
      div(cc?.cpuMsPerRequest, ceilingCc?.cpuMsPerRequest),
      (v) => v <= 1.15,
    );
    for (const doc of ["JWKS", "discovery"]) {
      add(server, `${doc} ≥ 0.8× bare server`, div(rps(doc, server), rps(doc, "ceiling")), (v) => v >= 0.8);
      add(
        server,
        `${doc} ≥ 3× oidc-provider`,
        div(rps(doc, server), rps(doc, "oidc-provider")),
        (v) => v >= 3,
      );
    }
    for (const flow of ["authorization code exchange", "refresh token rotation"]) {
      if (server.includes("sqlite"))
        add(
          server,
          `${flow} ≥ 0.45× ceiling`,
          div(rps(flow, server), ceilingCc?.requestsPerSecond),
          (v) => v >= 0.45,
        );
      else
        add(
          server,
          `${flow} ≥ 0.8× SQLite`,
          div(rps(flow, server), rps(flow, "latchkey (sqlite)")),
          (v) => v >= 0.8,
        );
    }
    for (const page of ["users page of 100 (first)", "users page of 100 (deep, keyset)"])
      add(server, `${page} p99 ≤ 20 ms`, find(rows, page, server)?.p99, (v) => v <= 20, "ms");
    add(
      server,
      "connected-app token ≥ 5 000 req/s",
      rps("connected-app token (fresh)", server),
      (v) => v >= 5000,
      "req/s",
    );
    add(
      server,
      "sign-in ≥ 0.9× argon2 ceiling",
      div(rps("sign-in (password check)", server), rps("sign-in (password check)", "ceiling")),
      (v) => v >= 0.9,
    );
    add(
      server,
      "client credentials under sign-in flood ≥ 0.7× solo",
      div(rps("client credentials during sign-in flood", server), cc?.requestsPerSecond),
      (v) => v >= 0.7,
    );
    const boot = startup.find((s) => s.server === server);
    add(server, "idle RSS ≤ 120 MB", boot?.idleRssMb, (v) => v <= 120, "MB");
    if (server.includes("sqlite"))
      add(server, "ready ≤ 1 s (restart)", boot?.readyMs, (v) => v <= 1000, "ms");
  }
  const one = rows.find((r) => r.scenario === "client credentials" && /×1 workers/.test(r.server));
  const all = rows.find((r) => r.scenario === "client credentials" && /×[2-9]\d* workers/.test(r.server));
  if (one && all)
    add(
      all.server,
      "client credentials, all workers vs one (reported)",
      all.requestsPerSecond / one.requestsPerSecond,
      () => true,
    );
  return targets;
}

const fmt = (value: number | undefined) => (value === undefined ? "–" : `${value.toFixed(2)}×`);

export function renderMarkdown(
  meta: {
    date: string;
    machine: string;
    sqliteCommitMs: { full: number; normal: number };
    seconds: number;
    connections: number;
    users: number;
    minutes: number;
  },
  rows: Row[],
  startup: StartupRow[],
  targets: Target[],
): string {
  const lines = [
    `Run ${meta.date} on ${meta.machine}; ${meta.seconds} s per scenario, ${meta.connections} connections unless noted, ${meta.users.toLocaleString("en")} users loaded; whole run ${meta.minutes} min.`,
    "",
    `One SQLite write transaction (WAL) on this disk: ${meta.sqliteCommitMs.full} ms with synchronous=FULL (the fsync on the calling thread), ${meta.sqliteCommitMs.normal} ms with NORMAL (Latchkey: NORMAL, plus one fsync per group of commits off the event loop, so acknowledged writes are as durable as with FULL).`,
    "",
    "| scenario | server | req/s | p50 ms | p99 ms | errors | server CPU ms/req | × ceiling | × oidc-provider | conns | note |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ...rows.map((r) => {
      const { ceiling, peer } = ratios(rows, r);
      return `| ${r.scenario} | ${r.server} | ${r.requestsPerSecond} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.cpuMsPerRequest || "–"} | ${fmt(ceiling)} | ${fmt(peer)} | ${r.connections} | ${r.note ?? ""} |`;
    }),
    "",
    "| server | first start ms (empty database) | ready ms (restart) | idle RSS MB | RSS after load MB |",
    "|---|--:|--:|--:|--:|",
    ...startup.map(
      (s) =>
        `| ${s.server} | ${s.firstStartMs < 0 ? "–" : s.firstStartMs} | ${s.readyMs} | ${s.idleRssMb < 0 ? "–" : s.idleRssMb} | ${s.loadedRssMb} |`,
    ),
    "",
    "| server | target | measured | met |",
    "|---|---|--:|:-:|",
    ...targets.map((t) => `| ${t.server} | ${t.target} | ${t.measured} | ${t.met ? "yes" : "**no**"} |`),
    "",
  ];
  return lines.join("\n");
}

const COLORS: Record<string, string> = { ceiling: "#9e9e9e", "oidc-provider": "#e0a030" };
const colorOf = (server: string) =>
  COLORS[server] ??
  (server.includes("postgres") ? "#3b6fb6" : server.includes("workers") ? "#7a55b3" : "#2e8b57");

const escapeXml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Requests per second, one group per scenario, bars scaled to the fastest server of the group. */
export function renderSvg(rows: Row[]): string {
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  const width = 860;
  const labelWidth = 330;
  const barMax = width - labelWidth - 90;
  const bar = 14;
  const parts: string[] = [];
  let y = 30;
  for (const scenario of scenarios) {
    const group = rows.filter((r) => r.scenario === scenario);
    const max = Math.max(1, ...group.map((r) => r.requestsPerSecond));
    parts.push(`<text x="8" y="${y + 11}" font-weight="bold">${escapeXml(scenario)}</text>`);
    y += 16;
    for (const r of group) {
      const w = Math.max(1, Math.round((r.requestsPerSecond / max) * barMax));
      parts.push(
        `<text x="24" y="${y + 11}">${escapeXml(r.server)}</text>`,
        `<rect x="${labelWidth}" y="${y}" width="${w}" height="${bar}" fill="${colorOf(r.server)}"/>`,
        `<text x="${labelWidth + w + 6}" y="${y + 11}">${r.requestsPerSecond} req/s</text>`,
      );
      y += bar + 4;
    }
    y += 8;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 10}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="8" y="18" font-size="13" font-weight="bold">Requests per second (bars scaled within each scenario)</text>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}
