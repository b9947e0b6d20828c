/**
 * The failures a client can cause when it asks for pixels, each with the HTTP status DICOMweb
 * answers it with (PS3.18 8.7.4, 10.4.1.3) and its text in Kazakh, Russian and English, so the
 * transport can show it in the caller's language. Codes are stable: never renamed or reused.
 * https://dicom.nema.org/medical/dicom/current/output/html/part18.html#sect_8.7.4
 */
export const IMAGING_ERRORS = {
  'frame-out-of-range': { status: 404, kk: 'Мұндай кадр жоқ', ru: 'Такого кадра нет', en: 'There is no such frame' },
  'no-pixel-data': { status: 404, kk: 'Нысанда сурет жоқ', ru: 'В объекте нет изображения', en: 'The instance holds no image' },
  'invalid-dicom': { status: 400, kk: 'DICOM файлы бүлінген', ru: 'Файл DICOM повреждён', en: 'The DICOM file is malformed' },
  'invalid-window': { status: 400, kk: 'Терезе параметрі дұрыс емес', ru: 'Параметр окна некорректен', en: 'The window parameter is not valid' },
  'invalid-viewport': { status: 400, kk: 'Көрініс өлшемі дұрыс емес', ru: 'Размер области просмотра некорректен', en: 'The viewport is not valid' },
  'invalid-quality': { status: 400, kk: 'Сапа параметрі дұрыс емес', ru: 'Параметр качества некорректен', en: 'The quality parameter is not valid' },
  'unsupported-media-type': { status: 406, kk: 'Сұралған сурет пішімі қолдау таппайды', ru: 'Запрошенный формат изображения не поддерживается', en: 'The requested image format is not supported' },
  'unsupported-transfer-syntax': { status: 415, kk: 'Бұл тасымалдау синтаксисін ашу мүмкін емес', ru: 'Этот синтаксис передачи не декодируется', en: 'This transfer syntax cannot be decoded' },
  'unsupported-image': { status: 415, kk: 'Бұл сурет түрін көрсету мүмкін емес', ru: 'Этот тип изображения не отображается', en: 'This kind of image cannot be rendered' },
} as const;

export type ImagingErrorCode = keyof typeof IMAGING_ERRORS;

/** A pixel request that cannot be answered because of what the client asked for or sent. */
export class ImagingError extends Error {
  readonly status: number;
  readonly code: ImagingErrorCode;

  /** `detail` (English, no personal data) is appended to the catalogue's text. */
  constructor(code: ImagingErrorCode, detail?: string) {
    const entry = IMAGING_ERRORS[code];
    super(detail ? `${entry.en}: ${detail}` : entry.en);
    this.name = 'ImagingError';
    this.status = entry.status;
    this.code = code;
  }
}
