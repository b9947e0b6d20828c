import { App, AppOptions, Index, Point2D, ToolConfig, ViewConfig, type ViewController, WindowLevel } from 'dwv';
import { type KeyboardEvent, useCallback, useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { FhirRequestError } from '../../fhir/client.js';
import { useFhir } from '../../fhir/use-fhir.js';
import { formatNumber } from '../../i18n/locale.js';
import { ErrorMessage, Loading } from '../../ui/states.js';
import {
  EXPLICIT_VR_LITTLE_ENDIAN,
  type DicomJson,
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
  transferSyntaxOf,
  viewableSyntax,
  viewerKey,
  wheelFrames,
} from './logic.js';

/** The mouse tools offered: dwv's own (https://ivmartel.github.io/dwv/), window/level first as radiologists expect. */
const TOOLS = ['WindowLevel', 'ZoomAndPan', 'Scroll'] as const;
type Tool = (typeof TOOLS)[number];

/** Parallel instance retrieves: a browser's connections to one origin, less one for the rest of the app. */
const PARALLEL_RETRIEVES = 5;

type Stage = { kind: 'listing' } | { kind: 'loading'; percent: number } | { kind: 'ready' } | { kind: 'failed'; error: unknown } | { kind: 'unsupported' };

interface View {
  /** 0-based frame along the scroll dimension, and how many there are. */
  frame: number;
  frames: number;
  window?: { center: number; width: number };
  preset?: string;
  presets: string[];
}

/**
 * One series in dwv: the instance list by QIDO-RS, each instance by WADO-RS with the session's
 * token through the app's client, then all handed to dwv at once as one stack. The app fetches
 * rather than dwv's URL loader: that loader sizes a stack by the number of URLs it is given and
 * by the parts of each multipart answer, so one URL per instance overflows it. Compressed
 * syntaxes are decoded by dwv's workers. Frames scroll by wheel, keys and a slider; the mouse
 * sets window/level, zoom/pan or the frame, as chosen; presets, zoom and reset are buttons.
 */
export default function Viewer({ study, series, label }: { study: string; series: string; label: string }) {
  const { t } = useTranslation('imaging');
  const { client, locale } = useFhir();
  // The client changes with the language; the images need not be fetched again for that.
  const clientRef = useRef(client);
  clientRef.current = client;
  const divId = `dwv-${useId().replace(/[^A-Za-z0-9]/g, '')}`;
  const appRef = useRef<App>(undefined);
  /** The window the series opened with (the file's own, else dwv's choice), which reset returns to. */
  const openingWindow = useRef<WindowLevel>(undefined);
  const [stage, setStage] = useState<Stage>({ kind: 'listing' });
  const [view, setView] = useState<View>({ frame: 0, frames: 0, presets: [] });
  const [tool, setTool] = useState<Tool>('WindowLevel');

  const controller = useCallback((): ViewController | undefined => appRef.current?.getActiveLayerGroup()?.getActiveViewLayer()?.getViewController(), []);

  /** The dimension scrolled: slices of a stack (the view's third) or the frames of a multi-frame instance, which dwv puts on the fourth. */
  const scrollDimension = useCallback((vc: ViewController) => {
    const slices = vc.getScrollDimIndex();
    return vc.moreThanOne(slices) ? slices : vc.moreThanOne(3) ? 3 : undefined;
  }, []);

  const refresh = useCallback(() => {
    const vc = controller();
    if (!vc) return;
    const dim = scrollDimension(vc);
    const wl = vc.canWindowLevel() ? vc.getWindowLevel() : undefined;
    setView({
      frame: dim === undefined ? 0 : (vc.getCurrentIndex().get(dim) ?? 0),
      frames: dim === undefined ? 1 : vc.getImageSize().get(dim),
      ...(wl ? { window: { center: wl.center, width: wl.width } } : {}),
      ...(vc.canWindowLevel() ? { preset: vc.getCurrentWindowPresetName(), presets: vc.getWindowLevelPresetsNames() } : { presets: [] }),
    });
  }, [controller, scrollDimension]);

  const goToFrame = useCallback(
    (frame: number) => {
      const vc = controller();
      if (!vc) return;
      const dim = scrollDimension(vc);
      if (dim === undefined) return;
      const values = vc.getCurrentIndex().getValues();
      values[dim] = clampIndex(frame, 0, vc.getImageSize().get(dim));
      vc.setCurrentIndex(new Index(values));
    },
    [controller, scrollDimension],
  );

  /** Moves `step` frames from the one shown. */
  const moveFrames = useCallback(
    (step: number) => {
      const vc = controller();
      const dim = vc && scrollDimension(vc);
      if (!vc || dim === undefined) return;
      goToFrame(clampIndex(vc.getCurrentIndex().get(dim) ?? 0, step, vc.getImageSize().get(dim)));
    },
    [controller, scrollDimension, goToFrame],
  );

  // The wheel scrolls frames with every tool but pan/zoom (where it zooms, as dwv does): dwv's own
  // wheel scrolling knows slices but not the frames of a multi-frame instance.
  const toolRef = useRef<Tool>('WindowLevel');
  useEffect(() => {
    const element = document.getElementById(divId);
    if (!element) return;
    let pending = 0;
    const wheel = (event: WheelEvent) => {
      if (toolRef.current === 'ZoomAndPan') return;
      event.preventDefault();
      event.stopPropagation();
      const move = wheelFrames(pending, event.deltaY);
      pending = move.pending;
      if (move.frames !== 0) moveFrames(move.frames);
    };
    element.addEventListener('wheel', wheel, { capture: true, passive: false });
    return () => element.removeEventListener('wheel', wheel, { capture: true });
  }, [divId, moveFrames]);

  useEffect(() => {
    let current = true;
    const app = new App();
    const options = new AppOptions({ '*': [new ViewConfig(divId)] });
    options.tools = Object.fromEntries(TOOLS.map((name) => [name, new ToolConfig()]));
    app.init(options);
    // dwv listens for keys on the whole window; the viewer takes its keys only when it has focus.
    app.getToolboxController().enableShortcuts(false);
    appRef.current = app;

    const base = dicomWebBase(location.origin);
    let loaded = 0;
    let total = 0;
    /** One instance by WADO-RS, in the syntax asked for (by default as stored), with the syntax it came in. */
    const retrieve = async (sop: string, syntax?: string) => {
      const answer = await clientRef.current.request<Blob>(dicomWeb.instance(base, study, series, sop), { accept: instanceAccept(syntax) });
      const file = multipartParts(new Uint8Array(await answer.arrayBuffer()))[0];
      if (!file) throw new Error('no DICOM part in the WADO-RS answer');
      loaded += 1;
      if (current) setStage({ kind: 'loading', percent: Math.min(99, Math.round((100 * loaded) / total)) });
      return { sop, file, syntax: transferSyntaxOf(file) };
    };
    /** As stored; transcoded by the server when dwv has no decoder for the stored syntax (JPEG-LS). */
    const viewable = async (sop: string) => {
      const stored = await retrieve(sop);
      return stored.syntax && !viewableSyntax(stored.syntax) ? retrieve(sop, EXPLICIT_VR_LITTLE_ENDIAN) : stored;
    };
    /** The series' instances; dwv stacks slices of one syntax only, so a series stored in several comes again uncompressed. */
    const retrieveSeries = async (sops: string[]) => {
      const first = await mapLimited(sops, PARALLEL_RETRIEVES, viewable);
      if (new Set(first.map((r) => r.syntax)).size <= 1) return first;
      return mapLimited(first, PARALLEL_RETRIEVES, (r) => (r.syntax === EXPLICIT_VR_LITTLE_ENDIAN ? Promise.resolve(r) : retrieve(r.sop, EXPLICIT_VR_LITTLE_ENDIAN)));
    };

    app.addEventListener('load', () => {
      if (!current) return;
      app.setTool('WindowLevel');
      const vc = controller();
      const dim = vc && scrollDimension(vc);
      if (vc && dim !== undefined) goToFrame(middleIndex(vc.getImageSize().get(dim)));
      openingWindow.current = vc?.canWindowLevel() ? vc.getWindowLevel() : undefined;
      setStage({ kind: 'ready' });
      refresh();
    });
    app.addEventListener('error', (event: { error?: unknown }) => current && setStage(isUnsupportedSyntax(event.error) ? { kind: 'unsupported' } : { kind: 'failed', error: event.error }));
    for (const type of ['positionchange', 'wlchange', 'zoomchange']) app.addEventListener(type, () => current && refresh());

    // The instance list by QIDO-RS, then the instances in parallel: dwv takes them together, as one stack.
    clientRef.current
      .request<DicomJson[] | undefined>(dicomWeb.instances(base, study, series), { accept: 'application/dicom+json' })
      .then((datasets) => {
        const instances = seriesInstances(datasets ?? []);
        if (instances.length === 0) throw new FhirRequestError(404);
        total = instances.length;
        if (current) setStage({ kind: 'loading', percent: 0 });
        return retrieveSeries(instances.map((i) => i.sopInstanceUid));
      })
      .then(
        (retrieved) => current && app.loadImageObject(retrieved.map(({ sop, file }) => ({ name: `${sop}.dcm`, filename: `${sop}.dcm`, 'Content-Type': 'application/dicom', data: file.slice().buffer }))),
        (error: unknown) => current && setStage({ kind: 'failed', error }),
      );
    const resize = () => app.onResize();
    window.addEventListener('resize', resize);
    return () => {
      current = false;
      window.removeEventListener('resize', resize);
      app.abortAllLoads();
      app.reset();
      appRef.current = undefined;
    };
  }, [study, series, divId, controller, scrollDimension, goToFrame, refresh]);

  const chooseTool = (name: Tool) => {
    setTool(name);
    toolRef.current = name;
    appRef.current?.setTool(name);
  };

  const zoom = (step: number) => {
    const group = appRef.current?.getActiveLayerGroup();
    const layer = group?.getActiveViewLayer();
    const element = document.getElementById(divId);
    if (!group || !layer || !element) return;
    // Around the middle of what is shown, as the wheel zooms around the pointer.
    const middle = layer.displayToMainPlanePos(new Point2D(element.clientWidth / 2, element.clientHeight / 2));
    group.addScale(step, layer.getViewController().getPlanePositionFromPlanePoint(middle));
    group.draw();
  };

  const reset = () => {
    const group = appRef.current?.getActiveLayerGroup();
    group?.resetZoomPan();
    if (openingWindow.current) controller()?.setWindowLevel(new WindowLevel(openingWindow.current.center, openingWindow.current.width));
    group?.draw();
    refresh();
  };

  const choosePreset = (name: string) => {
    controller()?.setWindowLevelPreset(name);
    refresh();
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
  // dwv names the windows stored in the file Default0, Default1…; its own presets by their anatomy.
  const presetLabel = (name: string) => {
    const stored = /^Default(\d+)$/.exec(name);
    if (stored) return `${t('presets.stored')}${stored[1] === '0' ? '' : ` ${Number(stored[1]) + 1}`}`;
    return t(`presets.${name}`, { defaultValue: name });
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
                {view.preset && !view.presets.includes(view.preset) && <option value={view.preset}>{presetLabel(view.preset)}</option>}
                {view.presets.map((name) => (
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
        className="imaging-stage"
        role="application"
        aria-label={ready ? `${label}. ${frameText}` : label}
        aria-describedby={keysId}
        tabIndex={0}
        onKeyDown={onKeyDown}
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
