/**
 * A gRPC client the project did not write: `@grpc/grpc-js` with descriptors loaded
 * at run time by `@grpc/proto-loader` straight from `proto/`, over h2c. Plus a
 * hand decoder of `grpc-status-details-bin` (google.rpc.Status), since
 * protobuf-es ships no google.rpc types.
 */
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { BinaryReader } from "@bufbuild/protobuf/wire";

/** Absolute path of the repository's `proto/` directory. */
export const protoDir = fileURLToPath(new URL("../../proto/", import.meta.url));

/** proto-loader options: proto field names (snake_case) on the wire objects. */
export const loaderOptions: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [protoDir],
};

/** A generic unary method on a dynamically loaded client. */
type UnaryMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response?: unknown) => void,
) => grpc.ClientUnaryCall;

/** A loaded service client with its unary methods callable by name. */
export interface DynamicClient {
  client: grpc.Client;
  /** Calls `method` and resolves with the response, or rejects with the grpc-js ServiceError. */
  call<Res = Record<string, unknown>>(method: string, request: unknown, options?: CallOpts): Promise<Res>;
  /** Calls a server-streaming `method` and resolves with every message once the status is OK. */
  serverStream<Res = Record<string, unknown>>(method: string, request: unknown, options?: CallOpts): Promise<Res[]>;
  close(): void;
}

/** Per-call options of {@link DynamicClient.call}. */
export interface CallOpts {
  /** Sent as the `authorization` metadata entry verbatim (e.g. `Bearer <jwt>`). */
  authorization?: string;
  /** Milliseconds until the deadline. @default 5000 */
  timeoutMs?: number;
  /** More metadata entries (e.g. `traceparent`). */
  metadata?: Record<string, string>;
}

function lookup(root: grpc.GrpcObject, dotted: string): grpc.ServiceClientConstructor {
  let node: unknown = root;
  for (const part of dotted.split(".")) node = (node as Record<string, unknown>)[part];
  if (typeof node !== "function") throw new Error(`service ${dotted} not found in the loaded package`);
  return node as grpc.ServiceClientConstructor;
}

/**
 * Loads `file` (relative to `proto/`) and returns an insecure (h2c) client of
 * `service` (fully qualified, e.g. `playsmart.ingest.v1.IngestService`) for `baseUrl`.
 */
export function createDynamicClient(baseUrl: string, file: string, service: string): DynamicClient {
  const definition = protoLoader.loadSync(file, loaderOptions);
  const pkg = grpc.loadPackageDefinition(definition);
  const Ctor = lookup(pkg, service);
  const target = new URL(baseUrl).host;
  const client = new Ctor(target, grpc.credentials.createInsecure());
  return {
    client,
    call<Res>(method: string, request: unknown, options: CallOpts = {}): Promise<Res> {
      const metadata = new grpc.Metadata();
      if (options.authorization !== undefined) metadata.add("authorization", options.authorization);
      for (const [k, v] of Object.entries(options.metadata ?? {})) metadata.add(k, v);
      const fn = (client as unknown as Record<string, UnaryMethod>)[method];
      if (typeof fn !== "function") throw new Error(`no method ${method} on ${service}`);
      return new Promise<Res>((resolve, reject) => {
        fn.call(
          client,
          request,
          metadata,
          { deadline: Date.now() + (options.timeoutMs ?? 5000) },
          (err, response) => (err ? reject(err) : resolve(response as Res)),
        );
      });
    },
    serverStream<Res>(method: string, request: unknown, options: CallOpts = {}): Promise<Res[]> {
      const metadata = new grpc.Metadata();
      if (options.authorization !== undefined) metadata.add("authorization", options.authorization);
      const fn = (client as unknown as Record<string, StreamMethod>)[method];
      if (typeof fn !== "function") throw new Error(`no method ${method} on ${service}`);
      return new Promise<Res[]>((resolve, reject) => {
        const messages: Res[] = [];
        const call = fn.call(client, request, metadata, { deadline: Date.now() + (options.timeoutMs ?? 5000) });
        call.on("data", (m: Res) => messages.push(m));
        call.on("error", reject);
        call.on("status", (s: grpc.StatusObject) => {
          if (s.code === grpc.status.OK) resolve(messages);
        });
      });
    },
    close() {
      client.close();
    },
  };
}

/** A generic server-streaming method on a dynamically loaded client. */
type StreamMethod = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;

/** `google.protobuf.Any`. */
export interface AnyDetail {
  typeUrl: string;
  value: Uint8Array;
}

/** `google.rpc.Status`. */
export interface RpcStatus {
  code: number;
  message: string;
  details: AnyDetail[];
}

function decodeAny(bytes: Uint8Array): AnyDetail {
  const r = new BinaryReader(bytes);
  const any: AnyDetail = { typeUrl: "", value: new Uint8Array() };
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1) any.typeUrl = r.string();
    else if (no === 2) any.value = r.bytes();
    else r.skip(wt);
  }
  return any;
}

/** Decodes a `grpc-status-details-bin` value: Status{code=1; message=2; repeated Any details=3}. */
export function decodeRpcStatus(bytes: Uint8Array): RpcStatus {
  const r = new BinaryReader(bytes);
  const status: RpcStatus = { code: 0, message: "", details: [] };
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1) status.code = r.int32();
    else if (no === 2) status.message = r.string();
    else if (no === 3) status.details.push(decodeAny(r.bytes()));
    else r.skip(wt);
  }
  return status;
}

/**
 * The google.rpc.Status a grpc-js error carries in its trailers.
 * @throws AssertionError-like Error when the trailer is missing.
 */
export function statusDetailsOf(err: grpc.ServiceError): RpcStatus {
  const values = err.metadata?.get("grpc-status-details-bin") ?? [];
  const first = values[0];
  if (first === undefined) throw new Error(`no grpc-status-details-bin in the error metadata (code ${err.code}: ${err.details})`);
  return decodeRpcStatus(typeof first === "string" ? Buffer.from(first, "base64") : first);
}

/** Runs `promise` and returns the grpc-js ServiceError it rejects with; fails when it resolves. */
export async function grpcErrorOf(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    const res = await promise;
    throw new Error(`expected the call to fail, it answered ${JSON.stringify(res)}`);
  } catch (err) {
    if (err instanceof Error && "code" in err && typeof (err as grpc.ServiceError).code === "number") {
      return err as grpc.ServiceError;
    }
    throw err;
  }
}

export { grpc };
