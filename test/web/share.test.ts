import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createdLink, passcodeProblem, pdfFileName, shareLinkParameters, sharedLinks } from '../../web/src/screens/share/logic.js';

describe('share my passport', () => {
  it('asks $share-link for the terms chosen, leaving out a blank name and passcode', () => {
    assert.deepEqual(shareLinkParameters({ label: '  For Dr Ali ', minutes: 60, passcode: 'lemon42', singleUse: true, language: 'ru' }).parameter, [
      { name: 'label', valueString: 'For Dr Ali' },
      { name: 'minutes', valueInteger: 60 },
      { name: 'passcode', valueString: 'lemon42' },
      { name: 'single-use', valueBoolean: true },
      { name: 'language', valueCode: 'ru' },
    ]);
    const bare = shareLinkParameters({ label: '   ', minutes: 1440, passcode: '', singleUse: false, language: 'kk' }).parameter!.map((p) => p.name);
    assert.deepEqual(bare, ['minutes', 'single-use', 'language']);
  });

  it('refuses a passcode the server would refuse, counting characters not bytes', () => {
    assert.equal(passcodeProblem(''), undefined, 'no passcode is fine');
    assert.equal(passcodeProblem('abc'), 'short');
    assert.equal(passcodeProblem('әлем'), undefined, 'four Kazakh letters are four characters');
    assert.equal(passcodeProblem('x'.repeat(129)), 'long');
  });

  it('reads the link made, and nothing from an answer without one', () => {
    const made = createdLink({ resourceType: 'Parameters', parameter: [{ name: 'link', valueUri: 'shlink:/abc' }, { name: 'id', valueString: 'L1' }, { name: 'expires', valueInstant: '2026-12-07T10:00:00Z' }, { name: 'flag', valueString: 'P' }] });
    assert.deepEqual(made, { link: 'shlink:/abc', id: 'L1', expires: '2026-12-07T10:00:00Z' });
    assert.equal(createdLink({ resourceType: 'Parameters', parameter: [{ name: 'id', valueString: 'L1' }] }), undefined);
  });

  it('lists links with their state, terms and uses; an unknown state reads as not working', () => {
    const links = sharedLinks({
      resourceType: 'Parameters',
      parameter: [
        {
          name: 'link',
          part: [
            { name: 'id', valueString: 'L2' },
            { name: 'label', valueString: 'Istanbul' },
            { name: 'state', valueCode: 'revoked' },
            { name: 'passcode', valueBoolean: true },
            { name: 'single-use', valueBoolean: false },
            { name: 'created', valueInstant: '2026-12-01T09:00:00Z' },
            { name: 'expires', valueInstant: '2026-12-31T09:00:00Z' },
            { name: 'revoked', valueInstant: '2026-12-02T09:00:00Z' },
            { name: 'use', part: [{ name: 'recipient', valueString: 'Dr Ali' }, { name: 'time', valueInstant: '2026-12-01T10:00:00Z' }] },
            { name: 'use', part: [{ name: 'recipient', valueString: 'Dr Aya' }, { name: 'time', valueInstant: '2026-12-01T11:00:00Z' }] },
          ],
        },
        { name: 'link', part: [{ name: 'id', valueString: 'L3' }, { name: 'state', valueCode: 'strange' }] },
        { name: 'link', part: [{ name: 'label', valueString: 'no id' }] },
      ],
    });
    assert.deepEqual(links.map((l) => [l.id, l.state]), [['L2', 'revoked'], ['L3', 'disabled']]);
    assert.equal(links[0]!.passcode, true);
    assert.equal(links[0]!.singleUse, false);
    assert.equal(links[0]!.revoked, '2026-12-02T09:00:00Z');
    assert.deepEqual(links[0]!.uses.map((u) => u.recipient), ['Dr Ali', 'Dr Aya']);
  });

  it('names the PDF by language and day', () => {
    assert.equal(pdfFileName('en', new Date('2026-12-06T15:00:00Z')), 'health-passport-en-2026-12-06.pdf');
  });
});
