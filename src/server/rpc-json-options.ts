/**
 * How the RPC router reads and writes JSON messages (Connect JSON and the JSON
 * codecs of gRPC-Web): unknown fields are ignored, answers use the proto field
 * names, and the text decoder is fatal, so invalid UTF-8 is refused rather than
 * read as U+FFFD and stored altered. Shared with the tests that hold the
 * gateway's one-pass JSON check to connect's own reading.
 */
export const rpcJsonOptions = {
  ignoreUnknownFields: true,
  useProtoFieldName: true,
  textDecoder: new TextDecoder("utf-8", { fatal: true }),
};
