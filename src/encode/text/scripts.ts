/** Share of the letters in `texts` that are not Latin script (0 when there are no letters). */
export function nonLatinLetterShare(texts: readonly string[]): number {
  let letters = 0;
  let nonLatin = 0;
  for (const text of texts) {
    for (const match of text.matchAll(/\p{L}/gu)) {
      letters += 1;
      if (!/\p{Script=Latin}/u.test(match[0])) nonLatin += 1;
    }
  }
  return letters === 0 ? 0 : nonLatin / letters;
}

/**
 * A warning when an English-only tokenizer (CLIP's BPE was trained on English captions) meets prompts that are
 * mostly in another script: the model still runs, but its scores say little.
 */
export function scriptWarning(texts: readonly string[], tokenizerKind: string, englishOnly: boolean): string | undefined {
  const share = nonLatinLetterShare(texts);
  if (!englishOnly || share <= 0.5) return undefined;
  return `${Math.round(100 * share)} % of the prompts' letters are not Latin script, but this model's tokenizer (${tokenizerKind}) was trained on English text: expect scores that mean little; use a multilingual model (e.g. Chinese-CLIP, jina-clip v2, multilingual SigLIP)`;
}
