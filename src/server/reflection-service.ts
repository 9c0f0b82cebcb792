import { toBinary, type DescFile, type DescService } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import { ServerReflection as ServerReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** The request fields both protocol versions share. */
interface ReflectionRequest {
  host: string;
  messageRequest:
    | { case: "fileByFilename" | "fileContainingSymbol" | "allExtensionNumbersOfType" | "listServices"; value: string }
    | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
    | { case: undefined; value?: undefined };
}

/**
 * gRPC server reflection (`grpc.reflection.v1` and `v1alpha`) built from the
 * generated descriptors, so grpcurl and `buf curl --reflect` can list, describe
 * and call every service without the .proto files.
 */
export function createReflectionServices(services: readonly DescService[]): {
  v1: ServiceImpl<typeof ServerReflectionV1>;
  v1alpha: ServiceImpl<typeof ServerReflectionV1alpha>;
} {
  const all = [...services, ServerReflectionV1, ServerReflectionV1alpha];
  const files = new Map<string, DescFile>();
  const bySymbol = new Map<string, DescFile>();
  const extensionsOf = new Map<string, Array<{ number: number; file: DescFile }>>();
  const addFile = (file: DescFile) => {
    // DescFile.name drops ".proto"; reflection clients ask by the full path.
    if (files.has(file.proto.name)) return;
    files.set(file.proto.name, file);
    for (const type of nestedTypes(file)) {
      bySymbol.set(type.typeName, file);
      if (type.kind === "service") for (const m of type.methods) bySymbol.set(`${type.typeName}.${m.name}`, file);
      if (type.kind === "message") for (const f of type.fields) bySymbol.set(`${type.typeName}.${f.name}`, file);
      if (type.kind === "extension") {
        const list = extensionsOf.get(type.extendee.typeName) ?? [];
        list.push({ number: type.number, file });
        extensionsOf.set(type.extendee.typeName, list);
      }
    }
    for (const dep of file.dependencies) addFile(dep);
  };
  for (const s of all) addFile(s.file);

  // A file and everything it imports, dependencies first: the client can then
  // build its descriptor pool from one answer.
  const withDependencies = (file: DescFile): Uint8Array[] => {
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const visit = (f: DescFile) => {
      if (seen.has(f.name)) return;
      seen.add(f.name);
      for (const d of f.dependencies) visit(d);
      out.push(toBinary(FileDescriptorProtoSchema, f.proto));
    };
    visit(file);
    return out;
  };

  const answer = (req: ReflectionRequest) => {
    const notFound = (what: string) => ({
      case: "errorResponse" as const,
      value: { errorCode: Code.NotFound, errorMessage: `${what} not found` },
    });
    const r = req.messageRequest;
    let messageResponse;
    switch (r.case) {
      case "listServices":
        messageResponse = { case: "listServicesResponse" as const, value: { service: all.map((s) => ({ name: s.typeName })) } };
        break;
      case "fileByFilename": {
        const file = files.get(r.value);
        messageResponse = file
          ? { case: "fileDescriptorResponse" as const, value: { fileDescriptorProto: withDependencies(file) } }
          : notFound(`file ${r.value}`);
        break;
      }
      case "fileContainingSymbol": {
        const file = bySymbol.get(r.value);
        messageResponse = file
          ? { case: "fileDescriptorResponse" as const, value: { fileDescriptorProto: withDependencies(file) } }
          : notFound(`symbol ${r.value}`);
        break;
      }
      case "fileContainingExtension": {
        const ext = extensionsOf.get(r.value.containingType)?.find((e) => e.number === r.value.extensionNumber);
        messageResponse = ext
          ? { case: "fileDescriptorResponse" as const, value: { fileDescriptorProto: withDependencies(ext.file) } }
          : notFound(`extension ${r.value.extensionNumber} of ${r.value.containingType}`);
        break;
      }
      case "allExtensionNumbersOfType":
        messageResponse = bySymbol.has(r.value)
          ? {
              case: "allExtensionNumbersResponse" as const,
              value: { baseTypeName: r.value, extensionNumber: (extensionsOf.get(r.value) ?? []).map((e) => e.number) },
            }
          : notFound(`type ${r.value}`);
        break;
      default:
        messageResponse = {
          case: "errorResponse" as const,
          value: { errorCode: Code.InvalidArgument, errorMessage: "empty reflection request" },
        };
    }
    return { validHost: req.host, originalRequest: req, messageResponse };
  };

  return {
    v1: {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) yield answer(req as ReflectionRequest) as never;
      },
    },
    v1alpha: {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) yield answer(req as ReflectionRequest) as never;
      },
    },
  };
}
