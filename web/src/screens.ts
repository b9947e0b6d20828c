import { type ComponentType, type LazyExoticComponent, lazy } from 'react';

export interface Screen {
  /** The path segment and the `common:nav.*` key. */
  name: string;
  component: LazyExoticComponent<ComponentType>;
}

/**
 * The citizen's screens, each its own file and chunk (loaded when opened, so a screen's
 * libraries stay out of the initial bundle). Staff get the staff page; the clinician's
 * workspace will be another list beside this one.
 */
export const CITIZEN_SCREENS: Screen[] = [
  { name: 'home', component: lazy(() => import('./screens/home.js')) },
  { name: 'timeline', component: lazy(() => import('./screens/timeline.js')) },
  { name: 'results', component: lazy(() => import('./screens/results.js')) },
  { name: 'imaging', component: lazy(() => import('./screens/imaging.js')) },
  { name: 'medications', component: lazy(() => import('./screens/medications.js')) },
  { name: 'immunizations', component: lazy(() => import('./screens/immunizations.js')) },
  { name: 'access-log', component: lazy(() => import('./screens/access-log.js')) },
  { name: 'privacy', component: lazy(() => import('./screens/privacy.js')) },
  { name: 'share', component: lazy(() => import('./screens/share.js')) },
  { name: 'family', component: lazy(() => import('./screens/family.js')) },
  { name: 'polyclinic', component: lazy(() => import('./screens/polyclinic.js')) },
];

export const STAFF_SCREENS: Screen[] = [
  { name: 'staff', component: lazy(() => import('./screens/staff.js')) },
  { name: 'imaging', component: lazy(() => import('./screens/imaging.js')) },
];

/** `/` is the first screen; `/NAME/...` the screen NAME (its own sub-paths are its own). */
export function screenFor(screens: Screen[], segments: string[]): Screen | undefined {
  const [first] = segments;
  return first === undefined ? screens[0] : screens.find((s) => s.name === first);
}
