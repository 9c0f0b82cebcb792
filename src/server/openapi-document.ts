import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Path of the OpenAPI 3.1 document of the REST routes, kept in the repository. */
export const openApiPath = fileURLToPath(new URL("../../openapi/openapi.json", import.meta.url));

/**
 * The document's text as `GET /openapi.json` serves it, read once at start:
 * the file is the source, so what is served is what the repository holds.
 */
export function loadOpenApiDocument(): string {
  return readFileSync(openApiPath, "utf8");
}
