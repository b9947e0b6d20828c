import type { Communication } from '@medplum/fhirtypes';

/**
 * The messages the server owes a patient about access to their record, as Communications in
 * their own record (which their app shows), one payload per language in the order kk, ru, en.
 */
interface NoticeText {
  kk: string;
  ru: string;
  en: string;
}

function notice(patient: string, topic: string, sender: string | undefined, text: NoticeText, reason?: string): Communication {
  return {
    resourceType: 'Communication',
    status: 'completed',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/communication-category', code: 'alert' }], text: topic }],
    subject: { reference: `Patient/${patient}` },
    recipient: [{ reference: `Patient/${patient}` }],
    ...(sender ? { sender: { reference: sender } } : {}),
    sent: new Date().toISOString(),
    ...(reason ? { reasonCode: [{ text: reason }] } : {}),
    payload: [{ contentString: text.kk }, { contentString: text.ru }, { contentString: text.en }],
  };
}

/** Who opened the record in an emergency, and why. */
export function breakGlassNotice(patient: string, sender: string | undefined, reason: string): Communication {
  return notice(
    patient,
    'break-glass',
    sender,
    {
      kk: `Сіздің медициналық жазбаңыз шұғыл жағдайда («break-glass») ашылды. Себебі: ${reason}`,
      ru: `Ваша медицинская запись была открыта в экстренном порядке («break-glass»). Причина: ${reason}`,
      en: `Your health record was opened in an emergency ("break-glass"). Reason: ${reason}`,
    },
    reason,
  );
}

/**
 * An organization stated it cares for the patient (an encounter, episode, referral or
 * appointment) without a verified relationship: it may see the record until `expires`, unless
 * the patient confirms it.
 */
export function selfDeclaredNotice(patient: string, organization: string, expires: string): Communication {
  const until = expires.slice(0, 16).replace('T', ' ');
  return notice(patient, 'self-declared-care', organization, {
    kk: `${organization} сізге медициналық көмек көрсетіп жатқанын мәлімдеді және жазбаңызды ${until} (UTC) дейін көре алады. Егер бұл дұрыс болса, қосымшада растаңыз; болмаса, бізге хабарлаңыз.`,
    ru: `${organization} заявила, что оказывает вам медицинскую помощь, и может видеть вашу запись до ${until} (UTC). Если это так, подтвердите в приложении; если нет, сообщите нам.`,
    en: `${organization} stated that it is caring for you and may see your record until ${until} (UTC). If this is right, confirm it in the app; if not, tell us.`,
  });
}

/** The patient's primary-care attachment changed. */
export function attachmentNotice(patient: string, organizations: readonly string[]): Communication {
  const list = organizations.length > 0 ? organizations.join(', ') : '—';
  return notice(patient, 'attachment-changed', undefined, {
    kk: `Сіздің медициналық-санитариялық алғашқы көмекке тіркелуіңіз өзгерді: ${list}.`,
    ru: `Ваше прикрепление к организации первичной медико-санитарной помощи изменено: ${list}.`,
    en: `Your primary-care attachment changed: ${list}.`,
  });
}
