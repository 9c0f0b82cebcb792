import type { IncomingHttpHeaders } from "node:http";
import { create, type DescMessage, type DescMethodUnary, type Message, type MessageInitShape } from "@bufbuild/protobuf";
import type { ContextValues, Interceptor, UnaryRequest, UnaryResponse } from "@connectrpc/connect";

/** A unary method implementation that needs only the call's context values. */
export type UnaryImplementation = (message: Message, ctx: { values: ContextValues }) => Promise<MessageInitShape<DescMessage>>;

/** A unary call through the router's interceptors to an implementation. */
export type UnaryChain = (req: UnaryRequest) => Promise<UnaryResponse>;

// A signal that never fires: calls served outside connect carry no deadline
// (a call with a timeout header goes through connect), and a closed
// connection ends the response anyway.
const neverAborted = new AbortController().signal;

/**
 * The interceptors around `implementation`, in the router's order, built once
 * for every call of the method, as connect's handlers run them.
 */
export function createUnaryChain(
  method: DescMethodUnary<DescMessage, DescMessage>,
  implementation: UnaryImplementation,
  interceptors: readonly Interceptor[],
): UnaryChain {
  let chain: UnaryChain = async (req) => {
    const out = await implementation(req.message, { values: req.contextValues });
    return { stream: false, service: method.parent, method, header: new Headers(), trailer: new Headers(), message: create(method.output, out) };
  };
  for (const interceptor of [...interceptors].reverse()) chain = interceptor(chain as never) as UnaryChain;
  return chain;
}

/** The request as interceptors see it: a POST to `url` with the client's headers. */
export function unaryRequest(
  method: DescMethodUnary<DescMessage, DescMessage>,
  url: string,
  headers: IncomingHttpHeaders,
  values: ContextValues,
  message: Message,
): UnaryRequest {
  return {
    stream: false,
    service: method.parent,
    method,
    requestMethod: "POST",
    url,
    signal: neverAborted,
    header: headersOf(headers),
    contextValues: values,
    message,
  };
}

function headersOf(h: IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const key in h) {
    if (key.charCodeAt(0) === 58) continue; // ':' pseudo-headers
    const v = h[key];
    if (typeof v === "string") out.set(key, v);
    else if (Array.isArray(v)) for (const item of v) out.append(key, item);
  }
  return out;
}
