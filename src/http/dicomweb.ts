import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, preValidationHookHandler } from 'fastify';
import { accessPolicy } from '../access/door.js';
import { pickLocale } from '../access/i18n.js';
import { badRequest, isFhirError, notAcceptable, unauthorized, unsupportedMediaType } from '../fhir/outcome.js';
import { multipartBoundary, multipartParts } from '../imaging/multipart.js';
import type { ObjectStore } from '../imaging/object-store.js';
import { searchDicom } from '../imaging/qido.js';
import { IMAGING_ERRORS, ImagingError } from '../imaging/pixels/index.js';
import { retrieveRendered, retrieveThumbnail } from '../imaging/rendered.js';
import { type ImagingContext, storeInstances } from '../imaging/stow.js';
import { type Target, type WadoAnswer, isWrittenBody, retrieveBulkData, retrieveFrames, retrieveInstances, retrieveMetadata } from '../imaging/wado.js';
import type { Database } from '../store/driver.js';
import type { DicomLevel } from '../store/dicom-index.js';
import { Repository } from '../store/repository.js';

/** The DICOMweb base path on the platform's port (PS3.18 8.2: the service's base URL). */
export const DICOMWEB_PATH = '/dicom-web';

export interface DicomWebOptions {
  db: Database;
  store: ObjectStore;
  /** The same bearer-token check as /fhir (src/http/app.ts). */
  authenticate: preValidationHookHandler;
  /** The public FHIR base URL, when requests do not show the public origin (behind a proxy). */
  publicBaseUrl?: string;
}

type Params = { study?: string; series?: string; instance?: string; frames?: string; '*'?: string };

/**
 * DICOMweb (PS3.18) as a Fastify plugin: STOW-RS, QIDO-RS and WADO-RS under /dicom-web, with its
 * own content-type parser that leaves STOW bodies unread so they stream part by part, and
 * answers in DICOMweb's forms (DICOM JSON, or a short text for an error). Everything goes
 * through the Repository bound to the caller's access context, as /fhir does.
 */
export function dicomWeb(options: DicomWebOptions) {
  return async (app: FastifyInstance) => {
    await app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      // The body stays in request.raw: STOW reads it part by part.
      scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
      scope.setErrorHandler<FastifyError>((error, request, reply) => {
        if (error instanceof ImagingError) return reply.status(error.status).header('content-type', 'text/plain; charset=utf-8').send(imagingErrorText(error, request.headers['accept-language']));
        if (isFhirError(error)) return reply.status(error.status).header('content-type', 'text/plain; charset=utf-8').send(error.message);
        if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) return reply.status(error.statusCode).header('content-type', 'text/plain; charset=utf-8').send(error.message);
        request.log.error({ err: { name: error.name, code: error.code, frames: error.stack?.split('\n').slice(1, 8).join('\n') } }, 'unexpected error');
        return reply.status(500).header('content-type', 'text/plain; charset=utf-8').send('Internal server error');
      });
      scope.addHook('preValidation', options.authenticate);

      const context = (request: FastifyRequest): ImagingContext => {
        if (!request.accessContext) throw unauthorized(`Send an access token: Authorization: Bearer <token>`);
        const origin = options.publicBaseUrl ? new URL(options.publicBaseUrl).origin : `${request.protocol}://${request.host}`;
        return { repo: new Repository(options.db, accessPolicy(request.accessContext)), store: options.store, base: `${origin}${DICOMWEB_PATH}` };
      };
      const query = (request: FastifyRequest): [string, string][] => {
        const mark = request.url.indexOf('?');
        return mark < 0 ? [] : [...new URLSearchParams(request.url.slice(mark + 1))];
      };
      const send = async (reply: FastifyReply, answer: WadoAnswer) => {
        if (!isWrittenBody(answer.body)) return reply.status(answer.status).headers(answer.headers ?? {}).header('content-type', answer.contentType).send(answer.body);
        // Written to the socket here, not handed to Fastify as a stream: see WrittenBody.
        reply.hijack();
        const raw = reply.raw;
        const setHeaders = (headers: Record<string, string | number | string[] | undefined>) => {
          for (const [name, value] of Object.entries(headers)) if (value !== undefined) raw.setHeader(name, value);
        };
        setHeaders(reply.getHeaders());
        let started = false;
        try {
          await answer.body.write(raw, () => {
            started = true;
            setHeaders({ ...answer.headers, 'content-type': answer.contentType });
            raw.writeHead(answer.status);
          });
          raw.end();
        } catch (error) {
          if (!started && !raw.destroyed) {
            // Nothing has gone out (the audit record could not be committed, say): it is answered as the error handler would.
            reply.log.error({ err: { name: (error as Error).name } }, 'answer failed before its first byte');
            raw.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Internal server error');
            return;
          }
          // The status has gone out: a body that cannot be finished is broken off, so the client sees it failed.
          if (!raw.destroyed) reply.log.warn({ err: { name: (error as Error).name } }, 'answer broken off');
          raw.destroy();
        }
      };
      const dicomJson = (reply: FastifyReply, body: unknown, warnings: string[], status = 200) => {
        if (warnings.length) reply.header('warning', warnings.join(', '));
        return reply.status(status).header('content-type', 'application/dicom+json').send(JSON.stringify(body));
      };

      const stow = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
        const type = request.headers['content-type'] ?? '';
        if (!/^multipart\/related\b/i.test(type)) throw unsupportedMediaType(`STOW-RS takes multipart/related; type="application/dicom", not ${type || 'a body without Content-Type'}`);
        const partType = /;\s*type="?([^";]+)"?/i.exec(type)?.[1]?.toLowerCase();
        if (partType && partType !== 'application/dicom') throw unsupportedMediaType(`This server stores application/dicom parts, not ${partType}`);
        const boundary = multipartBoundary(type);
        if (!boundary) throw badRequest(`The Content-Type has no boundary parameter`);
        const result = await storeInstances(multipartParts(request.raw, boundary), request.params.study, context(request));
        return dicomJson(reply, result.body, result.warnings, result.status);
      };
      scope.post(`${DICOMWEB_PATH}/studies`, stow);
      scope.post(`${DICOMWEB_PATH}/studies/:study`, stow);

      const qido = (level: DicomLevel) => async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
        acceptsDicomJson(request.headers.accept);
        const { study, series } = request.params;
        const answer = await searchDicom(level, query(request), { ...(study ? { study } : {}), ...(series ? { series } : {}) }, context(request));
        return dicomJson(reply, answer.body, answer.warnings);
      };
      scope.get(`${DICOMWEB_PATH}/studies`, qido('study'));
      scope.get(`${DICOMWEB_PATH}/series`, qido('series'));
      scope.get(`${DICOMWEB_PATH}/instances`, qido('instance'));
      scope.get(`${DICOMWEB_PATH}/studies/:study/series`, qido('series'));
      scope.get(`${DICOMWEB_PATH}/studies/:study/instances`, qido('instance'));
      scope.get(`${DICOMWEB_PATH}/studies/:study/series/:series/instances`, qido('instance'));

      const target = (params: Params): Target => ({ study: params.study!, ...(params.series ? { series: params.series } : {}), ...(params.instance ? { instance: params.instance } : {}) });
      const wado = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => send(reply, await retrieveInstances(target(request.params), request.headers.accept, context(request)));
      const metadata = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => send(reply, await retrieveMetadata(target(request.params), request.headers.accept, context(request)));
      const instancePath = `${DICOMWEB_PATH}/studies/:study/series/:series/instances/:instance`;
      scope.get(`${DICOMWEB_PATH}/studies/:study`, wado);
      scope.get(`${DICOMWEB_PATH}/studies/:study/series/:series`, wado);
      scope.get(instancePath, wado);
      scope.get(`${DICOMWEB_PATH}/studies/:study/metadata`, metadata);
      scope.get(`${DICOMWEB_PATH}/studies/:study/series/:series/metadata`, metadata);
      scope.get(`${instancePath}/metadata`, metadata);
      scope.get(`${instancePath}/frames/:frames`, async (request: FastifyRequest<{ Params: Params }>, reply) =>
        send(reply, await retrieveFrames(target(request.params) as Required<Target>, request.params.frames!, request.headers.accept, context(request))),
      );
      const rendered = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) =>
        send(reply, await retrieveRendered(target(request.params), request.params.frames, query(request), request.headers.accept, context(request)));
      const thumbnail = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) =>
        send(reply, await retrieveThumbnail(target(request.params), query(request), request.headers.accept, context(request)));
      scope.get(`${DICOMWEB_PATH}/studies/:study/rendered`, rendered);
      scope.get(`${DICOMWEB_PATH}/studies/:study/series/:series/rendered`, rendered);
      scope.get(`${instancePath}/rendered`, rendered);
      scope.get(`${instancePath}/frames/:frames/rendered`, rendered);
      scope.get(`${DICOMWEB_PATH}/studies/:study/thumbnail`, thumbnail);
      scope.get(`${DICOMWEB_PATH}/studies/:study/series/:series/thumbnail`, thumbnail);
      scope.get(`${instancePath}/thumbnail`, thumbnail);
      scope.get(`${instancePath}/bulkdata/*`, async (request: FastifyRequest<{ Params: Params }>, reply) =>
        send(reply, await retrieveBulkData(target(request.params) as Required<Target>, request.params['*'] ?? '', request.headers.accept, context(request))),
      );
    });
  };
}

/** QIDO-RS answers DICOM JSON (PS3.18 10.6.3.3): for `*\/*`, application/dicom+json or application/json. */
function acceptsDicomJson(accept: string | undefined): void {
  if (!accept) return;
  const types = accept.split(',').map((t) => t.split(';')[0]!.trim().toLowerCase());
  if (types.some((t) => ['*/*', 'application/*', 'application/dicom+json', 'application/json'].includes(t))) return;
  throw notAcceptable(`QIDO-RS answers application/dicom+json, not ${accept}`);
}

/** A pixel error in the caller's language (Accept-Language), its English detail kept after the catalogue's text. */
function imagingErrorText(error: ImagingError, acceptLanguage: string | undefined): string {
  const entry = IMAGING_ERRORS[error.code];
  return `${entry[pickLocale(undefined, acceptLanguage)]}${error.message.slice(entry.en.length)}`;
}
