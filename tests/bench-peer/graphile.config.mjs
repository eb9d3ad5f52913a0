// PostGraphile v5 settings for scripts/bench-peer: the Amber preset as
// shipped, over our tables (schema "public") and the report function
// (schema "peer", tests/bench-peer/peer.sql). No authentication, no
// GraphiQL, no watch mode, no explain.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

const connectionString = process.env.PEER_DATABASE_URL;
if (!connectionString) {
  throw new Error("PEER_DATABASE_URL is not set");
}

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString,
      schemas: ["public", "peer"],
      poolConfig: { max: Number(process.env.PEER_POOL_SIZE || 10) },
    }),
  ],
  grafserv: {
    host: "127.0.0.1",
    port: Number(process.env.PEER_PORT || 5678),
    graphiql: false,
    watch: false,
  },
  grafast: { explain: false },
};

export default preset;
