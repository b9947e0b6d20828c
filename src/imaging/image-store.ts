import type { ImageStoreSettings } from '../config.js';
import { FsObjectStore, type ObjectStore } from './object-store.js';
import { S3ObjectStore } from './s3-object-store.js';

/** The object store the `imaging.store` setting names: a folder, or an S3-compatible bucket. */
export function openImageStore(settings: ImageStoreSettings): ObjectStore {
  if (settings.kind === 'fs') return new FsObjectStore(settings.dir);
  const { kind: _kind, ...s3 } = settings;
  return new S3ObjectStore(s3);
}
