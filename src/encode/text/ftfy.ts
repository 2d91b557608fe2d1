/**
 * Text repair equivalent to `ftfy.fix_text(text)` (ftfy 6.3, default
 * `TextFixerConfig`), as OpenAI's CLIP tokenizer applies it before BPE.
 *
 * Only the default configuration is implemented. Every character table and rule
 * here mirrors ftfy's documented behaviour so that prompts normalise to the same
 * text, and so to the same token ids, as in Python. Where ftfy depends on
 * Python specifics (`html.unescape`, `str.isspace`, the `\s`/`\w` classes of
 * `re`) those are reproduced too.
 */
import { characterEntities } from 'character-entities';
import { characterEntitiesLegacy } from 'character-entities-legacy';

// ---------------------------------------------------------------------------
// Python's html.unescape

/** HTML5 named references keyed like Python's `html.entities.html5`: "amp;" always, "amp" for legacy names. */
const namedReferences = new Map<string, string>();
for (const [name, value] of Object.entries(characterEntities)) namedReferences.set(`${name};`, value);
for (const name of characterEntitiesLegacy) {
  const value = characterEntities[name];
  if (value !== undefined) namedReferences.set(name, value);
}

/** Python's `html.unescape` treats these numeric references as errors and drops them. */
function isDroppedCodePoint(n: number): boolean {
  return (
    (n >= 0x1 && n <= 0x8) ||
    n === 0xb ||
    (n >= 0xe && n <= 0x1f) ||
    (n >= 0x7f && n <= 0x9f) ||
    (n >= 0xfdd0 && n <= 0xfdef) ||
    (n & 0xfffe) === 0xfffe
  );
}

const CHARACTER_REFERENCE_RE = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

function decodeNumericReference(body: string): string {
  const digits = body.endsWith(';') ? body.slice(0, -1) : body;
  const n = digits[1] === 'x' || digits[1] === 'X' ? parseInt(digits.slice(2), 16) : parseInt(digits.slice(1), 10);
  // HTML5 reads these as Windows-1252 bytes (NUL and CR are special-cased).
  if (n === 0) return '\ufffd';
  if (n === 0x0d) return '\r';
  if (n >= 0x80 && n <= 0x9f) return WINDOWS_1252_HIGH[n - 0x80];
  if ((n >= 0xd800 && n <= 0xdfff) || n > 0x10ffff) return '\ufffd';
  if (isDroppedCodePoint(n)) return '';
  return String.fromCodePoint(n);
}

/**
 * Same result as Python's `html.unescape`: named references (legacy ones also
 * without ";", longest known prefix wins) and numeric references with HTML5's
 * error handling.
 */
export function htmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHARACTER_REFERENCE_RE, (whole, body: string) => {
    if (body[0] === '#') return decodeNumericReference(body);
    const exact = namedReferences.get(body);
    if (exact !== undefined) return exact;
    for (let end = body.length - 1; end > 1; end--) {
      const prefix = namedReferences.get(body.slice(0, end));
      if (prefix !== undefined) return prefix + body.slice(end);
    }
    return whole;
  });
}

// ---------------------------------------------------------------------------
// Single-byte encodings that mojibake is decoded through

/** Bytes 0x80-0xFF of each code page; "sloppy" pages keep unassigned bytes as the Latin-1 character. */
const HIGH_HALVES = {
  windows1252:
    '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ' +
    '\u00a0¡¢£¤¥¦§¨©ª«¬\u00ad®¯°±²³´µ¶·¸¹º»¼½¾¿' +
    'ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞß' +
    'àáâãäåæçèéêëìíîïðñòóôõö÷øùúûüýþÿ',
  windows1251:
    'ЂЃ‚ѓ„…†‡€‰Љ‹ЊЌЋЏђ‘’“”•–—\u0098™љ›њќћџ' +
    '\u00a0ЎўЈ¤Ґ¦§Ё©Є«¬\u00ad®Ї°±Ііґµ¶·ё№є»јЅѕї' +
    'АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ' +
    'абвгдежзийклмнопрстуфхцчшщъыьэюя',
  windows1250:
    '€\u0081‚\u0083„…†‡\u0088‰Š‹ŚŤŽŹ\u0090‘’“”•–—\u0098™š›śťžź' +
    '\u00a0ˇ˘Ł¤Ą¦§¨©Ş«¬\u00ad®Ż°±˛ł´µ¶·¸ąş»Ľ˝ľż' +
    'ŔÁÂĂÄĹĆÇČÉĘËĚÍÎĎĐŃŇÓÔŐÖ×ŘŮÚŰÜÝŢß' +
    'ŕáâăäĺćçčéęëěíîďđńňóôőö÷řůúűüýţ˙',
  windows1253:
    '€\u0081‚ƒ„…†‡\u0088‰\u008a‹\u008c\u008d\u008e\u008f\u0090‘’“”•–—\u0098™\u009a›\u009c\u009d\u009e\u009f' +
    '\u00a0΅Ά£¤¥¦§¨©ª«¬\u00ad®―°±²³΄µ¶·ΈΉΊ»Ό½ΎΏ' +
    'ΐΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡÒΣΤΥΦΧΨΩΪΫάέήί' +
    'ΰαβγδεζηθικλμνξοπρςστυφχψωϊϋόύώÿ',
  windows1254:
    '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008d\u008e\u008f\u0090‘’“”•–—˜™š›œ\u009d\u009eŸ' +
    '\u00a0¡¢£¤¥¦§¨©ª«¬\u00ad®¯°±²³´µ¶·¸¹º»¼½¾¿' +
    'ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏĞÑÒÓÔÕÖ×ØÙÚÛÜİŞß' +
    'àáâãäåæçèéêëìíîïğñòóôõö÷øùúûüışÿ',
  windows1257:
    '€\u0081‚\u0083„…†‡\u0088‰\u008a‹\u008c¨ˇ¸\u0090‘’“”•–—\u0098™\u009a›\u009c¯˛\u009f' +
    '\u00a0¡¢£¤¥¦§Ø©Ŗ«¬\u00ad®Æ°±²³´µ¶·ø¹ŗ»¼½¾æ' +
    'ĄĮĀĆÄÅĘĒČÉŹĖĢĶĪĻŠŃŅÓŌÕÖ×ŲŁŚŪÜŻŽß' +
    'ąįāćäåęēčéźėģķīļšńņóōõö÷ųłśūüżž˙',
  iso88592:
    '\u0080\u0081\u0082\u0083\u0084\u0085\u0086\u0087\u0088\u0089\u008a\u008b\u008c\u008d\u008e\u008f' +
    '\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009a\u009b\u009c\u009d\u009e\u009f' +
    '\u00a0Ą˘Ł¤ĽŚ§¨ŠŞŤŹ\u00adŽŻ°ą˛ł´ľśˇ¸šşťź˝žż' +
    'ŔÁÂĂÄĹĆÇČÉĘËĚÍÎĎĐŃŇÓÔŐÖ×ŘŮÚŰÜÝŢß' +
    'ŕáâăäĺćçčéęëěíîďđńňóôőö÷řůúűüýţ˙',
  macRoman:
    'ÄÅÇÉÑÖÜáàâäãåçéèêëíìîïñóòôöõúùûü' +
    '†°¢£§•¶ß®©™´¨≠ÆØ∞±≤≥¥µ∂∑∏π∫ªºΩæø' +
    '¿¡¬√ƒ≈∆«»…\u00a0ÀÃÕŒœ–—“”‘’÷◊ÿŸ⁄€‹›ﬁﬂ' +
    '‡·‚„‰ÂÊÁËÈÍÎÏÌÓÔ\uf8ffÒÚÛÙıˆ˜¯˘˙˚¸˝˛ˇ',
  cp437:
    'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒ' +
    'áíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐' +
    '└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀' +
    'αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0',
};

const WINDOWS_1252_HIGH = [...HIGH_HALVES.windows1252];

/** A code page as a character -> byte map. Text that it cannot encode cannot be mojibake made through it. */
class SingleByteEncoding {
  private readonly byteOf = new Map<number, number>();

  /**
   * @param highHalf characters of bytes 0x80-0xFF, or null for Latin-1
   * @param sloppy ftfy's "sloppy" codecs decode byte 0x1A as U+FFFD, the marker of a lost byte
   */
  constructor(
    readonly name: string,
    highHalf: string | null,
    readonly sloppy: boolean,
  ) {
    const high = highHalf === null ? null : [...highHalf];
    if (high !== null && high.length !== 128) throw new Error(`code page ${name} needs 128 characters`);
    for (let byte = 0; byte < 256; byte++) {
      let codePoint = byte < 0x80 || high === null ? byte : high[byte - 0x80].codePointAt(0)!;
      if (sloppy && byte === 0x1a) codePoint = 0xfffd;
      if (!this.byteOf.has(codePoint)) this.byteOf.set(codePoint, byte);
    }
  }

  /** The bytes as a binary string (one char per byte), or null when some character has no byte. */
  encode(text: string): string | null {
    let out = '';
    for (const ch of text) {
      const byte = this.byteOf.get(ch.codePointAt(0)!);
      if (byte === undefined) return null;
      out += String.fromCharCode(byte);
    }
    return out;
  }
}

/** Tried in this order; the first one whose bytes are valid UTF-8 wins (ftfy's CHARMAP_ENCODINGS). */
const MOJIBAKE_ENCODINGS: readonly SingleByteEncoding[] = [
  new SingleByteEncoding('latin-1', null, false),
  new SingleByteEncoding('sloppy-windows-1252', HIGH_HALVES.windows1252, true),
  new SingleByteEncoding('sloppy-windows-1251', HIGH_HALVES.windows1251, true),
  new SingleByteEncoding('sloppy-windows-1250', HIGH_HALVES.windows1250, true),
  new SingleByteEncoding('sloppy-windows-1253', HIGH_HALVES.windows1253, true),
  new SingleByteEncoding('sloppy-windows-1254', HIGH_HALVES.windows1254, true),
  new SingleByteEncoding('sloppy-windows-1257', HIGH_HALVES.windows1257, true),
  new SingleByteEncoding('iso-8859-2', HIGH_HALVES.iso88592, false),
  new SingleByteEncoding('macroman', HIGH_HALVES.macRoman, false),
  new SingleByteEncoding('cp437', HIGH_HALVES.cp437, false),
];

// ---------------------------------------------------------------------------
// Byte-level helpers (bytes held as binary strings so that regexes apply)

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function binaryToBytes(binary: string): Uint8Array {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Strict UTF-8 that also accepts Java's C0 80 for NUL and CESU-8 surrogate
 * pairs (ftfy's "utf-8-variants"); returns null where Python would raise.
 */
function decodeUtf8Variants(bytes: Uint8Array): string | null {
  let out = '';
  let chunkStart = 0;
  const flush = (end: number): boolean => {
    if (end === chunkStart) return true;
    try {
      out += strictUtf8.decode(bytes.subarray(chunkStart, end));
      return true;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0xc0 && bytes[i + 1] === 0x80) {
      if (!flush(i)) return null;
      out += '\u0000';
      chunkStart = i + 2;
      i++;
    } else if (
      bytes[i] === 0xed &&
      i + 5 < bytes.length &&
      (bytes[i + 1] & 0xf0) === 0xa0 &&
      (bytes[i + 2] & 0xc0) === 0x80 &&
      bytes[i + 3] === 0xed &&
      (bytes[i + 4] & 0xf0) === 0xb0 &&
      (bytes[i + 5] & 0xc0) === 0x80
    ) {
      if (!flush(i)) return null;
      const codePoint =
        0x10000 +
        ((bytes[i + 1] & 0x0f) << 16) +
        ((bytes[i + 2] & 0x3f) << 10) +
        ((bytes[i + 4] & 0x0f) << 6) +
        (bytes[i + 5] & 0x3f);
      out += String.fromCodePoint(codePoint);
      chunkStart = i + 6;
      i += 5;
    }
  }
  return flush(bytes.length) ? out : null;
}

/** Byte sequences that would be UTF-8 if an ASCII space were the NBSP byte A0 it probably once was. */
const SPACE_FOR_A0_RE =
  /[\xc2\xc3\xc5\xce\xd0\xd9] |[\xe2\xe3] [\x80-\x84\x86-\x9f\xa1-\xbf]|[\xe0-\xe3][\x80-\x84\x86-\x9f\xa1-\xbf] |\xf0 [\x80-\xbf][\x80-\xbf]|\xf0[\x80-\xbf] [\x80-\xbf]|\xf0[\x80-\xbf][\x80-\xbf] /g;

/** "Ã " standing alone is nearly always "à" + space; the Portuguese "às", "àquele"... are the exceptions. */
const A_GRAVE_WORD_RE = /\xc3 (?! |quele|quela|quilo|s )/g;

const HAS_SPACE_FOR_A0_RE = new RegExp(SPACE_FOR_A0_RE.source);

function restoreByteA0(binary: string): string {
  return binary
    .replace(A_GRAVE_WORD_RE, '\xc3\xa0 ')
    .replace(SPACE_FOR_A0_RE, (seq) => seq.replace(/ /g, '\xa0'));
}

/** UTF-8 sequences with a lost byte (0x1A from a sloppy codec, sometimes "?"): decode them as U+FFFD. */
const LOSSY_UTF8_RE =
  /[\xc2-\xdf]\x1a|[\xc2-\xc3]\?|\xed[\xa0-\xaf][\x1a?]\xed[\xb0-\xbf][\x1a?\x80-\xbf]|\xed[\xa0-\xaf][\x1a?\x80-\xbf]\xed[\xb0-\xbf][\x1a?]|[\xe0-\xef][\x1a?][\x1a\x80-\xbf]|[\xe0-\xef][\x1a\x80-\xbf][\x1a?]|[\xf0-\xf4][\x1a?][\x1a\x80-\xbf][\x1a\x80-\xbf]|[\xf0-\xf4][\x1a\x80-\xbf][\x1a?][\x1a\x80-\xbf]|[\xf0-\xf4][\x1a\x80-\xbf][\x1a\x80-\xbf][\x1a?]|\x1a/g;

function replaceLossySequences(binary: string): string {
  return binary.replace(LOSSY_UTF8_RE, '\xef\xbf\xbd');
}

// ---------------------------------------------------------------------------
// The "badness" heuristic: character sequences that are far likelier to be mojibake than text

/** Python's `str.isspace()` / `re` `\s` set (JavaScript's `\s` differs: it has U+FEFF and lacks U+1C-U+1F). */
export const PY_SPACE_CHARS = '\\t-\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
/** Python `re`'s `\w` for str patterns. */
const PY_WORD_CHARS = '\\p{L}\\p{N}_';

/** Character groups of the badness rules (regex class bodies; "x-y" is a range). */
const GROUP = {
  common: '\u00a0\u00ad·´–—―…’',
  c1: '\u0080-\u009f',
  bad: '¦¤¨¬¯¸ƒˆˇ˘˛˜†‡‰⌐◊\ufffdªº',
  law: '¶§',
  currency: '¢£¥₧€',
  startPunctuation: '¡«¿©΄΅‘‚“„•‹\uf8ff',
  endPunctuation: '®»˝”›™',
  numeric: '²³¹±¼½¾×µ÷⁄∂∆∏∑√∞∩∫≈≠≡≤≥№',
  kaomoji: 'Ò-ÖÙ-Üò-öø-üŐŌŪŲ°',
  upperAccented: 'À-ÑØÜÝĂĀĄĆČĎĐĘĚĒĖĞĢİĪĶĹĽŁĻŃŇŅŒŘŚŞŠŢŤŮŰŸŹŻŽҐ',
  lowerAccented: 'ßà-ñăąāćčďđęěēėğģįīķĺľłļœŕśşšťüźżžґﬁﬂ',
  upperCommon: 'ÞΑ-ΩΆΈΉΊΌΎΏΪΫЁ-Я',
  lowerCommon: 'α-ωάέήίΰа-џ',
  box: '│┌┐┘├┤┬┼═-╬▀▄█▌▐░▒▓',
};

function anyOf(...bodies: string[]): string {
  return `[${bodies.join('')}]`;
}

const g = GROUP;
const ARABIC_SECOND = anyOf(g.common, g.currency, g.bad, g.numeric, g.startPunctuation, 'ŸŠ®°µ»');
const BADNESS_RE = new RegExp(
  [
    anyOf(g.c1),
    anyOf(g.bad, g.lowerAccented, g.upperAccented, g.box, g.startPunctuation, g.endPunctuation, g.currency, g.numeric, g.law) + anyOf(g.bad),
    '[a-zA-Z]' + anyOf(g.lowerCommon, g.upperCommon) + anyOf(g.bad),
    anyOf(g.bad) + anyOf(g.lowerAccented, g.upperAccented, g.box, g.startPunctuation, g.endPunctuation, g.currency, g.numeric, g.law),
    anyOf(g.lowerAccented, g.lowerCommon, g.box, g.endPunctuation, g.currency, g.numeric) + anyOf(g.upperAccented),
    anyOf(g.box, g.endPunctuation, g.currency, g.numeric) + anyOf(g.lowerAccented),
    anyOf(g.lowerAccented, g.box, g.endPunctuation) + anyOf(g.currency),
    anyOf(PY_SPACE_CHARS) + anyOf(g.upperAccented) + anyOf(g.currency),
    anyOf(g.upperAccented, g.box) + anyOf(g.numeric, g.law),
    anyOf(g.lowerAccented, g.upperAccented, g.box, g.currency, g.endPunctuation) + anyOf(g.startPunctuation) + anyOf(g.numeric),
    anyOf(g.lowerAccented, g.upperAccented, g.currency, g.numeric, g.box, g.law) + anyOf(g.endPunctuation) + anyOf(g.startPunctuation),
    anyOf(g.currency, g.numeric, g.box) + anyOf(g.startPunctuation),
    '[a-z]' + anyOf(g.upperAccented) + anyOf(g.startPunctuation, g.currency),
    anyOf(g.box) + anyOf(g.kaomoji),
    anyOf(g.lowerAccented, g.upperAccented, g.currency, g.numeric, g.startPunctuation, g.endPunctuation, g.law) + anyOf(g.box),
    anyOf(g.box) + anyOf(g.endPunctuation),
    anyOf(g.lowerAccented, g.upperAccented) + anyOf(g.startPunctuation, g.endPunctuation) + anyOf(PY_WORD_CHARS),
    // "œ" that does not start a Latin letter pair
    '[Œœ][^A-Za-z]',
    // degree sign after a capital accented letter
    anyOf(g.upperAccented) + '°',
    // two-character Windows-1252 mojibake not caught above
    anyOf('ÂÃÎÐ') + anyOf('€œŠš¢£Ÿž\u00a0\u00ad®©°·»', g.startPunctuation, g.endPunctuation, '–—´'),
    '×[²³]',
    // Arabic as Windows-1252 uses "common" characters, so four characters are required
    `[ØÙ]${ARABIC_SECOND}[ØÙ]${ARABIC_SECOND}`,
    // starts of three-byte sequences of South Asian scripts
    'à[²µ¹¼½¾]',
    // MacRoman mojibake
    '√[±∂†≠®™´≤≥¥µø]',
    '≈[°¢]',
    '‚Ä[ìîïòôúùû†°¢π]',
    '‚[âó][àä°ê]',
    // Windows-1251 mojibake of the U+2000 block, of Latin-1 and of Cyrillic
    'вЂ',
    '[ВГРС]' + anyOf(g.c1, g.bad, g.startPunctuation, g.endPunctuation, g.currency, '°µ') + '[ВГРС]',
    'ГўВЂВ[^\\n][A-Za-z ]',
    // Windows-1252 forms of "à", "á" and NBSP
    'Ã[\u00a0¡]',
    '[a-z]' + anyOf(PY_SPACE_CHARS) + '?[ÃÂ] ',
    '^[ÃÂ] ',
    // "Â" before the character it was meant to be a prefix of
    anyOf('a-z.,?!', g.endPunctuation) + 'Â' + anyOf(' ', g.startPunctuation, g.endPunctuation),
    // Windows-1253 mojibake of the U+2000 block, of Latin-1 and of Greek
    'β€[™\u00a0Ά\u00ad®°]',
    '[ΒΓΞΟ]' + anyOf(g.c1, g.bad, g.startPunctuation, g.endPunctuation, g.currency, '°') + '[ΒΓΞΟ]',
    // Windows-1257 mojibake of the U+2000 block
    'ā€',
  ].join('|'),
  'u',
);

/** True when the text contains a sequence that is very likely mojibake (ftfy's `is_bad`). */
export function isBad(text: string): boolean {
  return BADNESS_RE.test(text);
}

// Characters that can stand for UTF-8 lead and continuation bytes in the supported code pages.
const UTF8_CLUE = {
  firstOf2:
    'ĂÂÄĀÅÃÆĆČÇĎĐÉĚÊËĖÈĒĘÐĞĢÍÎÏİÌĪĶĹĻŁŃŇŅÑÓÔÖŐÒŌØÕŘŚŠŞŢÞÚÛÜŰÙŪŲŮÝŹŽŻß×' +
    'ΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩΪΫάέήίВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ',
  firstOf3: 'áăâäàāąåãæćčçďéěêëėèēęģíîïìīįķĺļŕźΰαβγδεζηθικλμνξοабвгдежзийклмноп',
  firstOf4: 'đðğóšπσру',
  // also a plain space, which may have replaced byte A0
  continuation:
    '\u0080-¿ ĄÆĽŁØŖŚŠŞŤŸŹŽŻŒąæƒľłøŗśšşťźžżœˆˇ˘˛˜˝΄΅ΆΈΉΊΌΎΏЁЂЃЄЅІЇЈЉЊЋЌЎЏёђѓєѕіїјљњћќўџҐґ' +
    '–—―‘’‚“”„†‡•…‰‹›€№™',
  // continuation characters that rarely stand for themselves next to mojibake
  continuationStrict:
    '\u0080-¿ĄÆĽŁØŖŚŠŞŤŸŹŽŻŒąæƒľłøŗśšşťźžżœˆˇ˘˛˜˝΄΅ΆΈΉΊΌΎΏЁЂЃЄЅІЇЈЉЊЋЌЎЏёђѓєѕіїјљњћќўџҐґ' +
    '†‡‰‹›€№™',
};

/** Runs of what look like UTF-8 sequences decoded one byte per character, not preceded by another one. */
const UTF8_LOOKALIKE_RE = new RegExp(
  `(?<![${UTF8_CLUE.continuationStrict}])(?:` +
    `[${UTF8_CLUE.firstOf2}][${UTF8_CLUE.continuation}]` +
    `|[${UTF8_CLUE.firstOf3}][${UTF8_CLUE.continuation}]{2}` +
    `|[${UTF8_CLUE.firstOf4}][${UTF8_CLUE.continuation}]{3}` +
    ')+',
  'gu',
);

const HAS_UTF8_LOOKALIKE_RE = new RegExp(UTF8_LOOKALIKE_RE.source, 'u');

// ---------------------------------------------------------------------------
// Encoding repair

function codePointLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // a low surrogate right after a high one is the second half of one code point
    if (unit >= 0xdc00 && unit <= 0xdfff && i > 0) {
      const previous = text.charCodeAt(i - 1);
      if (previous >= 0xd800 && previous <= 0xdbff) continue;
    }
    n++;
  }
  return n;
}

/** Re-decode mojibake-looking runs one at a time, for text that mixes encodings. */
function decodeInconsistentUtf8(text: string): string {
  const textLength = codePointLength(text);
  return text.replace(UTF8_LOOKALIKE_RE, (run) =>
    codePointLength(run) < textLength && isBad(run) ? fixEncoding(run) : run,
  );
}

const C1_CONTROL_RE = /[\u0080-\u009f]/g;

/** C1 controls read as their Windows-1252 characters, as browsers do. */
function fixC1Controls(text: string): string {
  return text.replace(C1_CONTROL_RE, (ch) => WINDOWS_1252_HIGH[ch.charCodeAt(0) - 0x80]);
}

// eslint-disable-next-line no-control-regex
const ASCII_RE = /^[\u0000-\u007f]*$/;

function fixEncodingOnce(text: string): string {
  if (text.length === 0 || ASCII_RE.test(text) || !isBad(text)) return text;

  for (const encoding of MOJIBAKE_ENCODINGS) {
    let binary = encoding.encode(text);
    if (binary === null) continue;
    // MacRoman is exempt: there an en dash before a space would look like a lost A0
    if (encoding.name !== 'macroman' && HAS_SPACE_FOR_A0_RE.test(binary)) binary = restoreByteA0(binary);
    if (encoding.sloppy) binary = replaceLossySequences(binary);
    const decoded = decodeUtf8Variants(binaryToBytes(binary));
    if (decoded !== null) return decoded;
  }

  if (HAS_UTF8_LOOKALIKE_RE.test(text)) {
    const fixed = decodeInconsistentUtf8(text);
    if (fixed !== text) return fixed;
  }

  // ftfy's last two steps, re-reading Latin-1 text as Windows-1252 and else fixing C1 controls one by one,
  // both come down to reading each C1 control as its Windows-1252 character.
  return fixC1Controls(text);
}

/** Undo mojibake until the text stops changing (ftfy's `fix_encoding`). */
export function fixEncoding(text: string): string {
  for (;;) {
    const fixed = fixEncodingOnce(text);
    if (fixed === text) return text;
    text = fixed;
  }
}

// ---------------------------------------------------------------------------
// The other fixers

/** "&name;" (also all-caps forms of lower-case names when unambiguous) -> text, as ftfy decodes them. */
let entityTable: Map<string, string> | null = null;

function getEntityTable(): Map<string, string> {
  if (entityTable !== null) return entityTable;
  const table = new Map<string, string>();
  for (const [name, value] of namedReferences) {
    if (!name.endsWith(';')) continue;
    table.set(`&${name}`, value);
    if (name === name.toLowerCase()) {
      const upper = `&${name.toUpperCase()}`;
      if (htmlUnescape(upper) === upper) table.set(upper, value.toUpperCase());
    }
  }
  entityTable = table;
  return table;
}

const ENTITY_RE = /&#?[0-9A-Za-z]{1,24};/g;

/** Decode HTML entities that end in ";" (ftfy's conservative `unescape_html`). */
export function unescapeHtmlEntities(text: string): string {
  if (!text.includes('&')) return text;
  const table = getEntityTable();
  return text.replace(ENTITY_RE, (entity) => {
    const known = table.get(entity);
    if (known !== undefined) return known;
    if (entity.startsWith('&#')) {
      const decoded = htmlUnescape(entity);
      // a reference that html.unescape only partly consumed stays as written
      return decoded.includes(';') ? entity : decoded;
    }
    return entity;
  });
}

// eslint-disable-next-line no-control-regex
const TERMINAL_ESCAPE_RE = /\u001b\[(?:\p{Nd}|;)*[a-zA-Z]/gu;

const LIGATURES: ReadonlyMap<string, string> = new Map([
  ['Ĳ', 'IJ'],
  ['ĳ', 'ij'],
  ['ŉ', 'ʼn'],
  ['Ǳ', 'DZ'],
  ['ǲ', 'Dz'],
  ['ǳ', 'dz'],
  ['Ǆ', 'DŽ'],
  ['ǅ', 'Dž'],
  ['ǆ', 'dž'],
  ['Ǉ', 'LJ'],
  ['ǈ', 'Lj'],
  ['ǉ', 'lj'],
  ['Ǌ', 'NJ'],
  ['ǋ', 'Nj'],
  ['ǌ', 'nj'],
  ['ﬀ', 'ff'],
  ['ﬁ', 'fi'],
  ['ﬂ', 'fl'],
  ['ﬃ', 'ffi'],
  ['ﬄ', 'ffl'],
  ['ﬅ', 'ſt'],
  ['ﬆ', 'st'],
]);
const LIGATURE_RE = new RegExp(`[${[...LIGATURES.keys()].join('')}]`, 'g');

/** Halfwidth and fullwidth forms -> their NFKC form; the ideographic space -> a space. */
const WIDTH_MAP = new Map<string, string>([['\u3000', ' ']]);
for (let cp = 0xff01; cp < 0xfff0; cp++) {
  const ch = String.fromCharCode(cp);
  const normal = ch.normalize('NFKC');
  if (normal !== ch) WIDTH_MAP.set(ch, normal);
}
const WIDTH_RE = /[\u3000\uff01-\uffef]/g;

// Controls with no visible effect: C0 except tab/LF/FF/CR, DEL, deprecated Arabic formatting, BOM, interlinear annotation, U+FFFC.
// eslint-disable-next-line no-control-regex
const CONTROL_CHAR_RE = /[\u0000-\u0008\u000b\u000e-\u001f\u007f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;

/** With the u flag a surrogate only matches when it is not half of a pair. */
const LONE_SURROGATE_RE = /\p{Cs}/gu;

function applyFixers(text: string): string {
  text = fixC1Controls(text);
  text = text.replace(LIGATURE_RE, (ch) => LIGATURES.get(ch)!);
  text = text.replace(WIDTH_RE, (ch) => WIDTH_MAP.get(ch) ?? ch);
  text = text.replace(/[\u02bc\u2018-\u201b]/g, "'").replace(/[\u201c-\u201f]/g, '"');
  text = text.replace(/\r\n|[\r\u2028\u2029\u0085]/g, '\n');
  text = text.replace(LONE_SURROGATE_RE, '\ufffd');
  text = text.replace(TERMINAL_ESCAPE_RE, '');
  text = text.replace(CONTROL_CHAR_RE, '');
  return text.normalize('NFC');
}

function fixSegment(text: string, unescapeHtml: boolean): string {
  for (;;) {
    const original = text;
    if (unescapeHtml) text = unescapeHtmlEntities(text);
    text = fixEncoding(text);
    text = applyFixers(text);
    if (text === original) return text;
  }
}

/** Text whose every character survives every fixer unchanged. */
const UNCHANGING_ASCII_RE = /^[\t\n\f\x20-\x25\x27-\x7e]*$/;
const MAX_SEGMENT_LENGTH = 1_000_000;

/**
 * Repair text like `ftfy.fix_text(text)` with ftfy's default settings: HTML
 * entities (unless the text has a "<"), mojibake, C1 controls, Latin
 * ligatures, character width, curly quotes, line breaks, surrogates, terminal
 * escapes, control characters, then NFC.
 */
export function fixText(text: string): string {
  if (UNCHANGING_ASCII_RE.test(text)) return text;
  let out = '';
  let unescapeHtml = true;
  let position = 0;
  // Line by line, as ftfy does; once a line has "<" the input is taken to be HTML from then on.
  while (position < text.length) {
    let end = text.indexOf('\n', position) + 1;
    if (end === 0) end = text.length;
    if (end - position > MAX_SEGMENT_LENGTH) end = Math.min(end, advanceCodePoints(text, position, MAX_SEGMENT_LENGTH));
    const segment = text.slice(position, end);
    if (unescapeHtml && segment.includes('<')) unescapeHtml = false;
    out += fixSegment(segment, unescapeHtml);
    position = end;
  }
  return out;
}

function advanceCodePoints(text: string, from: number, count: number): number {
  let i = from;
  for (let n = 0; n < count && i < text.length; n++) {
    const unit = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    i += unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff ? 2 : 1;
  }
  return i;
}
