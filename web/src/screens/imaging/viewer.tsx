import { Enums, RenderingEngine, type Types, eventTarget, init as initCore, utilities } from '@cornerstonejs/core';
import { init as initLoader, wadouri } from '@cornerstonejs/dicom-image-loader';
import { Enums as ToolEnums, PanTool, StackScrollTool, ToolGroupManager, WindowLevelTool, ZoomTool, addTool, init as initTools } from '@cornerstonejs/tools';
import { type KeyboardEvent, useCallback, useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { FhirRequestError } from '../../fhir/client.js';
import { useFhir } from '../../fhir/use-fhir.js';
import { formatNumber } from '../../i18n/locale.js';
import { ErrorMessage, Loading } from '../../ui/states.js';
import {
  type DicomJson,
  type WindowPreset,
  ZOOM_STEP,
  clampIndex,
  dicomWeb,
  dicomWebBase,
  instanceAccept,
  isUnsupportedSyntax,
  mapLimited,
  middleIndex,
  multipartParts,
  seriesInstances,
  viewerKey,
  wheelFrames,
  windowPresets,
} from './logic.js';

/** The mouse tools offered, window/level first as radiologists expect. */
const TOOLS = ['WindowLevel', 'ZoomAndPan', 'Scroll'] as const;
type Tool = (typeof TOOLS)[number];

/** Parallel instance retrieves: a browser's connections to one origin, less one for the rest of the app. */
const PARALLEL_RETRIEVES = 5;

/** The least zoom the buttons and keys go down to (1 fits the image in the stage). */
const MIN_ZOOM = 0.25;

type Stage = { kind: 'listing' } | { kind: 'loading'; percent: number } | { kind: 'ready' } | { kind: 'failed'; error: unknown } | { kind: 'unsupported' };

interface WindowSetting {
  center: number;
  width: number;
}

const sameWindow = (a: WindowSetting, b: WindowSetting) => Math.round(a.center) === Math.round(b.center) && Math.round(a.width) === Math.round(b.width);

interface View {
  /** 0-based frame of the stack, and how many there are. */
  frame: number;
  frames: number;
  window?: WindowSetting;
  preset?: string;
  presets: WindowPreset[];
}

/** Cornerstone3D, its tools and its DICOM loader (decoders in web workers, codecs in WASM) start once per page. */
let started: Promise<void> | undefined;
function startCornerstone(): Promise<void> {
  started ??= (async () => {
    initCore();
    initLoader({ maxWebWorkers: Math.max(1, Math.min(2, navigator.hardwareConcurrency - 1)) });
    initTools();
    for (const tool of [WindowLevelTool, PanTool, ZoomTool, StackScrollTool]) addTool(tool);
  })();
  return started;
}

const toolNames: Record<Tool, string> = { WindowLevel: WindowLevelTool.toolName, ZoomAndPan: PanTool.toolName, Scroll: StackScrollTool.toolName };

function windowOf(viewport: Types.IStackViewport): WindowSetting | undefined {
  const range = viewport.getProperties().voiRange;
  if (!range) return undefined;
  const { windowCenter, windowWidth } = utilities.windowLevel.toWindowLevel(range.lower, range.upper);
  return { center: windowCenter, width: windowWidth };
}

/** The windows stored in the image (Window Center/Width, PS3.3 C.11.2) and its full range in modality units. */
function imageWindows(viewport: Types.IStackViewport): { stored: WindowSetting[]; range?: { min: number; max: number } } {
  const image = viewport.getCornerstoneImage();
  if (!image) return { stored: [] };
  const centers = [image.windowCenter ?? []].flat();
  const widths = [image.windowWidth ?? []].flat();
  const stored = centers.flatMap((center, i) => (widths[i] ? [{ center, width: widths[i] }] : []));
  // Pixel values are in modality units once the loader has applied the rescale; else apply it here.
  const scale = (v: number) => (image.preScale?.scaled ? v : v * (image.slope ?? 1) + (image.intercept ?? 0));
  return { stored, range: { min: scale(image.minPixelValue), max: scale(image.maxPixelValue) } };
}

/**
 * One series in Cornerstone3D (https://www.cornerstonejs.org/): the instance list by QIDO-RS, each
 * instance by WADO-RS as stored (compressed images travel compressed) with the session's token
 * through the app's client, handed to the DICOM image loader as files (`dicomfile:` image ids),
 * which decodes every transfer syntax it knows (JPEG baseline and lossless, JPEG-LS, JPEG 2000,
 * HTJ2K, RLE) in its workers. Every frame of every instance is one image of a stack viewport.
 * Frames scroll by wheel, keys and a slider; the mouse sets window/level, pan (and zoom with the
 * other button) or the frame, as chosen; presets, zoom and reset are buttons.
 */
export default function Viewer({ study, series, label }: { study: string; series: string; label: string }) {
  const { t } = useTranslation('imaging');
  const { client, locale } = useFhir();
  // The client changes with the language; the images need not be fetched again for that.
  const clientRef = useRef(client);
  clientRef.current = client;
  const divId = `cs-${useId().replace(/[^A-Za-z0-9]/g, '')}`;
  const elementRef = useRef<HTMLDivElement>(null);
  const viewportRef = useRef<Types.IStackViewport>(undefined);
  /** The window the series opened with (the file's own, else the loader's choice), which reset returns to. */
  const openingWindow = useRef<WindowSetting>(undefined);
  const presetsRef = useRef<WindowPreset[]>([]);
  const [stage, setStage] = useState<Stage>({ kind: 'listing' });
  const [view, setView] = useState<View>({ frame: 0, frames: 0, presets: [] });
  const [tool, setTool] = useState<Tool>('WindowLevel');
  const toolRef = useRef<Tool>('WindowLevel');

  /** Shows the viewport's state; `preset` names the window just chosen, which stays chosen until the window moves away from it. */
  const refresh = useCallback((preset?: string) => {
    const viewport = viewportRef.current;
    if (!viewport) return;
    const shown = windowOf(viewport);
    setView((previous) => {
      const chosen = preset ?? previous.preset;
      const kept = chosen && shown && presetsRef.current.some((p) => p.name === chosen && sameWindow(p, shown));
      return { frame: viewport.getCurrentImageIdIndex(), frames: viewport.getImageIds().length, ...(shown ? { window: shown } : {}), ...(kept ? { preset: chosen } : {}), presets: presetsRef.current };
    });
  }, []);

  const goToFrame = useCallback((frame: number) => {
    const viewport = viewportRef.current;
    if (!viewport) return;
    void viewport.setImageIdIndex(clampIndex(frame, 0, viewport.getImageIds().length));
  }, []);

  /** Moves `step` frames from the one shown. */
  const moveFrames = useCallback(
    (step: number) => {
      const viewport = viewportRef.current;
      if (viewport) goToFrame(clampIndex(viewport.getCurrentImageIdIndex(), step, viewport.getImageIds().length));
    },
    [goToFrame],
  );

  const zoom = useCallback((step: number) => {
    const viewport = viewportRef.current;
    if (!viewport) return;
    viewport.setZoom(Math.max(MIN_ZOOM, viewport.getZoom() + step));
    viewport.render();
  }, []);

  // The wheel scrolls frames with every tool but pan/zoom, where it zooms; a touchpad's small strokes add up.
  useEffect(() => {
    const element = elementRef.current;
    if (!element) return;
    let pending = 0;
    const wheel = (event: WheelEvent) => {
      event.preventDefault();
      event.stopPropagation();
      const move = wheelFrames(pending, event.deltaY);
      pending = move.pending;
      if (move.frames === 0) return;
      if (toolRef.current === 'ZoomAndPan') zoom(-move.frames * ZOOM_STEP);
      else moveFrames(move.frames);
    };
    element.addEventListener('wheel', wheel, { capture: true, passive: false });
    return () => element.removeEventListener('wheel', wheel, { capture: true });
  }, [moveFrames, zoom]);

  useEffect(() => {
    const element = elementRef.current;
    if (!element) return;
    let current = true;
    let engine: RenderingEngine | undefined;
    const toolGroupId = `${divId}-tools`;
    /** The loader's files of this series (`dicomfile:N`), released when the viewer closes. */
    const files = new Set<string>();
    const release = () => {
      for (const imageId of files) {
        const { url } = wadouri.parseImageId(imageId);
        wadouri.dataSetCacheManager.unload(url);
        wadouri.fileManager.remove(Number(url));
      }
      files.clear();
    };
    /** The loader rejects with `{ error, dataSet }`; a decoder's refusal of a syntax shows as such. */
    const fail = (error: unknown) => {
      if (!current) return;
      const cause = (error as { error?: unknown } | undefined)?.error ?? error;
      setStage(isUnsupportedSyntax(cause) ? { kind: 'unsupported' } : { kind: 'failed', error: cause });
    };
    const base = dicomWebBase(location.origin);
    let loaded = 0;
    let total = 0;
    /** One instance by WADO-RS as stored, given to the loader as a file; its image ids, one per frame. */
    const retrieve = async (sop: string) => {
      const answer = await clientRef.current.request<Blob>(dicomWeb.instance(base, study, series, sop), { accept: instanceAccept() });
      const file = multipartParts(new Uint8Array(await answer.arrayBuffer()))[0];
      if (!file) throw new Error('no DICOM part in the WADO-RS answer');
      const imageId = wadouri.fileManager.add(new Blob([file.slice()], { type: 'application/dicom' }));
      files.add(imageId);
      const dataSet = await wadouri.dataSetCacheManager.load(wadouri.parseImageId(imageId).url, wadouri.loadFileRequest, imageId);
      const frames = dataSet.intString('x00280008') ?? 1;
      loaded += 1;
      if (current) setStage({ kind: 'loading', percent: Math.min(99, Math.round((100 * loaded) / total)) });
      return { modality: dataSet.string('x00080060') ?? '', imageIds: frames > 1 ? Array.from({ length: frames }, (_, i) => `${imageId}?frame=${i + 1}`) : [imageId] };
    };

    // The frame and window shown change once drawn, so what the status says is what the canvas shows.
    const rendered = () => current && refresh();
    element.addEventListener(Enums.Events.IMAGE_RENDERED, rendered);
    // A frame that cannot be decoded is reported by event, not by the stack's promise.
    const loadError = (event: Event) => {
      const { imageId, error } = (event as CustomEvent<{ imageId: string; error: unknown }>).detail;
      if (files.has(imageId.split('?')[0]!)) fail(error);
    };
    eventTarget.addEventListener(Enums.Events.IMAGE_LOAD_ERROR, loadError);

    (async () => {
      await startCornerstone();
      const datasets = await clientRef.current.request<DicomJson[] | undefined>(dicomWeb.instances(base, study, series), { accept: 'application/dicom+json' });
      const instances = seriesInstances(datasets ?? []);
      if (instances.length === 0) throw new FhirRequestError(404);
      total = instances.length;
      if (current) setStage({ kind: 'loading', percent: 0 });
      const retrieved = await mapLimited(instances, PARALLEL_RETRIEVES, (i) => retrieve(i.sopInstanceUid));
      const imageIds = retrieved.flatMap((r) => r.imageIds);
      if (!current) return release();
      engine = new RenderingEngine(`${divId}-engine`);
      engine.enableElement({ viewportId: divId, type: Enums.ViewportType.STACK, element, defaultOptions: { background: [0, 0, 0] } });
      const viewport = engine.getViewport(divId) as Types.IStackViewport;
      const group = ToolGroupManager.createToolGroup(toolGroupId);
      if (group) {
        for (const name of [WindowLevelTool.toolName, PanTool.toolName, ZoomTool.toolName, StackScrollTool.toolName]) group.addTool(name);
        group.addViewport(divId, engine.id);
        group.setToolActive(WindowLevelTool.toolName, { bindings: [{ mouseButton: ToolEnums.MouseBindings.Primary }] });
      }
      await viewport.setStack(imageIds, middleIndex(imageIds.length));
      if (!current) return;
      viewport.render();
      viewportRef.current = viewport;
      openingWindow.current = windowOf(viewport);
      const { stored, range } = imageWindows(viewport);
      presetsRef.current = windowPresets(retrieved[0]?.modality ?? '', stored, range);
      setStage({ kind: 'ready' });
      // The file's own window, when it opened with it, shows as chosen.
      refresh(presetsRef.current[0]?.name);
    })().catch(fail);

    const resize = () => engine?.resize(true, false);
    window.addEventListener('resize', resize);
    return () => {
      current = false;
      window.removeEventListener('resize', resize);
      element.removeEventListener(Enums.Events.IMAGE_RENDERED, rendered);
      eventTarget.removeEventListener(Enums.Events.IMAGE_LOAD_ERROR, loadError);
      ToolGroupManager.destroyToolGroup(toolGroupId);
      engine?.destroy();
      viewportRef.current = undefined;
      release();
    };
  }, [study, series, divId, refresh]);

  const chooseTool = (name: Tool) => {
    setTool(name);
    toolRef.current = name;
    const group = ToolGroupManager.getToolGroup(`${divId}-tools`);
    if (!group) return;
    for (const other of Object.values(toolNames).concat(ZoomTool.toolName)) group.setToolPassive(other);
    group.setToolActive(toolNames[name], { bindings: [{ mouseButton: ToolEnums.MouseBindings.Primary }] });
    if (name === 'ZoomAndPan') group.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: ToolEnums.MouseBindings.Secondary }] });
  };

  const setWindow = (window: WindowSetting) => {
    const viewport = viewportRef.current;
    if (!viewport) return;
    const { lower, upper } = utilities.windowLevel.toLowHighRange(window.width, window.center);
    viewport.setProperties({ voiRange: { lower, upper } });
    viewport.render();
  };

  const reset = () => {
    const viewport = viewportRef.current;
    if (!viewport) return;
    viewport.resetCamera();
    if (openingWindow.current) setWindow(openingWindow.current);
    viewport.render();
    refresh();
  };

  const choosePreset = (name: string) => {
    const preset = presetsRef.current.find((p) => p.name === name);
    if (!preset) return;
    setWindow(preset);
    refresh(name);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const command = viewerKey(event.key);
    if (!command || event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    if (command.kind === 'scroll') moveFrames(command.step);
    else if (command.kind === 'first') goToFrame(0);
    else if (command.kind === 'last') goToFrame(view.frames - 1);
    else if (command.kind === 'zoom') zoom(command.step);
    else reset();
  };

  const ready = stage.kind === 'ready';
  const frameText = t('frameOf', { n: formatNumber(view.frame + 1, locale), total: formatNumber(view.frames, locale) });
  // The file's windows are "stored", numbered from the second; the others by their anatomy.
  const presetLabel = (name: string) => {
    const [kind, n] = name.split(':');
    return kind === 'stored' ? `${t('presets.stored')}${n ? ` ${n}` : ''}` : t(`presets.${kind}`, { defaultValue: kind });
  };
  const keysId = `${divId}-keys`;
  return (
    <figure className="card imaging-viewer" aria-label={label}>
      <div className="imaging-toolbar">
        <fieldset className="imaging-tools" disabled={!ready}>
          <legend>{t('tool')}</legend>
          {TOOLS.map((name) => (
            <label key={name}>
              <input type="radio" name={`${divId}-tool`} value={name} checked={tool === name} onChange={() => chooseTool(name)} />
              {t(`tools.${name}`)}
            </label>
          ))}
        </fieldset>
        <div className="imaging-actions">
          <button type="button" onClick={() => zoom(ZOOM_STEP)} disabled={!ready}>
            <span aria-hidden="true">+ </span>
            {t('zoomIn')}
          </button>
          <button type="button" onClick={() => zoom(-ZOOM_STEP)} disabled={!ready}>
            <span aria-hidden="true">− </span>
            {t('zoomOut')}
          </button>
          <button type="button" onClick={reset} disabled={!ready}>
            {t('reset')}
          </button>
          {view.presets.length > 0 && (
            <label className="imaging-preset">
              {t('preset')}{' '}
              <select value={view.preset ?? ''} onChange={(e) => choosePreset(e.target.value)} disabled={!ready}>
                {!view.preset && <option value="">{t('presets.custom')}</option>}
                {view.presets.map(({ name }) => (
                  <option key={name} value={name}>
                    {presetLabel(name)}
                  </option>
                ))}
              </select>
            </label>
          )}
        </div>
      </div>
      <div
        id={divId}
        ref={elementRef}
        className="imaging-stage"
        role="application"
        aria-label={ready ? `${label}. ${frameText}` : label}
        aria-describedby={keysId}
        tabIndex={0}
        onKeyDown={onKeyDown}
        onContextMenu={(event) => event.preventDefault()}
        data-ready={ready}
      />
      <p id={keysId} className="item-meta imaging-keys">
        {t('keys')}
      </p>
      {stage.kind === 'listing' && <Loading />}
      {stage.kind === 'loading' && <Loading label={t('loadingImages', { percent: stage.percent })} />}
      {stage.kind === 'failed' &&
        (stage.error instanceof FhirRequestError ? (
          <ErrorMessage error={stage.error} />
        ) : (
          <p className="state state-error" role="alert">
            {t('loadFailed')}
          </p>
        ))}
      {stage.kind === 'unsupported' && (
        <p className="state state-error" role="alert">
          {t('unsupported')}
        </p>
      )}
      {ready && (
        <figcaption className="imaging-status">
          {view.frames > 1 && (
            <label className="imaging-frame">
              <span>{t('frame')}</span>
              <input type="range" min={1} max={view.frames} value={view.frame + 1} aria-valuetext={frameText} onChange={(e) => goToFrame(Number(e.target.value) - 1)} />
            </label>
          )}
          <span className="imaging-frame-text" aria-live="polite">
            {frameText}
          </span>
          {view.window && (
            <span className="item-meta" data-testid="imaging-window">
              {t('window', { center: formatNumber(Math.round(view.window.center), locale), width: formatNumber(Math.round(view.window.width), locale) })}
            </span>
          )}
        </figcaption>
      )}
    </figure>
  );
}
