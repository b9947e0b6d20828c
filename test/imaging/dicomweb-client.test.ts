import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from 'dicomweb-client';
import { testDrivers } from '../support/database.js';
import { dicomInstance, dicomUid } from '../../src/synth/dicom-instances.js';
import { type ImagingServer, startImagingServer } from './dicomweb.js';
import { XhrOverFetch } from './xhr-over-fetch.js';

/** dicomweb-client (the client OHIF and Slim use) against the server: store, search, retrieve. */
for (const driver of testDrivers()) describe(`dicomweb-client against the server (${driver.name})`, { skip: driver.skip }, () => {
  let server: ImagingServer;
  let client: InstanceType<typeof api.DICOMwebClient>;
  before(async () => {
    // Node has no XMLHttpRequest, the only transport of dicomweb-client.
    (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest = XhrOverFetch;
    server = await startImagingServer(driver);
    client = new api.DICOMwebClient({ url: server.dicomBase, headers: { Authorization: server.authorization }, singlepart: false });
  });
  after(async () => {
    delete (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest;
    await server.close();
  });

  test('stores a study, finds it by PatientID and retrieves an instance byte for byte, and its metadata', async () => {
    const study = dicomUid();
    const series = dicomUid();
    const sop = dicomUid();
    const file = dicomInstance({ studyInstanceUid: study, seriesInstanceUid: series, sopInstanceUid: sop, attributes: { PatientID: 'DWC-1', PatientName: 'Ахметова^Дана' } });
    const other = dicomInstance({ studyInstanceUid: study, seriesInstanceUid: series, attributes: { PatientID: 'DWC-1' } });
    const arrayBuffer = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
    await client.storeInstances({ datasets: [arrayBuffer(file), arrayBuffer(other)] });
    const studies = (await client.searchForStudies({ queryParams: { PatientName: 'ахметова*' } })) as any[];
    assert.equal(studies.length, 1);
    assert.equal(studies[0]['0020000D'].Value[0], study);
    assert.equal(studies[0]['00201208'].Value[0], 2);
    const instances = (await client.searchForInstances({ studyInstanceUID: study })) as any[];
    assert.equal(instances.length, 2);
    // The package's declarations make optional options required (mediaTypes, request).
    type Options<F extends (...args: never[]) => unknown> = Parameters<F>[0];
    const retrieved = (await client.retrieveInstance({ studyInstanceUID: study, seriesInstanceUID: series, sopInstanceUID: sop } as Options<typeof client.retrieveInstance>)) as ArrayBuffer;
    assert.ok(Buffer.from(retrieved).equals(file));
    const metadata = (await client.retrieveStudyMetadata({ studyInstanceUID: study } as Options<typeof client.retrieveStudyMetadata>)) as any[];
    assert.equal(metadata.length, 2);
    assert.equal(metadata.find((m) => m['00080018'].Value[0] === sop)['00100010'].Value[0].Alphabetic, 'Ахметова^Дана');
  });
});

