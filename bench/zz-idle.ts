import { prepareDeployment, startLatchkey } from "./lib/latchkey.js";
import { rssMb } from "./lib/proc.js";
const cli = process.argv[2] ?? "dist/cli.js";
for (const kind of ["sqlite", "postgres"] as const) {
  const d = await prepareDeployment(kind);
  if (!d) continue;
  const first = await startLatchkey(cli, d);
  await first.stop();
  const out: number[] = [];
  for (let i = 0; i < 3; i++) {
    const p = await startLatchkey(cli, d);
    await new Promise((r) => setTimeout(r, 1000));
    out.push(rssMb(p.child.pid!));
    await p.stop();
  }
  console.log(kind, out.map((x) => x.toFixed(0)).join(" "));
}
