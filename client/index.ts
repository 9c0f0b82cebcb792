/**
 * The generated contract for Node callers: service descriptors to pass to
 * `createClient` of @connectrpc/connect, and the message types and schemas.
 *
 * ```ts
 * import { createClient } from "@connectrpc/connect";
 * import { createGrpcTransport } from "@connectrpc/connect-node";
 * import { IngestService } from "playsmart-gateway/client";
 *
 * const ingest = createClient(IngestService, createGrpcTransport({ baseUrl: "http://127.0.0.1:8080" }));
 * await ingest.ingestEvents({ userId, gameId: "com.example.mygame", events }, { headers: { authorization: `Bearer ${token}` } });
 * ```
 */
export * from "../gen/playsmart/ingest/v1/ingest_pb.js";
export * from "../gen/playsmart/auth/v1/auth_pb.js";
export * from "../gen/playsmart/wallet/v1/wallet_pb.js";
export * from "../gen/playsmart/games/v1/games_pb.js";
export * from "../gen/playsmart/common/v1/errors_pb.js";
