// PostGraphile v5 for scripts/bench-peer: one process, or PEER_PROCESSES
// worker processes sharing the port through node:cluster (the primary only
// hands out connections). Listens on 127.0.0.1:PEER_PORT.
import cluster from "node:cluster";
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import preset from "./graphile.config.mjs";

const processes = Number(process.env.PEER_PROCESSES || 1);
const port = Number(process.env.PEER_PORT || 5678);

if (processes > 1 && cluster.isPrimary) {
  for (let i = 0; i < processes; i++) cluster.fork();
  cluster.on("exit", (worker, code, signal) => {
    console.error(`peer worker ${worker.process.pid} exited (${signal || code})`);
    process.exit(1);
  });
  const stop = () => {
    for (const w of Object.values(cluster.workers)) w.process.kill("SIGTERM");
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} else {
  if (cluster.isWorker) process.on("disconnect", () => process.exit(0));
  const pgl = postgraphile(preset);
  const serv = pgl.createServ(grafserv);
  const server = createServer();
  server.keepAliveTimeout = 65_000;
  server.on("error", (e) => {
    console.error(e);
    process.exit(1);
  });
  await serv.addTo(server);
  // Build the schema before accepting requests, so readiness means ready.
  await pgl.getSchemaResult();
  server.listen(port, "127.0.0.1", () => {
    console.log(`peer ${process.pid} listening on http://127.0.0.1:${port}/graphql`);
  });
  const stop = () => {
    server.close();
    pgl.release().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
