/** Checks answers against the repository's OpenAPI description. */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { OPENAPI_DOCUMENT_URL } from '../../local/openapi-document';

type Json = Record<string, unknown>;

/** The repository's OpenAPI document (openapi/openapi.json). */
export const openApiDocument = JSON.parse(readFileSync(OPENAPI_DOCUMENT_URL, 'utf8')) as Json & {
  paths: Record<string, Record<string, Json>>;
};

const DOCUMENT_ID = 'https://fota-history.local/openapi.json';
// OpenAPI 3.1 schemas are JSON Schema 2020-12; formats are documentation here, not checked.
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema({ ...openApiDocument, $id: DOCUMENT_ID });

function resolve(node: Json): Json {
  const ref = node.$ref;
  if (typeof ref !== 'string') return node;
  const target = ref
    .replace(/^#\//, '')
    .split('/')
    .reduce<unknown>((at, part) => (at as Json)[part], openApiDocument);
  return resolve(target as Json);
}

/**
 * Checks a response (status and JSON body) against what the document declares for the operation;
 * returns the validation errors, or [] when it conforms. An undeclared status is an error too.
 */
export function responseErrors(path: string, method: string, statusCode: number, body: unknown): string[] {
  const operation = openApiDocument.paths[path]?.[method.toLowerCase()];
  if (!operation) return [`${method} ${path} is not in the OpenAPI document`];
  const responses = operation.responses as Record<string, Json>;
  const declared = responses[String(statusCode)];
  if (!declared) return [`${method} ${path} does not declare status ${statusCode}`];
  const response = resolve(declared);
  const schema = ((response.content as Record<string, Json> | undefined)?.['application/json'] as Json | undefined)
    ?.schema as Json | undefined;
  if (!schema) return [];
  const at =
    typeof declared.$ref === 'string'
      ? String(declared.$ref)
      : `#/paths/${pointer(path)}/${method.toLowerCase()}/responses/${statusCode}`;
  const validate = ajv.compile({ $ref: `${DOCUMENT_ID}${at}/content/application~1json/schema` });
  return validate(body) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`);
}

function pointer(path: string): string {
  return path.replaceAll('~', '~0').replaceAll('/', '~1');
}
