/** The lab's calls to its server (src/server/lab_api.ts): same origin, the token travels in the cookie. */
import type {
  CellRequest,
  CellResponse,
  ErrorResponse,
  ImageScoresResponse,
  LabLabelMap,
  LabSpec,
  SaveRunResponse,
  ScoreResponse,
  SessionResponse,
} from '../../server/lab_api.js';

/** A refused or failed request, with the server's sentence (it names the entry and the fix). */
export class LabApiError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

async function send(path: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(path, { credentials: 'same-origin', ...init });
  if (response.ok) return response;
  let message = `${response.status} ${response.statusText}`;
  try {
    message = ((await response.json()) as ErrorResponse).error;
  } catch {
    // Not the API's JSON error (a proxy, a crash): the status line says it.
  }
  throw new LabApiError(message, response.status);
}

const post = (path: string, body: unknown, signal?: AbortSignal) =>
  send(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal });

export async function fetchSession(): Promise<SessionResponse> {
  return (await send('/api/session')).json() as Promise<SessionResponse>;
}

/** The request body of a spec and its label map (sent only when it maps something). */
const specBody = (spec: LabSpec, labelMap: LabLabelMap) => (Object.keys(labelMap).length ? { spec, label_map: labelMap } : { spec });

export async function scoreSpec(spec: LabSpec, labelMap: LabLabelMap, signal?: AbortSignal): Promise<ScoreResponse> {
  return (await post('/api/score', specBody(spec, labelMap), signal)).json() as Promise<ScoreResponse>;
}

export async function cellImages(request: CellRequest): Promise<CellResponse> {
  return (await post('/api/cell', request)).json() as Promise<CellResponse>;
}

export async function imageScores(index: number, specHash: string): Promise<ImageScoresResponse> {
  return (await send(`/api/images/${index}/scores?spec=${encodeURIComponent(specHash)}`)).json() as Promise<ImageScoresResponse>;
}

export function thumbnailUrl(index: number): string {
  return `/api/images/${index}/thumbnail`;
}

/** The spec file's text, as `zeroshot run --spec` reads it, and the file name the server suggests. */
export async function specYaml(spec: LabSpec): Promise<{ text: string; fileName: string }> {
  const response = await post('/api/spec.yaml', { spec });
  const disposition = response.headers.get('Content-Disposition') ?? '';
  const fileName = /filename="([^"]+)"/.exec(disposition)?.[1] ?? 'spec.yaml';
  return { text: await response.text(), fileName };
}

export async function saveRun(spec: LabSpec, labelMap: LabLabelMap): Promise<SaveRunResponse> {
  return (await post('/api/save-run', specBody(spec, labelMap))).json() as Promise<SaveRunResponse>;
}
