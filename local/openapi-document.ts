/** Where npm start and the tests read the OpenAPI description from. */
import { readFile } from 'node:fs/promises';

/** The OpenAPI 3.1 description of every route, kept in the repository (openapi/openapi.json). */
export const OPENAPI_DOCUMENT_URL = new URL('../openapi/openapi.json', import.meta.url);

export async function readOpenApiDocument(): Promise<string> {
  return readFile(OPENAPI_DOCUMENT_URL, 'utf8');
}
