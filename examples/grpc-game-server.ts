/**
 * A game server sending a player's events over gRPC with @grpc/grpc-js, straight
 * from proto/ (no generated code needed).
 *
 *   PLAYSMART_ADDRESS=127.0.0.1:8080 npx tsx examples/grpc-game-server.ts
 *
 * Retries follow the contract: only UNAVAILABLE and RESOURCE_EXHAUSTED are
 * retried, with exponential back-off, and a retry resends the very same batch,
 * event_ids included, so the server stores each event and pays its coins once
 * even when an earlier attempt did reach it.
 */
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const address = process.env.PLAYSMART_ADDRESS ?? "127.0.0.1:8080";
const protoDir = fileURLToPath(new URL("../proto/", import.meta.url));

// gRPC's own retry machinery (gRFC A6), configured per service.
const serviceConfig = {
  methodConfig: [
    {
      name: [{ service: "playsmart.ingest.v1.IngestService" }],
      retryPolicy: {
        maxAttempts: 5,
        initialBackoff: "0.5s",
        maxBackoff: "5s",
        backoffMultiplier: 2,
        retryableStatusCodes: ["UNAVAILABLE", "RESOURCE_EXHAUSTED"],
      },
      timeout: "30s",
    },
  ],
};

type Unary = (req: object, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: Record<string, unknown>) => void) => void;

function load(file: string, service: string): grpc.Client & Record<string, Unary> {
  const def = protoLoader.loadSync(file, { includeDirs: [protoDir], keepCase: true, longs: String, defaults: true });
  let node: unknown = grpc.loadPackageDefinition(def);
  for (const part of service.split(".")) node = (node as Record<string, unknown>)[part];
  const Client = node as grpc.ServiceClientConstructor;
  return new Client(address, grpc.credentials.createInsecure(), {
    "grpc.service_config": JSON.stringify(serviceConfig),
    "grpc.enable_retries": 1,
  }) as never;
}

function call(client: grpc.Client & Record<string, Unary>, method: string, req: object, token?: string) {
  const md = new grpc.Metadata();
  if (token) md.set("authorization", `Bearer ${token}`);
  return new Promise<Record<string, unknown>>((resolve, reject) =>
    client[method]!(req, md, (err, res) => (err ? reject(err) : resolve(res))),
  );
}

async function main(): Promise<void> {
  const auth = load("playsmart/auth/v1/auth.proto", "playsmart.auth.v1.AuthService");
  const ingest = load("playsmart/ingest/v1/ingest.proto", "playsmart.ingest.v1.IngestService");
  try {
    // A game server would hold its players' tokens; here we make a player.
    const email = `example-${randomUUID()}@example.com`;
    const tokens = await call(auth, "Register", { email, password: "example password 1" });
    const userId = tokens.user_id as string;
    const accessToken = tokens.access_token as string;

    // Client-chosen ids make the batch safe to resend.
    const runId = randomUUID();
    const batch = {
      user_id: userId,
      game_id: "com.example.mygame",
      events: [
        { type: "AppOpen", timestamp: new Date().toISOString(), event_id: `${runId}-0` },
        {
          type: "LevelCompleted",
          timestamp: new Date().toISOString(),
          customdata: { fields: { level: { numberValue: 1 } } },
          event_id: `${runId}-1`,
        },
      ],
    };
    const res = await call(ingest, "IngestEvents", batch, accessToken);
    console.log(JSON.stringify({ user_id: userId, batch_id: res.batch_id, accepted: res.accepted }));
  } finally {
    auth.close();
    ingest.close();
  }
}

main().catch((err: grpc.ServiceError) => {
  console.error(`failed: ${grpc.status[err.code] ?? "?"} ${err.details ?? err.message}`);
  process.exit(1);
});
